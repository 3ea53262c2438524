/* slimgen kernel internals: im2col for the sparse convolutions (kernels/src/sparse).
 *
 * A sparse conv is the sparse matmul of the 1x1 kernels over im2col rows: for each output pixel
 * the window's K_h x K_w x C_in inputs are gathered into one row of the scratch buffer, and the
 * row walkers of sg_sparse.h run over four such rows at a time. Taps outside the input hold the
 * input zero point (-in_offset): with the folded bias (bias + in_offset * sum of all weights)
 * their products cancel the offset term exactly, as the dense kernel's skipped taps do.
 */
#ifndef SG_SPARSE_CONV_H
#define SG_SPARSE_CONV_H

#include <string.h>

#include "sg_sparse.h"

#include "../sg_window.h"

/* Rows of im2col scratch the sparse convs fill per pass over the weights. */
#define SG_SPARSE_CONV_ROWS 4

static inline sg_window_geometry sg_sparse_conv_geometry(const sg_dims *in, const sg_dims *filter,
                                                         const sg_dims *out, int32_t stride_h,
                                                         int32_t stride_w, int32_t pad_top,
                                                         int32_t pad_left, int32_t dil_h,
                                                         int32_t dil_w)
{
    const sg_window_geometry g = {*in,      *out,     filter->h, filter->w, stride_h,
                                  stride_w, pad_top, pad_left,  dil_h,     dil_w};
    return g;
}

/* Shapes agree: filter C_out x K_h x K_w x C_in, weights [C_out][K_h * K_w * C_in]. */
static inline int sg_sparse_conv_shapes_ok(const sg_window_geometry *g, const sg_dims *filter,
                                           int32_t rows, int32_t cols)
{
    return sg_window_geometry_ok(g) && filter->n == g->out.c && filter->c == g->in.c &&
           rows == g->out.c &&
           (int64_t)filter->h * filter->w * filter->c * SG_SPARSE_CONV_ROWS <= INT32_MAX &&
           cols == filter->h * filter->w * filter->c;
}

static inline int32_t sg_sparse_conv_scratch(const sg_dims *filter)
{
    const int64_t n = (int64_t)filter->h * filter->w * filter->c * SG_SPARSE_CONV_ROWS;
    return n > 0 && n <= INT32_MAX ? (int32_t)n : 0;
}

/* Byte copies and fills without a library call: the runs are short (a few taps of C_in bytes),
 * a call costs more than the copy, and the empty asm keeps GCC from turning the loops back into
 * memcpy / memset calls. */
#if defined(__GNUC__)
#define SG_IM2COL_NO_LIBCALL() __asm__ volatile("")
#else
#define SG_IM2COL_NO_LIBCALL() ((void)0)
#endif

static inline void sg_im2col_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        uint32_t word;
        memcpy(&word, src, sizeof word);
        memcpy(dst, &word, sizeof word);
        SG_IM2COL_NO_LIBCALL();
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
        SG_IM2COL_NO_LIBCALL();
    }
}

static inline void sg_im2col_fill(int8_t *dst, int8_t fill, int32_t n)
{
    const uint32_t word = (uint32_t)(uint8_t)fill * 0x01010101u;
    for (; n >= 4; n -= 4, dst += 4) {
        memcpy(dst, &word, sizeof word);
        SG_IM2COL_NO_LIBCALL();
    }
    for (; n > 0; --n) {
        *dst++ = fill;
        SG_IM2COL_NO_LIBCALL();
    }
}

/* The im2col row of output pixel `pixel` (NHWC order) into row[K_h * K_w * C_in]. Per window
 * row, the taps inside the input are one run of bytes (one copy when dil_w is 1), with the fill
 * before and after. */
