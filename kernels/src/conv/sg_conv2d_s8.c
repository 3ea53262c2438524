/* sg_conv2d_s8: int8 convolution, groups = 1, any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py conv2d().
 *
 * DSP path (SG_HAS_DSP): im2col. Each output pixel's window is gathered into one row of K =
 * K_h * K_w * C_in int8 in OHWI tap order, taps outside the input filled with the input zero
 * point (so x + in_offset is exactly 0 there and every tap can be multiplied, as the portable
 * path's skipping does implicitly), then widened to halfwords with in_offset added. Two pixels'
 * rows times every filter form a matrix product in 2 pixel x 2 channel register tiles
 * (sg_dsp_mat_2xn in sg_dot.h). The bias is not folded: in_offset is added once per gathered
 * tap, not per MAC. */
#include <string.h>

#include "sg_kernels.h"

#include "../sg_dot.h"
#include "../sg_window.h"
#include "sg_conv2d_check.h"

/* Scratch layout: two pixels' widened im2col rows (2 x sg_widened_words(K) words,
 * sg_dsp_widen2), their 2 x C_out int32 sums, then their two int8 gather rows (2 x K bytes).
 * Reported on every ISA, so a memory plan does not depend on the core; the portable path leaves
 * it unused. */
int32_t sg_conv2d_s8_scratch_size(const sg_conv2d_s8_params *p)
{
    const int64_t k = (int64_t)p->filter.h * p->filter.w * p->in.c;
    return p->filter.h > 0 && p->filter.w > 0 && p->in.c > 0
               ? sg_scratch_bytes(2 * 4 * (sg_widened_words(k) + (int64_t)p->out.c) + 2 * k)
               : 0;
}

#if SG_HAS_MVE
#include "../mve/sg_conv2d_s8_mve.h"
#elif SG_HAS_DSP
/* The window of output pixel (oy, ox) as K int8, padding = the input zero point. */
static void im2col_s8(const sg_conv2d_s8_params *p, const int8_t *input, int32_t oy, int32_t ox,
                      int8_t *col)
{
    const int32_t c_in = p->in.c;
    const int32_t row_bytes = p->filter.w * c_in;
    /* in_offset is in [-127, 128], so the zero point -in_offset is an int8. */
    const int zero_point = -p->rq.in_offset;
    const sg_axis_taps xt =
        sg_axis_taps_at(ox, p->in.w, p->filter.w, p->stride_w, p->pad_left, p->dil_w);
    const int32_t before = xt.begin * c_in;
    const int32_t inside = xt.count * c_in;
    const int32_t after = row_bytes - before - inside;
    for (int32_t ky = 0; ky < p->filter.h; ++ky, col += row_bytes) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
        if (iy < 0 || iy >= p->in.h || inside == 0) {
            memset(col, zero_point, (size_t)row_bytes);
            continue;
        }
        if (before > 0) {
            memset(col, zero_point, (size_t)before);
        }
        const int8_t *src = input + (iy * p->in.w + xt.first) * c_in;
        if (p->dil_w == 1) {
            memcpy(col + before, src, (size_t)inside);
        } else {
            for (int32_t t = 0; t < xt.count; ++t) {
                memcpy(col + before + t * c_in, src + t * p->dil_w * c_in, (size_t)c_in);
            }
        }
        if (after > 0) {
            memset(col + before + inside, zero_point, (size_t)after);
        }
    }
}

static void conv_dsp(const sg_conv2d_s8_params *p, const int8_t *input, int8_t *output,
                     void *scratch)
{
    const int32_t k = p->filter.h * p->filter.w * p->in.c;
    const int32_t c_out = p->out.c;
    const int32_t pixels = p->out.h * p->out.w;
    int32_t *xw = (int32_t *)scratch;
    int32_t *acc = xw + 2 * sg_widened_words(k);
    int8_t *col0 = (int8_t *)(acc + 2 * c_out);
    int8_t *col1 = col0 + k;
    int32_t i = 0;
    for (; i + 2 <= pixels; i += 2) {
        im2col_s8(p, input, i / p->out.w, i % p->out.w, col0);
        im2col_s8(p, input, (i + 1) / p->out.w, (i + 1) % p->out.w, col1);
        sg_dsp_widen2(col0, col1, k, p->rq.in_offset, xw);
        int8_t *out = output + i * c_out;
        sg_dsp_mat_2xn(xw, p->weights, p->bias, k, c_out, &p->rq, out, c_out, acc);
    }
    if (i < pixels) {
        im2col_s8(p, input, i / p->out.w, i % p->out.w, col0);
        sg_dsp_widen(col0, k, p->rq.in_offset, xw);
        sg_dsp_mat_1xn(xw, p->weights, p->bias, k, c_out, &p->rq, output + i * c_out, acc);
    }
}
#else
/* One output pixel, all output channels: a dot product over C_in per in-input tap. */
static void conv_pixel_portable(const void *params, const int8_t *in_tap, const sg_window *win,
                                int8_t *out_pixel)
{
    const sg_conv2d_s8_params *p = (const sg_conv2d_s8_params *)params;
    const int32_t c_in = p->in.c;
    const int32_t in_row_step = p->dil_h * p->in.w * c_in;
    const int32_t in_col_step = p->dil_w * c_in;
    const int32_t filter_size = p->filter.h * p->filter.w * c_in;

    for (int32_t o = 0; o < p->out.c; ++o) {
        const int8_t *w_o = p->weights + o * filter_size;
        int32_t acc = p->bias != NULL ? p->bias[o] : 0;
        for (int32_t r = 0; r < win->y.count; ++r) {
            for (int32_t c = 0; c < win->x.count; ++c) {
                const int32_t tap = (win->y.begin + r) * p->filter.w + win->x.begin + c;
                acc += sg_dot_offset_s8(in_tap + r * in_row_step + c * in_col_step,
                                        w_o + tap * c_in, c_in, p->rq.in_offset);
            }
        }
        out_pixel[o] = sg_requant_output(acc, &p->rq, o);
    }
}
#endif

sg_status sg_conv2d_s8(const sg_conv2d_s8_params *p,
                       const int8_t *input,
                       int8_t *output,
                       sg_scratch scratch)
{
    SG_TRY(sg_conv2d_s8_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    sg_conv2d_s8_mve(p, input, output, (int8_t *)scratch.buf, scratch.size);
#elif SG_HAS_DSP
    conv_dsp(p, input, output, scratch.buf);
#else
    const sg_window_geometry g = sg_conv2d_geometry(p);
    sg_for_each_window(&g, conv_pixel_portable, p, input, output);
#endif
    return SG_OK;
}
