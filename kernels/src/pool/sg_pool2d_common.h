/* slimgen kernel internals: what sg_maxpool2d_s8 and sg_avgpool2d_s8 share. */
#ifndef SG_POOL2D_COMMON_H
#define SG_POOL2D_COMMON_H

#include "sg_kernels.h"

#include "../sg_requant.h"
#include "../sg_window.h"

static inline sg_window_geometry sg_pool2d_geometry(const sg_pool2d_s8_params *p)
{
    const sg_window_geometry g = {p->in,       p->out,      p->kernel_h, p->kernel_w,
                                  p->stride_h, p->stride_w, p->pad_top,  p->pad_left,
                                  1,           1};
    return g;
}

/* One axis of a pooling window. out may be torch's floor or ceil_mode size; either way every
 * window must overlap the input (torch guarantees it: pad <= kernel / 2, and ceil_mode drops a
 * last window that would start in the bottom padding), so no output is left without a value. */
static inline int sg_pool_axis_ok(int32_t in, int32_t out, int32_t k, int32_t stride,
                                  int32_t pad_lo, int32_t pad_hi)
{
    const int64_t padded = (int64_t)in + pad_lo + pad_hi;
    if (pad_hi < 0 || pad_lo >= k || padded < k || padded + k >= INT32_MAX) {
        return 0;
    }
    /* int32 from here (padded + k fits): a 64-bit division is a libgcc call on Cortex-M. */
    const int32_t span = (int32_t)padded - k;
    const int32_t floor_out = span / stride + 1;
    const int32_t ceil_out = floor_out + (span % stride != 0);
    return (out == floor_out || out == ceil_out) && (int64_t)(out - 1) * stride < in + pad_lo;
}

static inline sg_status sg_pool2d_check(const sg_pool2d_s8_params *p, const int8_t *input,
                                        const int8_t *output)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    const sg_window_geometry g = sg_pool2d_geometry(p);
    SG_REQUIRE(sg_window_geometry_ok(&g) && p->out.c == p->in.c, SG_ERR_ARG);
    SG_REQUIRE(sg_pool_axis_ok(p->in.h, p->out.h, p->kernel_h, p->stride_h, p->pad_top,
                               p->pad_bottom),
               SG_ERR_ARG);
    SG_REQUIRE(sg_pool_axis_ok(p->in.w, p->out.w, p->kernel_w, p->stride_w, p->pad_left,
                               p->pad_right),
               SG_ERR_ARG);
    SG_REQUIRE(sg_output_stage_ok(0, p->act_min, p->act_max), SG_ERR_ARG);
    return SG_OK;
}

/* Window size along one axis clipped to the padded input [-pad_lo, in + pad_hi), torch's
 * count_include_pad divisor: a ceil_mode window hanging past the padding does not count there. */
static inline int32_t sg_pool_padded_extent(int32_t out_coord, int32_t in, int32_t k,
                                            int32_t stride, int32_t pad_lo, int32_t pad_hi)
{
    const int32_t start = out_coord * stride - pad_lo;
    return sg_min_s32(start + k, in + pad_hi) - start;
}

#endif /* SG_POOL2D_COMMON_H */
