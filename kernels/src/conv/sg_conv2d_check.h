/* slimgen kernel internals: the argument check shared by sg_conv2d_s8 and its specializations. */
#ifndef SG_CONV2D_CHECK_H
#define SG_CONV2D_CHECK_H

#include "sg_kernels.h"

#include "../sg_requant.h"
#include "../sg_window.h"

static inline sg_window_geometry sg_conv2d_geometry(const sg_conv2d_s8_params *p)
{
    const sg_window_geometry g = {p->in,       p->out,      p->filter.h, p->filter.w,
                                  p->stride_h, p->stride_w, p->pad_top,  p->pad_left,
                                  p->dil_h,    p->dil_w};
    return g;
}

/* The preconditions of sg_conv2d_s8_params (sg_kernels.h). The header fixes no pad_bottom or
 * pad_right, so out.h and out.w are whatever the caller planned: taps that fall below or right of
 * the input are skipped like any other padding. */
static inline sg_status sg_conv2d_s8_check(const sg_conv2d_s8_params *p, const int8_t *input,
                                           const int8_t *output)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL && p->weights != NULL, SG_ERR_ARG);
    const sg_window_geometry g = sg_conv2d_geometry(p);
    SG_REQUIRE(sg_window_geometry_ok(&g), SG_ERR_ARG);
    SG_REQUIRE(p->filter.n == p->out.c && p->filter.c == p->in.c, SG_ERR_ARG);
    SG_REQUIRE((int64_t)p->filter.n * p->filter.h * p->filter.w * p->filter.c <= INT32_MAX,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->out.c), SG_ERR_ARG);
    return SG_OK;
}

#endif /* SG_CONV2D_CHECK_H */
