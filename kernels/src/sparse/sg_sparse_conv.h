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

/* The im2col row of output pixel `pixel` (NHWC order) into row[K_h * K_w * C_in]. */
static inline void sg_im2col_row(const int8_t *input, const sg_window_geometry *g,
                                 int32_t pixel, int8_t fill, int8_t *row)
{
    const int32_t cin = g->in.c;
    const int32_t oy = pixel / g->out.w;
    const int32_t ox = pixel - oy * g->out.w;
    for (int32_t ky = 0; ky < g->kernel_h; ++ky) {
        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dil_h;
        for (int32_t kx = 0; kx < g->kernel_w; ++kx) {
            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dil_w;
            int8_t *dst = row + (ky * g->kernel_w + kx) * cin;
            if (iy >= 0 && iy < g->in.h && ix >= 0 && ix < g->in.w) {
                memcpy(dst, input + (iy * g->in.w + ix) * cin, (size_t)cin);
            } else {
                memset(dst, fill, (size_t)cin);
            }
        }
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

#endif /* SG_SPARSE_CONV_H */
