/* sg_avgpool2d_s8: int8 average pooling with torch's count_include_pad semantics and TFLite's
 * rounding (half away from zero). Reference: compiler/slimgen/ref/pool.py avgpool2d(). */
#include "sg_kernels.h"

#include "../sg_requant.h"
#include "../sg_window.h"
#include "sg_pool2d_common.h"

int32_t sg_avgpool2d_s8_scratch_size(const sg_pool2d_s8_params *p)
{
    (void)p;
    return 0;
}

/* sum / count rounded half away from zero (TFLite's average pool; C division truncates). */
static int32_t divide_round_away(int32_t sum, int32_t count)
{
    return (sum > 0 ? sum + count / 2 : sum - count / 2) / count;
}

static void avgpool_pixel_portable(const void *params, const int8_t *in_tap, const sg_window *win,
                                   int8_t *out_pixel)
{
    const sg_pool2d_s8_params *p = (const sg_pool2d_s8_params *)params;
    const int32_t channels = p->in.c;
    const int32_t valid = win->y.count * win->x.count;
    int32_t divisor = valid;
    int32_t pad_sum = 0; /* pad_value for every padded tap the divisor counts */
    if (p->count_include_pad) {
        divisor = sg_pool_padded_extent(win->oy, p->in.h, p->kernel_h, p->stride_h, p->pad_top,
                                        p->pad_bottom) *
                  sg_pool_padded_extent(win->ox, p->in.w, p->kernel_w, p->stride_w, p->pad_left,
                                        p->pad_right);
        pad_sum = p->pad_value * (divisor - valid);
    }
    for (int32_t c = 0; c < channels; ++c) {
        int32_t sum = pad_sum;
        for (int32_t r = 0; r < win->y.count; ++r) {
            for (int32_t k = 0; k < win->x.count; ++k) {
                sum += in_tap[(r * p->in.w + k) * channels + c];
            }
        }
        out_pixel[c] = sg_clamp_to_s8(divide_round_away(sum, divisor), p->act_min, p->act_max);
    }
}

sg_status sg_avgpool2d_s8(const sg_pool2d_s8_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch)
{
    SG_TRY(sg_pool2d_check(p, input, output));
    SG_REQUIRE(p->count_include_pad == 0 || p->count_include_pad == 1, SG_ERR_ARG);
    SG_REQUIRE(p->pad_value >= -128 && p->pad_value <= 127, SG_ERR_ARG);
    /* Keeps |sum| <= 128 * 2^22 and the rounding term far from int32 overflow. */
    SG_REQUIRE((int64_t)p->kernel_h * p->kernel_w <= (1 << 22), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_avgpool2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const sg_window_geometry g = sg_pool2d_geometry(p);
    sg_for_each_window(&g, avgpool_pixel_portable, p, input, output);
    return SG_OK;
}
