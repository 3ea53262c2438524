/* slimgen kernel internals (Helium): sg_conv2d_s8 on Cortex-M55.
 *
 * im2col, four output pixels at a time: each pixel's window is gathered into one row of K =
 * K_h * K_w * C_in int8 in OHWI tap order, taps outside the input filled with the input zero point
 * (so x + in_offset is exactly 0 there, and sum(w) is over the whole filter for every pixel:
 * bias + in_offset * sum(w) is taken once per output channel, before the pixels). The four rows
 * times every output channel's K weights are then sg_mve_tile4_all: each weight load feeds four
 * pixels. The rows and the C_out sums take 4 K + 4 C_out bytes of the caller's scratch, within
 * what sg_conv2d_s8_scratch_size reports on every core. A pixel count that is not a multiple of 4 ends
 * with a tile overlapping the one before (those outputs are computed twice, identically). Layers
 * with fewer than four output pixels (or, defensively, less scratch than that) go pixel by
 * pixel over the in-input taps.
 */
#ifndef SG_CONV2D_S8_MVE_H
#define SG_CONV2D_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "../sg_window.h"
#include "sg_dot_mve.h"

/* dst[i] = src[i], i < n, 16 bytes per step (newlib-nano's memcpy goes byte by byte). */
static inline void sg_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (int32_t i = n >> 4; i > 0; --i) {
        vst1q_s8(dst, vld1q_s8(src));
        src += 16;
        dst += 16;
    }
    if ((n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
}

static inline void sg_mve_fill(int8_t *dst, int8x16_t v, int32_t n)
{
    for (; n > 0; n -= 16, dst += 16) {
        vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
    }
}

/* The window of output pixel (oy, ox) as K int8, padding = zero. */
static inline void sg_mve_im2col(const sg_conv2d_s8_params *p, const int8_t *input, int32_t oy,
                                 int32_t ox, int8x16_t zero, int8_t *col)
{
    const int32_t c_in = p->in.c;
    const int32_t row_bytes = p->filter.w * c_in;
    const sg_axis_taps tx =
        sg_axis_taps_at(ox, p->in.w, p->filter.w, p->stride_w, p->pad_left, p->dil_w);
    const int32_t before = tx.begin * c_in;
    const int32_t inside = tx.count * c_in;
    const int32_t after = row_bytes - before - inside;
    for (int32_t ky = 0; ky < p->filter.h; ++ky, col += row_bytes) {
        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dil_h;
        if (iy < 0 || iy >= p->in.h || inside == 0) {
            sg_mve_fill(col, zero, row_bytes);
            continue;
        }
        sg_mve_fill(col, zero, before);
        const int8_t *src = input + (iy * p->in.w + tx.first) * c_in;
        if (p->dil_w == 1) {
            sg_mve_copy(col + before, src, inside);
        } else {
            for (int32_t t = 0; t < tx.count; ++t) {
                sg_mve_copy(col + before + t * c_in, src + t * p->dil_w * c_in, c_in);
            }
        }
        sg_mve_fill(col + before + inside, zero, after);
    }
}

/* One output pixel alone, over its in-input taps (the window rows are contiguous when
 * dilation_w is 1). */
static inline void sg_conv_pixel_mve(const sg_conv2d_s8_params *p, const int8_t *input,
                                     int32_t oy, int32_t ox, const sg_mve_out_stage *st,
                                     int8_t *out)
{
    const int32_t c_in = p->in.c;
    const int32_t kw = p->filter.w;
    const sg_axis_taps ty = sg_axis_taps_at(oy, p->in.h, p->filter.h, p->stride_h, p->pad_top,
                                            p->dil_h);
    const sg_axis_taps tx = sg_axis_taps_at(ox, p->in.w, kw, p->stride_w, p->pad_left, p->dil_w);
    const int hits = ty.count > 0 && tx.count > 0;
    sg_mve_taps t;
    t.rows = hits ? ty.count : 0; /* no tap at all: the output is requant(bias) */
    t.x_row = p->dil_h * p->in.w * c_in;
    t.w_row = kw * c_in;
    t.w_channel = p->filter.h * kw * c_in;
    t.cols = p->dil_w == 1 ? 1 : tx.count;
    t.len = p->dil_w == 1 ? tx.count * c_in : c_in;
    t.x_col = p->dil_w * c_in;
    t.w_col = c_in;
    const int8_t *x = input + (hits ? (ty.first * p->in.w + tx.first) * c_in : 0);
    const int8_t *w = p->weights + (ty.begin * kw + tx.begin) * c_in;
    sg_mve_pixel(x, &t, w, p->bias, p->out.c, &p->rq, st, out);
}

/* col: col_bytes of 4-byte aligned scratch, 4 K + 4 C_out of them used. */
static inline void sg_conv2d_s8_mve(const sg_conv2d_s8_params *p, const int8_t *input,
                                    int8_t *output, int8_t *col, int32_t col_bytes)
{
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    const int32_t c_out = p->out.c;
    const int32_t pixels = p->out.h * p->out.w;
    const int32_t k = p->filter.h * p->filter.w * p->in.c;
    if (pixels < 4 || col_bytes / 4 < k + c_out) {
        for (int32_t i = 0; i < pixels; ++i) {
            sg_conv_pixel_mve(p, input, i / p->out.w, i % p->out.w, &st, output + i * c_out);
        }
        return;
    }
    int32_t *acc0 = (int32_t *)(void *)(col + 4 * k);
    for (int32_t o = 0; o < c_out; ++o) {
        const uint32_t b = (uint32_t)(p->bias != NULL ? p->bias[o] : 0) +
                           (uint32_t)sg_mve_sum(0, p->weights + o * k, k) *
                               (uint32_t)p->rq.in_offset;
        acc0[o] = sg_wrap_s32(b);
    }
    /* in_offset is in [-127, 128], so the zero point -in_offset is an int8. */
    const int8x16_t zero = vdupq_n_s8((int8_t)-p->rq.in_offset);
    int32_t i = 0;
    for (;;) {
        for (int32_t j = 0; j < 4; ++j) {
            sg_mve_im2col(p, input, (i + j) / p->out.w, (i + j) % p->out.w, zero, col + j * k);
        }
        if ((k & 15) == 0) {
            sg_mve_tile4_all(col, k, k, p->weights, acc0, c_out, &p->rq, &st,
                             output + i * c_out, c_out, 0);
        } else {
            sg_mve_tile4_all(col, k, k, p->weights, acc0, c_out, &p->rq, &st,
                             output + i * c_out, c_out, 1);
        }
        if (i == pixels - 4) {
            break;
        }
        i = sg_min_s32(i + 4, pixels - 4);
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_CONV2D_S8_MVE_H */
