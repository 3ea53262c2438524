/* slimgen kernel internals (Helium): the int8 dot products of fc, 1x1 conv and conv.
 *
 * VMLADAVA.S8 multiplies 16 int8 pairs and adds all 16 products to a scalar accumulator (mod
 * 2^32); VADDVA.S8 adds 16 int8 to one. The input offset is applied once per output, not per tap:
 * sum((x + in_offset) * w) = sum(x * w) + in_offset * sum(w), with both sums taken over exactly
 * the taps read, so padding (never read) stays out of both. All arithmetic wraps modulo 2^32, so
 * the result is exact whenever the true accumulator fits int32 (which ref/ guarantees).
 *
 * Three shapes of inner loop, each sized to the register file: VMLADAVA accumulates only into
 * even general registers (r0, r2, ..., r12; lr holds the loop count), so a loop keeps at most six
 * accumulators without spilling.
 * - sg_mve_dot_1x2: one input row against two weight rows, with the rows' sums (fc; conv layers
 *   with fewer than four output pixels): per 32 MACs, 3 loads, 2 VMLADAVA, 2 VADDVA.
 * - sg_mve_dot_4x1: four input rows against one weight row (conv over im2col rows): per 64 MACs,
 *   5 loads, 4 VMLADAVA.
 * - sg_mve_dot_3x2: three input rows against two weight rows (1x1 conv): per 96 MACs, 5 loads,
 *   6 VMLADAVA.
 * The last two take the weight sums once per output channel, outside the pixel loop.
 * Lengths that are not a multiple of 16 end with one tail-predicated step (inactive lanes load
 * zero and add nothing).
 */
#ifndef SG_DOT_MVE_H
#define SG_DOT_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include <arm_mve.h>

#include "sg_requant_mve.h"

/* A scheduling barrier (GCC keeps instructions on their side of a volatile asm). */
#define SG_MVE_ORDER() __asm__ volatile("")

/* Dot products of one input against two weight rows, and the sums of those rows. */
typedef struct {
    int32_t a0, a1; /* sum x * w0, sum x * w1 */
    int32_t s0, s1; /* sum w0, sum w1 */
} sg_mve_acc1x2;

