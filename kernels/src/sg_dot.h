/* slimgen kernel internals: the dot products of conv, 1x1 conv and fc.
 *
 * The portable loops (sg_dot_offset_s8, sg_fc_vector) are the reference. Beside them, behind
 * SG_HAS_DSP, the Cortex-M DSP matrix products the same kernels use on M4 / M7 / M33: rows of
 * int8 activations times rows of int8 weights, both contiguous along the reduction axis K, in
 * register tiles of 1x4 (one activation row, fc) and 2x2 (two pixels x two channels, 1x1 and
 * im2col conv).
 */
#ifndef SG_DOT_H
#define SG_DOT_H

#include <stdint.h>

/* GCC's first scheduling pass (on at -O2 and -O3) hoists the weight loads of a whole register
 * tile to the top of the loop, to pair them on the M4's load pipeline, and then runs out of
 * registers and spills accumulators to the stack in every iteration: the 1x4 fc loop grew
 * from 26 to 32 instructions. Without the pass the loops keep every accumulator in registers.
 * Only for the real DSP cores, only for GCC (Clang has no such pragma and does not need it),
 * and only the files that include this header. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_DSP) &&                     \
    !defined(SG_EMULATE_DSP)
#pragma GCC optimize("no-schedule-insns")
#endif

#include "sg_arch.h"
#include "sg_requant.h"

/* A _scratch_size result: bytes, 0 for a non-positive count, and INT32_MAX (a size no caller
 * can offer, so the kernel answers SG_ERR_SCRATCH) when the count does not fit int32. Shapes
 * are validated after the size is asked for, so the arithmetic is int64 here. */
static inline int32_t sg_scratch_bytes(int64_t bytes)
{
    return bytes <= 0 ? 0 : (bytes > INT32_MAX ? INT32_MAX : (int32_t)bytes);
}

/* int32 words of one activation row of k taps widened by the DSP paths (sg_dsp_widen): two
 * per 4-tap group, one per tap after the last group. The _scratch_size functions report it on
 * every ISA, so a memory plan does not depend on the core. */
static inline int64_t sg_widened_words(int64_t k)
{
    return (k >> 2) * 2 + (k & 3);
}

/* sum((x[i] + x_offset) * w[i]). Each term is at most 255 * 128 in magnitude; the caller
 * guarantees (and ref/ asserts) that bias plus all terms fits in int32. */
static inline int32_t sg_dot_offset_s8(const int8_t *x, const int8_t *w, int32_t n,
                                       int32_t x_offset)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += ((int32_t)x[i] + x_offset) * (int32_t)w[i];
    }
    return acc;
}

/* out[o] = requant(bias[o] + sum_i (x[i] + in_offset) * weights[o][i]) for o < channels:
 * one fc layer, or one pixel of a 1x1 convolution. bias may be NULL. */
static inline void sg_fc_vector(const int8_t *x, const int8_t *weights, const int32_t *bias,
                                int32_t k, int32_t channels, const sg_requant *rq, int8_t *out)
{
    for (int32_t o = 0; o < channels; ++o) {
        const int32_t acc = (bias != NULL ? bias[o] : 0) +
                            sg_dot_offset_s8(x, weights + o * k, k, rq->in_offset);
        out[o] = sg_requant_output(acc, rq, o);
    }
}

#if SG_HAS_DSP
/* ---- DSP matrix products ------------------------------------------------------------------
 * Activations are widened once to int16, in_offset added, into caller scratch (sg_dsp_widen);
 * weights are widened in the inner loop. A step of 4 taps loads 4 weight bytes w0..w3 (one
 * unaligned LDR) and splits them with SXTB16 into (w0, w2) and SXTB16 ROR 8 into (w1, w3). The
 * widened activations are stored in the same split order, (x0, x2) then (x1, x3), so each pair
 * is one LDR and two SMLAD add the 4 products with no PKHBT reordering.
 * Ranges: x + in_offset is in [-255, 255] and w in [-128, 127], so no halfword wraps; the caller
 * guarantees (ref/ checks) that bias plus any partial sum fits int32, so SMLAD never wraps.
 * Tiles share loads: 1x4 (fc) reads the activation pair once for 4 weight rows; 2x2 (1x1 and
 * im2col conv) reads each weight word once for 2 pixels. */


