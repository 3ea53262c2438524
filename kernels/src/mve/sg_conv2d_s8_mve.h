/* slimgen kernel internals (Helium): sg_conv2d_s8 on Cortex-M55, without im2col (no scratch).
 *
 * With dilation_w 1 the in-input taps of one window row are contiguous in NHWC (x.count * C_in
 * bytes), and so are their OHWI weights, so each window row is one dot product (sg_dot_mve.h).
 * The output pixels whose whole window lies inside the input (everywhere but the borders) are
 * computed output channel by output channel, four pixels at a time sharing every weight load
 * (sg_mve_run_channel); border pixels, and rows with fewer than four full windows, go one at a
 * time with all their output channels.
 */
#ifndef SG_CONV2D_S8_MVE_H
#define SG_CONV2D_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "../sg_window.h"
#include "sg_dot_mve.h"

/* The taps of a window whose in-input part starts at filter tap (ty.begin, tx.begin). */
static inline sg_mve_taps sg_conv_taps_mve(const sg_conv2d_s8_params *p, int32_t rows,
                                           int32_t cols)
{
    const int32_t c_in = p->in.c;
    sg_mve_taps t;
    t.rows = rows;
    t.x_row = p->dil_h * p->in.w * c_in;
    t.w_row = p->filter.w * c_in;
    t.w_channel = p->filter.h * p->filter.w * c_in;
    if (p->dil_w == 1) {
        t.cols = 1;
        t.len = cols * c_in;
        t.x_col = 0;
        t.w_col = 0;
    } else {
        t.cols = cols;
        t.len = c_in;
        t.x_col = p->dil_w * c_in;
        t.w_col = c_in;
    }
    return t;
}

/* [lo, hi): the output coordinates whose whole window lies inside the input (a contiguous range:
 * the window start grows with the coordinate). */
typedef struct {
    int32_t lo, hi;
} sg_mve_range;

static inline sg_mve_range sg_full_range_mve(int32_t out, int32_t in, int32_t k, int32_t stride,
                                             int32_t pad, int32_t dil)
{
    sg_mve_range r = {0, 0};
    int32_t i = 0;
    while (i < out && sg_axis_taps_at(i, in, k, stride, pad, dil).count < k) {
        ++i;
    }
    r.lo = i;
    while (i < out && sg_axis_taps_at(i, in, k, stride, pad, dil).count == k) {
        ++i;
    }
    r.hi = i;
    return r;
}

/* One output channel over the full-window rows ry, columns rx. */
static inline void sg_conv_rows_mve(const sg_conv2d_s8_params *p, const int8_t *input,
                                    const sg_mve_taps *t, const int8_t *w,
                                    const sg_mve_channel *ch, const sg_mve_out_stage *st,
                                    sg_mve_range ry, sg_mve_range rx, int8_t *out_o, int tail)
{
    const int32_t c_in = p->in.c;
    const int32_t c_out = p->out.c;
    for (int32_t oy = ry.lo; oy < ry.hi; ++oy) {
        const int32_t iy = oy * p->stride_h - p->pad_top;
        const int32_t ix = rx.lo * p->stride_w - p->pad_left;
        sg_mve_run_channel(input + (iy * p->in.w + ix) * c_in, p->stride_w * c_in,
                           rx.hi - rx.lo, t, w, ch, st, out_o + (oy * p->out.w + rx.lo) * c_out,
                           c_out, tail);
    }
}

static inline void sg_conv2d_s8_mve(const sg_conv2d_s8_params *p, const int8_t *input,
                                    int8_t *output)
{
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    const int32_t c_in = p->in.c;
    const int32_t c_out = p->out.c;
    const int32_t kh = p->filter.h;
    const int32_t kw = p->filter.w;
    const sg_mve_range ry =
        sg_full_range_mve(p->out.h, p->in.h, kh, p->stride_h, p->pad_top, p->dil_h);
    const sg_mve_range rx =
        sg_full_range_mve(p->out.w, p->in.w, kw, p->stride_w, p->pad_left, p->dil_w);
    const int tiled = ry.hi > ry.lo && rx.hi - rx.lo >= 4;

    /* Full windows: output channel by output channel, along each row four pixels at a time. */
    if (tiled) {
        const sg_mve_taps t = sg_conv_taps_mve(p, kh, kw);
        for (int32_t o = 0; o < c_out; ++o) {
            const int8_t *w = p->weights + o * t.w_channel;
            const sg_mve_channel ch = sg_mve_channel_of(&t, w, p->bias, &p->rq, o);
            if ((t.len & 15) == 0) {
                sg_conv_rows_mve(p, input, &t, w, &ch, &st, ry, rx, output + o, 0);
            } else {
                sg_conv_rows_mve(p, input, &t, w, &ch, &st, ry, rx, output + o, 1);
            }
        }
    }

    /* Every other pixel (borders, short rows) alone, all output channels at once. */
    for (int32_t oy = 0; oy < p->out.h; ++oy) {
        const sg_axis_taps ty =
            sg_axis_taps_at(oy, p->in.h, kh, p->stride_h, p->pad_top, p->dil_h);
        const int row_tiled = tiled && oy >= ry.lo && oy < ry.hi;
        for (int32_t ox = 0; ox < p->out.w; ++ox) {
            if (row_tiled && ox == rx.lo) {
                ox = rx.hi - 1;
                continue;
            }
            const sg_axis_taps tx =
                sg_axis_taps_at(ox, p->in.w, kw, p->stride_w, p->pad_left, p->dil_w);
            const int hits = ty.count > 0 && tx.count > 0;
            /* No tap at all: rows 0 makes the output requant(bias). */
            const sg_mve_taps t = sg_conv_taps_mve(p, hits ? ty.count : 0, tx.count);
            const int8_t *x = input + (hits ? (ty.first * p->in.w + tx.first) * c_in : 0);
            const int8_t *w = p->weights + (ty.begin * kw + tx.begin) * c_in;
            sg_mve_pixel(x, &t, w, p->bias, c_out, &p->rq, &st,
                         output + (oy * p->out.w + ox) * c_out);
        }
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_CONV2D_S8_MVE_H */