static inline sg_mve_acc1x2 sg_mve_dot_1x2(sg_mve_acc1x2 acc, const int8_t *x, const int8_t *w0,
                                           const int8_t *w1, int32_t n)
{
    int32_t a0 = acc.a0, a1 = acc.a1, s0 = acc.s0, s1 = acc.s1;
    for (int32_t i = n >> 4; i > 0; --i) {
        const int8x16_t xv = vld1q_s8(x);
        const int8x16_t v0 = vld1q_s8(w0);
        const int8x16_t v1 = vld1q_s8(w1);
        x += 16;
        w0 += 16;
        w1 += 16;
        a0 = vmladavaq_s8(a0, xv, v0);
        s0 = vaddvaq_s8(s0, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        s1 = vaddvaq_s8(s1, v1);
    }
    if ((n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        const int8x16_t xv = vldrbq_z_s8(x, p);
        const int8x16_t v0 = vldrbq_z_s8(w0, p);
        const int8x16_t v1 = vldrbq_z_s8(w1, p);
        a0 = vmladavaq_s8(a0, xv, v0);
        s0 = vaddvaq_s8(s0, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        s1 = vaddvaq_s8(s1, v1);
    }
    acc.a0 = a0;
    acc.a1 = a1;
    acc.s0 = s0;
    acc.s1 = s1;
    return acc;
}

/* Dot products of four inputs (x, x + x_step, x + 2 x_step, x + 3 x_step) with one weight
 * row, added to acc. The row's sum is not taken here: it does not depend on the pixel, so
 * callers take it once per output channel (sg_mve_sum). tail says whether n may not
 * be a multiple of 16; callers pass a constant, so the loop without a tail has no predicate. */
typedef struct {
    int32_t a0, a1, a2, a3;
} sg_mve_acc4x1;

static inline sg_mve_acc4x1 sg_mve_dot_4x1(sg_mve_acc4x1 acc, const int8_t *x, int32_t x_step,
                                           const int8_t *w, int32_t n, int tail)
{
    const int8_t *x0 = x, *x1 = x + x_step, *x2 = x + 2 * x_step, *x3 = x + 3 * x_step;
    int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3;
    for (int32_t i = n >> 4; i > 0; --i) {
        /* Loads and multiplies alternate: on the M55 a VLDRB overlaps the VMLADAVA before it
         * (different units), where back-to-back loads or multiplies wait for each other. */
        const int8x16_t wv = vld1q_s8(w);
        w += 16;
        a0 = vmladavaq_s8(a0, vld1q_s8(x0), wv);
        x0 += 16;
        a1 = vmladavaq_s8(a1, vld1q_s8(x1), wv);
        x1 += 16;
        a2 = vmladavaq_s8(a2, vld1q_s8(x2), wv);
        x2 += 16;
        a3 = vmladavaq_s8(a3, vld1q_s8(x3), wv);
        x3 += 16;
    }
    if (tail && (n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        const int8x16_t wv = vldrbq_z_s8(w, p);
        a0 = vmladavaq_s8(a0, vldrbq_z_s8(x0, p), wv);
        a1 = vmladavaq_s8(a1, vldrbq_z_s8(x1, p), wv);
        a2 = vmladavaq_s8(a2, vldrbq_z_s8(x2, p), wv);
        a3 = vmladavaq_s8(a3, vldrbq_z_s8(x3, p), wv);
    }
    acc.a0 = a0;
    acc.a1 = a1;
    acc.a2 = a2;
    acc.a3 = a3;
    return acc;
}

/* Dot products of three inputs (x + j * x_step, j < 3) with two weight rows w0, w1, added to
 * acc: six accumulators, the most the even registers hold beside the loop counter. Per 96 MACs,
 * 5 loads and 6 VMLADAVA. tail: as in sg_mve_dot_4x1. */
typedef struct {
    int32_t a00, a10, a20; /* pixel j, channel 0 */
    int32_t a01, a11, a21; /* pixel j, channel 1 */
} sg_mve_acc3x2;

static inline sg_mve_acc3x2 sg_mve_dot_3x2(sg_mve_acc3x2 acc, const int8_t *x, int32_t x_step,
                                           const int8_t *w0, const int8_t *w1, int32_t n,
                                           int tail)
{
    const int8_t *x0 = x, *x1 = x + x_step, *x2 = x + 2 * x_step;
    int32_t a00 = acc.a00, a10 = acc.a10, a20 = acc.a20;
    int32_t a01 = acc.a01, a11 = acc.a11, a21 = acc.a21;
    for (int32_t i = n >> 4; i > 0; --i) {
        /* Loads and multiplies alternate, as in sg_mve_dot_4x1; GCC would otherwise hoist the
         * loads together, so an empty volatile asm pins the order. */
        const int8x16_t v0 = vld1q_s8(w0);
        const int8x16_t y0 = vld1q_s8(x0);
        a00 = vmladavaq_s8(a00, y0, v0);
        SG_MVE_ORDER();
        const int8x16_t v1 = vld1q_s8(w1);
        a01 = vmladavaq_s8(a01, y0, v1);
        SG_MVE_ORDER();
        const int8x16_t y1 = vld1q_s8(x1);
        a10 = vmladavaq_s8(a10, y1, v0);
        SG_MVE_ORDER();
        const int8x16_t y2 = vld1q_s8(x2);
        a11 = vmladavaq_s8(a11, y1, v1);
        a20 = vmladavaq_s8(a20, y2, v0);
        a21 = vmladavaq_s8(a21, y2, v1);
        w0 += 16;
        w1 += 16;
        x0 += 16;
        x1 += 16;
        x2 += 16;
    }
    if (tail && (n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        const int8x16_t v0 = vldrbq_z_s8(w0, p);
        const int8x16_t v1 = vldrbq_z_s8(w1, p);
        const int8x16_t y0 = vldrbq_z_s8(x0, p);
        const int8x16_t y1 = vldrbq_z_s8(x1, p);
        const int8x16_t y2 = vldrbq_z_s8(x2, p);
        a00 = vmladavaq_s8(a00, y0, v0);
        a10 = vmladavaq_s8(a10, y1, v0);
        a20 = vmladavaq_s8(a20, y2, v0);
        a01 = vmladavaq_s8(a01, y0, v1);
        a11 = vmladavaq_s8(a11, y1, v1);
        a21 = vmladavaq_s8(a21, y2, v1);
    }
    acc.a00 = a00;
    acc.a10 = a10;
    acc.a20 = a20;
    acc.a01 = a01;
    acc.a11 = a11;
    acc.a21 = a21;
    return acc;
}

/* The requantized outputs of three pixels of one channel, stored at out + j * out_step. */
static inline void sg_mve_store3(int32_t a0, int32_t a1, int32_t a2, const sg_mve_channel *ch,
                                 const sg_mve_out_stage *st, int8_t *out, uint32x4_t out_offsets)
{
    int32x4_t acc = vdupq_n_s32(a0);
    acc = vsetq_lane_s32(a1, acc, 1);
    acc = vsetq_lane_s32(a2, acc, 2);
    vstrbq_scatter_offset_p_s32(out, out_offsets, sg_mve_requant_channel(acc, ch, st),
                                vctp32q(3u));
}

/* The constants of output channel o, acc0 given. */
static inline sg_mve_channel sg_mve_rq_channel(const sg_requant *rq, int32_t o, int32_t acc0)
{
    sg_mve_channel ch;
    ch.acc0 = acc0;
    ch.mult = rq->mult[o];
    ch.left = sg_max_s32(rq->shift[o], 0);
    ch.right = sg_max_s32(-rq->shift[o], 0);
    return ch;
}

/* Output channels o and o + 1 (o + 1 < channels, or o alone as the last of an odd count) of a
 * run of n >= 3 rows of K int8 at x + j * x_step, three rows at a time; row j's outputs at
 * out + j * out_step. acc0_c = bias + in_offset * sum(w) of channel o + c. A run that is not a
 * multiple of 3 ends with a tile overlapping the one before (computed twice, identically). */
static inline void sg_mve_run_pair(const int8_t *x, int32_t x_step, int32_t n, int32_t k,
                                   const int8_t *weights, int32_t acc0_0, int32_t acc0_1,
                                   int32_t o, int32_t channels, const sg_requant *rq,
                                   const sg_mve_out_stage *st, int8_t *out, int32_t out_step,
                                   int tail)
{
    const uint32x4_t out_offsets = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)out_step);
    const int pair = o + 1 < channels;
    const int8_t *w0 = weights + o * k;
    const int8_t *w1 = pair ? w0 + k : w0;
    const sg_mve_channel c0 = sg_mve_rq_channel(rq, o, acc0_0);
    const sg_mve_channel c1 = sg_mve_rq_channel(rq, pair ? o + 1 : o, acc0_1);
    int32_t j = 0;
    for (;;) {
        sg_mve_acc3x2 a = {c0.acc0, c0.acc0, c0.acc0, c1.acc0, c1.acc0, c1.acc0};
        a = sg_mve_dot_3x2(a, x + j * x_step, x_step, w0, w1, k, tail);
        int8_t *outj = out + j * out_step + o;
        sg_mve_store3(a.a00, a.a10, a.a20, &c0, st, outj, out_offsets);
        if (pair) {
            sg_mve_store3(a.a01, a.a11, a.a21, &c1, st, outj + 1, out_offsets);
        }
        if (j == n - 3) {
            break;
        }
        j = sg_min_s32(j + 3, n - 3);
    }
}

/* sum(w[i]), i < n. */
static inline int32_t sg_mve_sum(int32_t s, const int8_t *w, int32_t n)
{
    for (int32_t i = n >> 4; i > 0; --i) {
        s = vaddvaq_s8(s, vld1q_s8(w));
        w += 16;
    }
    if ((n & 15) != 0) {
        s = vaddvaq_s8(s, vldrbq_z_s8(w, vctp8q((uint32_t)(n & 15))));
    }
    return s;
}

/* The part of a filter one output pixel reads: rows x cols segments of len contiguous bytes,
 * segment (r, c) at x + r * x_row + c * x_col in the input and w + r * w_row + c * w_col in each
 * output channel's weights (w_o = weights + o * w_channel). An fc is one segment of K bytes; a
 * conv window with dilation_w 1 is one segment per in-input row of x.count * C_in bytes. */
typedef struct {
    int32_t rows, cols, len;
    int32_t x_row, x_col;
    int32_t w_row, w_col;
    int32_t w_channel;
} sg_mve_taps;

/* bias + in_offset * sum(w) + sum(x * w) on four lanes, in wrapping arithmetic. */
static inline int32x4_t sg_mve_finish_acc(int32x4_t dot, int32x4_t wsum, int32x4_t bias,
                                          int32_t in_offset)
{
    return vaddq_s32(vmlaq_n_s32(dot, wsum, in_offset), bias);
}

/* out[o] for every o < channels of one output pixel whose taps start at x. */
static inline void sg_mve_pixel(const int8_t *x, const sg_mve_taps *t, const int8_t *weights,
                                const int32_t *bias, int32_t channels, const sg_requant *rq,
                                const sg_mve_out_stage *st, int8_t *out)
{
    for (int32_t o = 0; o < channels; o += 4) {
        const int32_t n_out = sg_min_s32(channels - o, 4);
        const int8_t *w = weights + o * t->w_channel;
        /* A group of fewer than 4 channels repeats its last row; those lanes are not stored. */
        const int8_t *w1 = n_out > 1 ? w + t->w_channel : w;
        const int8_t *w2 = n_out > 2 ? w + 2 * t->w_channel : w1;
        const int8_t *w3 = n_out > 3 ? w + 3 * t->w_channel : w2;
        sg_mve_acc1x2 lo = {0, 0, 0, 0};
        sg_mve_acc1x2 hi = {0, 0, 0, 0};
        for (int32_t r = 0; r < t->rows; ++r) {
            for (int32_t c = 0; c < t->cols; ++c) {
                const int32_t xo = r * t->x_row + c * t->x_col;
                const int32_t wo = r * t->w_row + c * t->w_col;
                lo = sg_mve_dot_1x2(lo, x + xo, w + wo, w1 + wo, t->len);
                if (n_out > 2) {
                    hi = sg_mve_dot_1x2(hi, x + xo, w2 + wo, w3 + wo, t->len);
                }
            }
        }
        const mve_pred16_t p = vctp32q((uint32_t)n_out);
        int32x4_t dot = vdupq_n_s32(lo.a0);
        dot = vsetq_lane_s32(lo.a1, dot, 1);
        dot = vsetq_lane_s32(hi.a0, dot, 2);
        dot = vsetq_lane_s32(hi.a1, dot, 3);
        int32x4_t wsum = vdupq_n_s32(lo.s0);
        wsum = vsetq_lane_s32(lo.s1, wsum, 1);
        wsum = vsetq_lane_s32(hi.s0, wsum, 2);
        wsum = vsetq_lane_s32(hi.s1, wsum, 3);
        const int32x4_t b = bias != NULL ? vldrwq_z_s32(bias + o, p) : vdupq_n_s32(0);
        const int32x4_t acc = sg_mve_finish_acc(dot, wsum, b, rq->in_offset);
        const int32x4_t v =
            sg_mve_requant_output(acc, vldrwq_z_s32(rq->mult + o, p),
                                  sg_mve_shift_of(vldrwq_z_s32(rq->shift + o, p)), st);
        vstrbq_p_s32(out + o, v, p);
    }
}

/* Four rows of K int8 at x + j * x_step (j < 4) times every output channel's K weights: output
 * pixel j, channel o at out + j * out_step + o. Rows are complete (padding already holds the
 * input zero point), so acc0[o] = bias + in_offset * sum(w) over the whole filter. */
static inline void sg_mve_tile4_all(const int8_t *x, int32_t x_step, int32_t k,
                                    const int8_t *weights, const int32_t *acc0, int32_t channels,
                                    const sg_requant *rq, const sg_mve_out_stage *st, int8_t *out,
                                    int32_t out_step, int tail)
{
    const uint32x4_t out_offsets = vmulq_n_u32(vidupq_n_u32(0u, 1), (uint32_t)out_step);
    const int8_t *w = weights;
    for (int32_t o = 0; o < channels; ++o, w += k) {
        sg_mve_acc4x1 a = {acc0[o], acc0[o], acc0[o], acc0[o]};
        a = sg_mve_dot_4x1(a, x, x_step, w, k, tail);
        const sg_mve_channel ch = sg_mve_rq_channel(rq, o, acc0[o]);
        int32x4_t acc = vdupq_n_s32(a.a0);
        acc = vsetq_lane_s32(a.a1, acc, 1);
        acc = vsetq_lane_s32(a.a2, acc, 2);
        acc = vsetq_lane_s32(a.a3, acc, 3);
        vstrbq_scatter_offset_s32(out + o, out_offsets, sg_mve_requant_channel(acc, &ch, st));
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_DOT_MVE_H */