/* dst = a + in_offset widened to halfwords, two per int32 word: each group of 4 taps as the
 * words (x0, x2) and (x1, x3); then the k % 4 taps after the last group, one per word.
 * Word-typed and word-aligned, so the loops read a group's two words with one LDRD. */
static inline void sg_dsp_widen(const int8_t *a, int32_t k, int32_t offset, int32_t *dst)
{
    const int32_t offset2 = sg_dup16(offset);
    for (int32_t i = k >> 2; i > 0; --i) {
        const int32_t x = sg_read_s8x4(a);
        dst[0] = sg_sxtab16(offset2, x);
        dst[1] = sg_sxtab16_ror8(offset2, x);
        a += 4;
        dst += 2;
    }
    for (int32_t i = 0; i < (k & 3); ++i) {
        dst[i] = a[i] + offset;
    }
}

/* Two activation rows a0, a1 of k taps (two pixels) widened as sg_dsp_widen, interleaved by
 * group: a0's group, a1's group, a0's next group, ...; then a0's k % 4 tail, then a1's. One
 * pointer then walks both rows, which keeps the 2x2 loop inside the registers. */
static inline void sg_dsp_widen2(const int8_t *a0, const int8_t *a1, int32_t k, int32_t offset,
                                 int32_t *dst)
{
    const int32_t offset2 = sg_dup16(offset);
    for (int32_t i = k >> 2; i > 0; --i) {
        const int32_t x0 = sg_read_s8x4(a0);
        const int32_t x1 = sg_read_s8x4(a1);
        dst[0] = sg_sxtab16(offset2, x0);
        dst[1] = sg_sxtab16_ror8(offset2, x0);
        dst[2] = sg_sxtab16(offset2, x1);
        dst[3] = sg_sxtab16_ror8(offset2, x1);
        a0 += 4;
        a1 += 4;
        dst += 4;
    }
    const int32_t rest = k & 3;
    for (int32_t i = 0; i < rest; ++i) {
        dst[i] = a0[i] + offset;
        dst[rest + i] = a1[i] + offset;
    }
}

/* acc + the 4 products of one widened activation group (x_even, x_odd) and 4 weight bytes at w. */
static inline int32_t sg_dsp_mac4(int32_t x_even, int32_t x_odd, const int8_t *w, int32_t acc)
{
    const int32_t wv = sg_read_s8x4(w);
    acc = sg_smlad(x_even, sg_sxtb16(wv), acc);
    return sg_smlad(x_odd, sg_sxtb16_ror8(wv), acc);
}

/* The k % 4 taps a 4-tap loop leaves over, one MAC each. */
static inline int32_t sg_dsp_tail(const int32_t *x, const int8_t *w, int32_t n, int32_t acc)
{
    for (int32_t i = 0; i < n; ++i) {
        acc += x[i] * (int32_t)w[i];
    }
    return acc;
}

/* The output stage of the DSP paths: sg_requant_output's result, in fewer instructions.
 * - mult >= 0 (sg_requant_ok), so the high multiply never meets SRDHM's one saturating input
 *   pair (INT32_MIN * INT32_MIN) and needs no test for it;
 * - clamp(y, act_min - out_offset, act_max - out_offset) + out_offset equals
 *   clamp(ssat8(qadd(y, out_offset)), act_min, act_max): if y + out_offset fits int32 both are
 *   clamp(y + out_offset, act_min, act_max), since [act_min, act_max] lies inside [-128, 127];
 *   if it does not, QADD saturates and both give the bound on that side. */
typedef struct {
    int32_t out_offset;
    int32_t act_min;
    int32_t act_max;
} sg_dsp_out_stage;

static inline sg_dsp_out_stage sg_dsp_out_stage_of(const sg_requant *rq)
{
    sg_dsp_out_stage o;
    o.out_offset = rq->out_offset;
    o.act_min = rq->act_min;
    o.act_max = rq->act_max;
    return o;
}

/* max(v, 0) as BIC v, v, ASR #31: GCC compiles the conditional forms of the two shift amounts
 * into a branch per output (two taken branches on the per-tensor fc path), and a mask built
 * from (v < 0) into more instructions than the branch saves. The right shift of a negative
 * value is arithmetic on every compiler slimgen supports (sg_common.h refuses to build
 * otherwise). */
static inline int32_t sg_dsp_pos(int32_t v)
{
    /* cppcheck-suppress shiftTooManyBitsSigned */
    return v & ~(v >> 31);
}

