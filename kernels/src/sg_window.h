/* slimgen kernel internals: the sliding-window walk shared by conv, depthwise conv and pooling.
 *
 * sg_for_each_window visits every output pixel in NHWC order and hands the kernel's per-pixel
 * function the taps of its window that land inside the input. Padding is skipped by looping over
 * exactly those taps, with no branch in the inner loops.
 */
#ifndef SG_WINDOW_H
#define SG_WINDOW_H

#include <stdint.h>

#include "sg_common.h"

/* The taps of one output coordinate along one axis that land inside the input [0, in): taps
 * [begin, begin + count) of the k taps dil apart, the first at input coordinate `first`.
 * count is 0 when the window misses the input. */
typedef struct {
    int32_t first;
    int32_t begin;
    int32_t count;
} sg_axis_taps;

static inline sg_axis_taps sg_axis_taps_at(int32_t out_coord, int32_t in, int32_t k,
                                           int32_t stride, int32_t pad, int32_t dil)
{
    const int32_t start = out_coord * stride - pad;
    /* ceil(-start / dil) for start < 0: the first tap at or after coordinate 0. */
    const int32_t begin = sg_min_s32(start < 0 ? (-start + dil - 1) / dil : 0, k);
    /* ceil((in - start) / dil): one past the last tap before coordinate in. */
    const int32_t past = sg_min_s32(in > start ? (in - start + dil - 1) / dil : 0, k);
    sg_axis_taps t;
    t.begin = begin;
    t.count = sg_max_s32(past - begin, 0);
    t.first = t.count > 0 ? start + begin * dil : 0;
    return t;
}

/* The window geometry of a layer: the fields conv, depthwise conv and pool params share. */
typedef struct {
    sg_dims in;
    sg_dims out;
    int32_t kernel_h;
    int32_t kernel_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
} sg_window_geometry;

/* One axis: positive sizes, and every coordinate sg_axis_taps_at computes
 * (y * stride - pad + k * dil, and its ceilings, which add dil to pad + in) stays in int32. */
static inline int sg_window_axis_ok(int32_t in, int32_t out, int32_t k, int32_t stride,
                                    int32_t dil, int32_t pad)
{
    if (in < 1 || out < 1 || k < 1 || stride < 1 || dil < 1 || pad < 0) {
        return 0;
    }
    return (int64_t)(out - 1) * stride + (int64_t)k * dil + pad + in < INT32_MAX;
}

static inline int sg_window_geometry_ok(const sg_window_geometry *g)
{
    return sg_dims_ok(&g->in) && sg_dims_ok(&g->out) &&
           sg_window_axis_ok(g->in.h, g->out.h, g->kernel_h, g->stride_h, g->dil_h, g->pad_top) &&
           sg_window_axis_ok(g->in.w, g->out.w, g->kernel_w, g->stride_w, g->dil_w, g->pad_left);
}

/* One output pixel's window: its coordinates and its in-input taps along each axis. */
typedef struct {
    int32_t oy;
    int32_t ox;
    sg_axis_taps y;
    sg_axis_taps x;
} sg_window;

/* A kernel's work for one output pixel. params is the kernel's params struct; in_tap is the
 * input pixel (channel 0) of the window's first in-input tap, or the input itself when the
 * window holds no tap (a pointer outside the input array would be UB even unread). */
typedef void (*sg_window_fn)(const void *params, const int8_t *in_tap, const sg_window *win,
                             int8_t *out_pixel);

/* Calls fn for every output pixel in NHWC order. Being static inline with a constant fn, the
 * call compiles to a direct one (GCC and Clang inline it at -O2). */
static inline void sg_for_each_window(const sg_window_geometry *g, sg_window_fn fn,
                                      const void *params, const int8_t *input, int8_t *output)
{
    sg_window win;
    for (win.oy = 0; win.oy < g->out.h; ++win.oy) {
        win.y = sg_axis_taps_at(win.oy, g->in.h, g->kernel_h, g->stride_h, g->pad_top, g->dil_h);
        for (win.ox = 0; win.ox < g->out.w; ++win.ox) {
            win.x =
                sg_axis_taps_at(win.ox, g->in.w, g->kernel_w, g->stride_w, g->pad_left, g->dil_w);
            const int hits = win.y.count > 0 && win.x.count > 0;
            fn(params, input + (hits ? (win.y.first * g->in.w + win.x.first) * g->in.c : 0), &win,
               output);
            output += g->out.c;
        }
    }
}

#endif /* SG_WINDOW_H */