static inline void sg_im2col_row(const int8_t *input, const sg_window_geometry *g,
                                 int32_t pixel, int8_t fill, int8_t *row)
{
    const int32_t cin = g->in.c;
    const int32_t oy = pixel / g->out.w;
    const int32_t ox = pixel - oy * g->out.w;
    const int32_t run = g->kernel_w * cin;
    const sg_axis_taps tx =
        sg_axis_taps_at(ox, g->in.w, g->kernel_w, g->stride_w, g->pad_left, g->dil_w);
    const int32_t before = tx.begin * cin;
    const int32_t inside = tx.count * cin;
    for (int32_t ky = 0; ky < g->kernel_h; ++ky, row += run) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        if (iy < 0 || iy >= g->in.h || tx.count == 0) {
            sg_im2col_fill(row, fill, run);
            continue;
        }
        const int8_t *src = input + (iy * g->in.w + tx.first) * cin;
        sg_im2col_fill(row, fill, before);
        if (g->dil_w == 1) {
            sg_im2col_copy(row + before, src, inside);
        } else {
            for (int32_t t = 0; t < tx.count; ++t) {
                sg_im2col_copy(row + before + t * cin, src + t * g->dil_w * cin, cin);
            }
        }
        sg_im2col_fill(row + before + inside, fill, run - before - inside);
    }
}

/* Fills up to SG_SPARSE_CONV_ROWS im2col rows from pixel `first`; returns how many. */
static inline int32_t sg_im2col_rows(const int8_t *input, const sg_window_geometry *g,
                                     int32_t first, int32_t k, int8_t fill, int8_t *rows)
{
    const int32_t n = sg_min_s32(SG_SPARSE_CONV_ROWS, g->out.h * g->out.w - first);
    for (int32_t j = 0; j < n; ++j) {
        sg_im2col_row(input, g, first + j, fill, rows + j * k);
    }
    return n;
}

#if SG_HAS_DSP
/* The widened inputs of the four output pixels first .. first + 3 into xw[2 * K_h * K_w * C_in]:
 * blocks = 0, pixel-paired (sg_csr8_widen4's layout, for csr8); blocks = 1, group-interleaved
 * (sg_bsr1x4_widen's, for bsr1x4; its groups of 4 taps must not straddle window rows, so only
 * when K_w * C_in % 4 == 0). When the four share an output row and every window row of theirs
 * lies inside the input along x (dil_w 1), a window row of the four is four runs of K_w * C_in
 * bytes, stride_w * C_in apart in the input: widened from there, or filled when the row is
 * padding. Otherwise through the int8 im2col rows. Either layout keeps window row ky at
 * xw + 2 * ky * K_w * C_in. */
static inline void sg_im2col_widen4(const int8_t *input, const sg_window_geometry *g,
                                    int32_t first, int8_t fill, int8_t *rows, int32_t *xw,
                                    int blocks)
{
    const int32_t cin = g->in.c;
    const int32_t run = g->kernel_w * cin;
    const int32_t k = g->kernel_h * run;
    const int32_t oy = first / g->out.w;
    const int32_t ox = first - oy * g->out.w;
    const int direct =
        g->dil_w == 1 && ox + 3 < g->out.w && (!blocks || run % 4 == 0) &&
        sg_axis_taps_at(ox, g->in.w, g->kernel_w, g->stride_w, g->pad_left, 1).count ==
            g->kernel_w &&
        sg_axis_taps_at(ox + 3, g->in.w, g->kernel_w, g->stride_w, g->pad_left, 1).count ==
            g->kernel_w;
    if (!direct) {
        for (int32_t j = 0; j < 4; ++j) {
            sg_im2col_row(input, g, first + j, fill, rows + j * k);
        }
        if (blocks) {
            sg_bsr1x4_widen(rows, k, 4, k, xw);
        } else {
            sg_csr8_widen4(rows, k, k, xw);
        }
        return;
    }
    const int32_t step = g->stride_w * cin;
    const int32_t x0 = ox * g->stride_w - g->pad_left;
    const int32_t filled = sg_pack_lo16(fill, fill);
    for (int32_t ky = 0; ky < g->kernel_h; ++ky, xw += 2 * run) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        if (iy < 0 || iy >= g->in.h) {
            for (int32_t i = 0; i < 2 * run; ++i) {
                xw[i] = filled;
            }
            continue;
        }
        const int8_t *src = input + (iy * g->in.w + x0) * cin;
        if (blocks) {
            sg_bsr1x4_widen(src, step, 4, run, xw);
        } else {
            sg_csr8_widen4(src, step, run, xw);
        }
    }
}
#endif

#endif /* SG_SPARSE_CONV_H */