static inline int8_t sg_dsp_requant(int32_t acc, int32_t mult, int32_t shift, sg_dsp_out_stage st)
{
    const int32_t left = sg_dsp_pos(shift);
    const int32_t right = sg_dsp_pos(-shift);
    const int32_t v = sg_wrap_s32((uint32_t)acc << left);
    const int32_t high = sg_mulh_q31_round(v, mult);
    const int32_t y = sg_ssat8(sg_qadd(sg_rounding_divide_by_pot(high, right), st.out_offset));
    return (int8_t)sg_min_s32(sg_max_s32(y, st.act_min), st.act_max);
}

static inline int sg_dsp_full_range(sg_dsp_out_stage st)
{
    return st.act_min == -128 && st.act_max == 127;
}

/* One 4-tap step of the 1x4 tile: activations at x, weight rows at w0..w3. */
static inline void sg_dsp_step_1x4(const int32_t *x, const int8_t *w0, const int8_t *w1,
                                   const int8_t *w2, const int8_t *w3, int32_t *s0, int32_t *s1,
                                   int32_t *s2, int32_t *s3)
{
    const int32_t xe = x[0];
    const int32_t xo = x[1];
    *s0 = sg_dsp_mac4(xe, xo, w0, *s0);
    *s1 = sg_dsp_mac4(xe, xo, w1, *s1);
    *s2 = sg_dsp_mac4(xe, xo, w2, *s2);
    *s3 = sg_dsp_mac4(xe, xo, w3, *s3);
}

/* acc[r] = bias[r] (0 if bias is NULL) + dot(x, w + r * k) for the 4 weight rows r < 4; x
 * widened by sg_dsp_widen. The loop does 16 taps per iteration, with immediate offsets from one
 * pointer per row, to cut its pointer and branch overhead to a quarter. */
