/* sg_maxpool2d_s8: int8 max pooling; padded positions are skipped (as -inf).
 * Reference: compiler/slimgen/ref/pool.py maxpool2d(). */
#include "sg_kernels.h"

#include "../sg_arch.h"
#include "../sg_requant.h"
#include "../sg_window.h"
#include "sg_pool2d_common.h"

int32_t sg_maxpool2d_s8_scratch_size(const sg_pool2d_s8_params *p)
{
    (void)p;
    return 0;
}

/* Channels [first, C) of one output pixel, channels innermost so every read and write is
 * contiguous; the output pixel itself holds the running maxima (an int8 max needs no wider
 * accumulator). sg_pool2d_check guarantees every window holds at least one input tap. */
static void maxpool_channels(const sg_pool2d_s8_params *p, const int8_t *in_tap,
                             const sg_window *win, int8_t *out_pixel, int32_t first)
{
    const int32_t channels = p->in.c;
    for (int32_t c = first; c < channels; ++c) {
        out_pixel[c] = in_tap[c];
    }
    for (int32_t r = 0; r < win->y.count; ++r) {
        for (int32_t k = 0; k < win->x.count; ++k) {
            const int8_t *tap = in_tap + (r * p->in.w + k) * channels;
            for (int32_t c = first; c < channels; ++c) {
                out_pixel[c] = tap[c] > out_pixel[c] ? tap[c] : out_pixel[c];
            }
        }
    }
    for (int32_t c = first; c < channels; ++c) {
        out_pixel[c] = sg_clamp_to_s8(out_pixel[c], p->act_min, p->act_max);
    }
}

#if SG_HAS_DSP
/* Four channels per word: each tap costs one load and SSUB8 + SEL, and the running maxima stay
 * in a register rather than in the output pixel. A whole 2x2 window (MaxPool2d(2), the common
 * case) is unrolled: its loops cost more than its four taps. The channels past the last whole
 * word take the portable per-byte loop. */
static void maxpool_pixel(const void *params, const int8_t *in_tap, const sg_window *win,
                          int8_t *out_pixel)
{
    const sg_pool2d_s8_params *p = (const sg_pool2d_s8_params *)params;
    const int32_t channels = p->in.c;
    const int32_t row_step = p->in.w * channels;
    const int32_t lo = sg_dup8(p->act_min), hi = sg_dup8(p->act_max);
    const int32_t words = channels & ~3;
    if (win->y.count == 2 && win->x.count == 2) {
        const int8_t *below = in_tap + row_step;
        for (int32_t c = 0; c < words; c += 4) {
            const int32_t top = sg_max_s8x4(sg_read_s8x4(in_tap + c),
                                            sg_read_s8x4(in_tap + channels + c));
            const int32_t bottom = sg_max_s8x4(sg_read_s8x4(below + c),
                                               sg_read_s8x4(below + channels + c));
            const int32_t m = sg_max_s8x4(top, bottom);
            sg_write_s8x4(out_pixel + c, sg_min_s8x4(sg_max_s8x4(m, lo), hi));
        }
    } else {
        for (int32_t c = 0; c < words; c += 4) {
            int32_t m = sg_read_s8x4(in_tap + c);
            const int8_t *row = in_tap + c;
            for (int32_t r = 0; r < win->y.count; ++r, row += row_step) {
                const int8_t *tap = row;
                for (int32_t k = 0; k < win->x.count; ++k, tap += channels) {
                    m = sg_max_s8x4(m, sg_read_s8x4(tap));
                }
            }
            sg_write_s8x4(out_pixel + c, sg_min_s8x4(sg_max_s8x4(m, lo), hi));
        }
    }
    if (words < channels) {
        maxpool_channels(p, in_tap, win, out_pixel, words);
    }
}
#else
static void maxpool_pixel(const void *params, const int8_t *in_tap, const sg_window *win,
                          int8_t *out_pixel)
{
    maxpool_channels((const sg_pool2d_s8_params *)params, in_tap, win, out_pixel, 0);
}
#endif

sg_status sg_maxpool2d_s8(const sg_pool2d_s8_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch)
{
    SG_TRY(sg_pool2d_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_maxpool2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const sg_window_geometry g = sg_pool2d_geometry(p);
    sg_for_each_window(&g, maxpool_pixel, p, input, output);
    return SG_OK;
}
