/* sg_maxpool2d_s8: int8 max pooling; padded positions are skipped (as -inf).
 * Reference: compiler/slimgen/ref/pool.py maxpool2d(). */
#include "sg_kernels.h"

#include "../sg_requant.h"
#include "../sg_window.h"
#include "sg_pool2d_common.h"

int32_t sg_maxpool2d_s8_scratch_size(const sg_pool2d_s8_params *p)
{
    (void)p;
    return 0;
}

/* Channels innermost so every read and write is contiguous; the output pixel itself holds the
 * running maxima (an int8 max needs no wider accumulator). sg_pool2d_check guarantees every
 * window holds at least one input tap. */
static void maxpool_pixel_portable(const void *params, const int8_t *in_tap, const sg_window *win,
                                   int8_t *out_pixel)
{
    const sg_pool2d_s8_params *p = (const sg_pool2d_s8_params *)params;
    const int32_t channels = p->in.c;
    for (int32_t c = 0; c < channels; ++c) {
        out_pixel[c] = in_tap[c];
    }
    for (int32_t r = 0; r < win->y.count; ++r) {
        for (int32_t k = 0; k < win->x.count; ++k) {
            const int8_t *tap = in_tap + (r * p->in.w + k) * channels;
            for (int32_t c = 0; c < channels; ++c) {
                out_pixel[c] = tap[c] > out_pixel[c] ? tap[c] : out_pixel[c];
            }
        }
    }
    for (int32_t c = 0; c < channels; ++c) {
        out_pixel[c] = sg_clamp_to_s8(out_pixel[c], p->act_min, p->act_max);
    }
}

sg_status sg_maxpool2d_s8(const sg_pool2d_s8_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch)
{
    SG_TRY(sg_pool2d_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_maxpool2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const sg_window_geometry g = sg_pool2d_geometry(p);
    sg_for_each_window(&g, maxpool_pixel_portable, p, input, output);
    return SG_OK;
}