static inline void sg_dsp_dot_1x4(const int32_t *x, const int8_t *w, int32_t k,
                                  const int32_t *bias, int32_t acc[4])
{
    const int8_t *w0 = w;
    const int8_t *w1 = w0 + k;
    const int8_t *w2 = w1 + k;
    const int8_t *w3 = w2 + k;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (bias != NULL) {
        s0 = bias[0];
        s1 = bias[1];
        s2 = bias[2];
        s3 = bias[3];
    }
    for (int32_t i = k >> 4; i > 0; --i) {
        /* Written out: GCC -O2 (the firmware's level) does not unroll a j < 4 loop here. */
        sg_dsp_step_1x4(x, w0, w1, w2, w3, &s0, &s1, &s2, &s3);
        sg_dsp_step_1x4(x + 2, w0 + 4, w1 + 4, w2 + 4, w3 + 4, &s0, &s1, &s2, &s3);
        sg_dsp_step_1x4(x + 4, w0 + 8, w1 + 8, w2 + 8, w3 + 8, &s0, &s1, &s2, &s3);
        sg_dsp_step_1x4(x + 6, w0 + 12, w1 + 12, w2 + 12, w3 + 12, &s0, &s1, &s2, &s3);
        x += 8;
        w0 += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
    }
    for (int32_t i = (k >> 2) & 3; i > 0; --i) {
        sg_dsp_step_1x4(x, w0, w1, w2, w3, &s0, &s1, &s2, &s3);
        x += 2;
        w0 += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
    const int32_t rest = k & 3;
    acc[0] = sg_dsp_tail(x, w0, rest, s0);
    acc[1] = sg_dsp_tail(x, w1, rest, s1);
    acc[2] = sg_dsp_tail(x, w2, rest, s2);
    acc[3] = sg_dsp_tail(x, w3, rest, s3);
}

/* acc + dot(x, w). */
static inline int32_t sg_dsp_dot_1x1(const int32_t *x, const int8_t *w, int32_t k, int32_t acc)
{
    for (int32_t i = k >> 2; i > 0; --i) {
        acc = sg_dsp_mac4(x[0], x[1], w, acc);
        x += 2;
        w += 4;
    }
    return sg_dsp_tail(x, w, k & 3, acc);
}

/* One 4-tap step of the 2x2 tile: the two pixels' groups at x (sg_dsp_widen2), weight rows
 * w0, w1. */
static inline void sg_dsp_step_2x2(const int32_t *x, const int8_t *w0, const int8_t *w1,
                                   int32_t *s00, int32_t *s01, int32_t *s10, int32_t *s11)
{
    /* Loads alternate between the two streams, so none of them pairs into an LDRD: the M4
     * pipelines the address phase of a load under the data phase of the load before it, so
     * four single loads back to back cost 5 cycles where LDR, LDR, LDRD cost 6. */
    const int32_t v0 = sg_read_s8x4(w0);
    int32_t xe = x[0];
    const int32_t v1 = sg_read_s8x4(w1);
    int32_t xo = x[1];
    const int32_t v0e = sg_sxtb16(v0), v0o = sg_sxtb16_ror8(v0);
    const int32_t v1e = sg_sxtb16(v1), v1o = sg_sxtb16_ror8(v1);
    *s00 = sg_smlad(xo, v0o, sg_smlad(xe, v0e, *s00));
    *s01 = sg_smlad(xo, v1o, sg_smlad(xe, v1e, *s01));
    xe = x[2];
    xo = x[3];
    *s10 = sg_smlad(xo, v0o, sg_smlad(xe, v0e, *s10));
    *s11 = sg_smlad(xo, v1o, sg_smlad(xe, v1e, *s11));
}

/* acc[2 * p + r] += dot(pixel p, w + r * k) for the two pixels widened at x by sg_dsp_widen2
 * and weight rows r < 2; 16 taps per iteration, as sg_dsp_dot_1x4. */
static inline void sg_dsp_dot_2x2(const int32_t *x, const int8_t *w, int32_t k, int32_t acc[4])
{
    const int8_t *w0 = w;
    const int8_t *w1 = w + k;
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    for (int32_t i = k >> 4; i > 0; --i) {
        sg_dsp_step_2x2(x, w0, w1, &s00, &s01, &s10, &s11);
        sg_dsp_step_2x2(x + 4, w0 + 4, w1 + 4, &s00, &s01, &s10, &s11);
        sg_dsp_step_2x2(x + 8, w0 + 8, w1 + 8, &s00, &s01, &s10, &s11);
        sg_dsp_step_2x2(x + 12, w0 + 12, w1 + 12, &s00, &s01, &s10, &s11);
        x += 16;
        w0 += 16;
        w1 += 16;
    }
    /* One test for the whole remainder: the three tests below reload k from the stack (the
     * loop above holds every register), about 8 instructions per tile when k % 16 == 0. */
    if ((k & 15) != 0) {
        if (k & 8) {
            sg_dsp_step_2x2(x, w0, w1, &s00, &s01, &s10, &s11);
            sg_dsp_step_2x2(x + 4, w0 + 4, w1 + 4, &s00, &s01, &s10, &s11);
            x += 8;
            w0 += 8;
            w1 += 8;
        }
        if (k & 4) {
            sg_dsp_step_2x2(x, w0, w1, &s00, &s01, &s10, &s11);
            x += 4;
            w0 += 4;
            w1 += 4;
        }
        const int32_t rest = k & 3;
        s00 = sg_dsp_tail(x, w0, rest, s00);
        s01 = sg_dsp_tail(x, w1, rest, s01);
        s10 = sg_dsp_tail(x + rest, w0, rest, s10);
        s11 = sg_dsp_tail(x + rest, w1, rest, s11);
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

/* acc[p] += dot(pixel p, w) for the two pixels widened at x by sg_dsp_widen2: the last weight
 * row when n is odd. */
static inline void sg_dsp_dot_2x1(const int32_t *x, const int8_t *w, int32_t k, int32_t acc[2])
{
    int32_t s0 = acc[0], s1 = acc[1];
    for (int32_t i = k >> 2; i > 0; --i) {
        s0 = sg_dsp_mac4(x[0], x[1], w, s0);
        s1 = sg_dsp_mac4(x[2], x[3], w, s1);
        x += 4;
        w += 4;
    }
    const int32_t rest = k & 3;
    acc[0] = sg_dsp_tail(x, w, rest, s0);
    acc[1] = sg_dsp_tail(x + rest, w, rest, s1);
}

/* sg_mulh_q31_round then sg_rounding_divide_by_pot by e = 1 - s >= 1 (a right shift, so no
 * left shift), in one 64-bit multiply-accumulate and two shifts, k = 2^30 + 2^(30 + e).
 * With P = acc * mult and high = floor((P + 2^30) / 2^31), the rounding division is
 * floor((high + 2^(e-1) - [high < 0]) / 2^e) (remainder > threshold, written as a floor);
 * as high's dropped remainder is below 2^31, that equals
 * floor((P + 2^30 + 2^(30+e) - 2^31 [high < 0]) / 2^(31+e)). [high < 0] is replaced by
 * [acc < 0]: they differ only for -2^30 <= P < 0 (mult >= 0), where both forms are 0 for
 * e >= 1. |P| < 2^62, so the sum fits int64, and 31 + e >= 32 makes the division the high
 * word shifted right by e - 1: SMLAL and ASR instead of about 15 instructions. */
static inline int32_t sg_dsp_scale_down(int32_t acc, int32_t mult, int64_t k, int32_t s)
{
    const int64_t sum = (int64_t)acc * mult + (k - (int64_t)((uint32_t)acc & 0x80000000u));
    return (int32_t)(sum >> 32) >> s;
}

/* k of sg_dsp_scale_down for the right shift e = -shift in [1, 31], built word by word (a
 * 64-bit variable shift is six instructions): 2^(30+e) is bit 31 of the low word for e = 1,
 * else bit e - 2 of the high word; 2^31 << (e - 1) (mod 2^32) and 2^30 >> (32 - e) give both
 * cases without a test. */
static inline int64_t sg_dsp_scale_k(int32_t shift)
{
    const uint32_t hi = 0x40000000u >> (uint32_t)(32 + shift);
    const uint32_t lo = 0x40000000u | (0x80000000u << (uint32_t)(-shift - 1));
    return (int64_t)(((uint64_t)hi << 32) | lo);
}

/* sg_requantize(acc, mult, shift) for mult >= 0 (sg_requant_ok): the left-shift form for
 * shift >= 0, sg_dsp_scale_down for a right shift. */
static inline int32_t sg_dsp_scale(int32_t acc, int32_t mult, int32_t shift)
{
    if (shift < 0) {
        return sg_dsp_scale_down(acc, mult, sg_dsp_scale_k(shift), -shift - 1);
    }
    return sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc << shift), mult);
}

/* The output offset, the int8 range and, unless it is all of int8, the fused activation. */
static inline int8_t sg_dsp_finish(int32_t y, sg_dsp_out_stage st)
{
    const int32_t z = sg_ssat8(sg_qadd(y, st.out_offset));
    return (int8_t)sg_min_s32(sg_max_s32(z, st.act_min), st.act_max);
}

static inline int8_t sg_dsp_finish_full(int32_t y, int32_t out_offset)
{
    return (int8_t)sg_ssat8(sg_qadd(y, out_offset));
}

/* out[o] = the output stage of acc[o], for o < n; a function of its own, as
 * sg_dsp_requant_pairs below. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void sg_dsp_requant_run(const int32_t *acc, const sg_requant *rq, int32_t n, int8_t *out)
{
    const sg_dsp_out_stage st = sg_dsp_out_stage_of(rq);
    const int32_t *mult = rq->mult;
    const int32_t *shift = rq->shift;
    const int32_t *const acc_end = acc + n;
    if (sg_dsp_full_range(st)) {
        for (; acc != acc_end; ++acc, ++mult, ++shift, ++out) {
            *out = sg_dsp_finish_full(sg_dsp_scale(*acc, *mult, *shift), st.out_offset);
        }
        return;
    }
    for (; acc != acc_end; ++acc, ++mult, ++shift, ++out) {
        *out = sg_dsp_finish(sg_dsp_scale(*acc, *mult, *shift), st);
    }
}

/* out[o] = requant(bias[o] + dot(x, w[o])) for o < n: fc, or one pixel of a 1x1 / im2col
 * conv. x widened by sg_dsp_widen; w is [n][k]; bias may be NULL; acc is caller scratch for n
 * int32. As sg_dsp_mat_2xn, the tiles only store their sums and one pass requantizes them. */
static inline void sg_dsp_mat_1xn(const int32_t *x, const int8_t *w, const int32_t *bias,
                                  int32_t k, int32_t n, const sg_requant *rq, int8_t *out,
                                  int32_t *acc)
{
    int32_t *a = acc;
    const int8_t *const w_quads_end = w + (n & ~3) * k;
    for (; w != w_quads_end; w += 4 * k, a += 4) {
        sg_dsp_dot_1x4(x, w, k, bias, a);
        if (bias != NULL) {
            bias += 4;
        }
    }
    for (int32_t r = 0; r < (n & 3); ++r, w += k) {
        a[r] = sg_dsp_dot_1x1(x, w, k, bias != NULL ? bias[r] : 0);
    }
    sg_dsp_requant_run(acc, rq, n, out);
}

/* sg_dsp_scale of acc[0] and acc[1] with one channel's multiplier and shift (k and the shift
 * amounts computed once). */
static inline void sg_dsp_scale_pair(const int32_t *acc, int32_t mult, int32_t shift,
                                     int32_t *y0, int32_t *y1)
{
    if (shift < 0) {
        const int64_t k = sg_dsp_scale_k(shift);
        *y0 = sg_dsp_scale_down(acc[0], mult, k, -shift - 1);
        *y1 = sg_dsp_scale_down(acc[1], mult, k, -shift - 1);
        return;
    }
    *y0 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[0] << shift), mult);
    *y1 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[1] << shift), mult);
}

/* out0[o], out0[o + stride] = the output stage of acc[2o], acc[2o + 1], for o < n. A function
 * of its own (never inlined into the tile loops) with as few live values as possible, so that
 * its small loop gets the registers to itself: inlined, GCC kept its index and pointers on the
 * stack and spent about twice the cycles per output. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void sg_dsp_requant_pairs(const int32_t *acc, const sg_requant *rq, int32_t n,
                                 int8_t *out0, int32_t stride)
{
    const sg_dsp_out_stage st = sg_dsp_out_stage_of(rq);
    const int32_t *mult = rq->mult;
    const int32_t *shift = rq->shift;
    const int32_t *const acc_end = acc + 2 * n;
    if (sg_dsp_full_range(st)) {
        for (; acc != acc_end; acc += 2, ++mult, ++shift, ++out0) {
            int32_t y0, y1;
            sg_dsp_scale_pair(acc, *mult, *shift, &y0, &y1);
            out0[0] = sg_dsp_finish_full(y0, st.out_offset);
            out0[stride] = sg_dsp_finish_full(y1, st.out_offset);
        }
        return;
    }
    for (; acc != acc_end; acc += 2, ++mult, ++shift, ++out0) {
        int32_t y0, y1;
        sg_dsp_scale_pair(acc, *mult, *shift, &y0, &y1);
        out0[0] = sg_dsp_finish(y0, st);
        out0[stride] = sg_dsp_finish(y1, st);
    }
}

/* Two pixels widened at x by sg_dsp_widen2 times every weight row: out0[o] and
 * out0[out_stride + o] for o < n. acc is caller scratch for 2 * n int32.
 * Two passes: the 2x2 tiles only store their sums (acc[2o], acc[2o + 1] = channel o of the
 * two pixels, bias included), then one tight loop requantizes channel by channel, sharing
 * each channel's multiplier and shift between the two pixels. With the output stage inside the
 * tile loop GCC ran out of registers and spilled the loop state around every tile: the two
 * passes cost about half as many cycles per output on 1x1 layers with small C_in. */
static inline void sg_dsp_mat_2xn(const int32_t *x, const int8_t *w, const int32_t *bias,
                                  int32_t k, int32_t n, const sg_requant *rq, int8_t *out0,
                                  int32_t out_stride, int32_t *acc)
{
    int32_t *a = acc;
    const int8_t *const w_pairs_end = w + (n & ~1) * k;
    for (; w != w_pairs_end; w += 2 * k, a += 4) {
        int32_t s[4] = {0, 0, 0, 0};
        if (bias != NULL) {
            s[0] = s[2] = bias[0];
            s[1] = s[3] = bias[1];
            bias += 2;
        }
        sg_dsp_dot_2x2(x, w, k, s);
        a[0] = s[0];
        a[1] = s[2];
        a[2] = s[1];
        a[3] = s[3];
    }
    if (n & 1) {
        const int32_t b = bias != NULL ? bias[0] : 0;
        int32_t s[2] = {b, b};
        sg_dsp_dot_2x1(x, w, k, s);
        a[0] = s[0];
        a[1] = s[1];
    }
    sg_dsp_requant_pairs(acc, rq, n, out0, out_stride);
}
#endif /* SG_HAS_DSP */

#endif /* SG_DOT_H */
