/* slimgen kernel internals: the one rounding.
 *
 * sg_requantize() is TFLite's MultiplyByQuantizedMultiplier and CMSIS-NN's default
 * (double-rounding) arm_nn_requantize, bit for bit; compiler/slimgen/ref/requant.py mirrors it
 * and tests/unit/test_requant.py checks both against Python big-int arithmetic.
 *
 * Written to be free of undefined behaviour for every int32 input and shift in [-31, 30], so
 * UBSan stays quiet even on the edge cases TFLite leaves undefined (left-shift overflow).
 */
#ifndef SG_REQUANT_H
#define SG_REQUANT_H

#include <stdint.h>

#include "sg_common.h"

/* Reinterpret the bits of u as two's complement. A plain (int32_t) cast of a value above
 * INT32_MAX is implementation-defined in C99; this is defined everywhere and compiles to
 * nothing. */
static inline int32_t sg_wrap_s32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties towards +infinity.
 * gemmlowp adds a sign-dependent nudge (2^30 or 1 - 2^30) and divides truncating; for negative
 * products trunc((ab + 1 - 2^30) / 2^31) == floor((ab + 2^30) / 2^31), so one nudge and an
 * arithmetic shift compute the same function (SMULL, ADDS/ADC, shift on Cortex-M). */
static inline int32_t sg_srdhm(int32_t a, int32_t b)
{
    /* The only product whose rounded high half, 2^31, does not fit. */
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero.
 * exponent in [0, 31]; the mask is built in uint32 because (1 << 31) - 1 overflows int32. */
static inline int32_t sg_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* acc * mult * 2^shift / 2^31 with double rounding. shift in [-31, 30], > 0 = left shift.
 * TFLite computes acc * (1 << left_shift) in int32 and overflows (UB) on large acc; here the
 * shift wraps modulo 2^32 (what LSL does on Cortex-M), so results agree wherever TFLite is defined
 * and stay defined elsewhere. */
static inline int32_t sg_requantize(int32_t acc, int32_t mult, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t scaled = sg_wrap_s32((uint32_t)acc << left_shift);
    return sg_rounding_divide_by_pot(sg_srdhm(scaled, mult), right_shift);
}

/* clamp(v + out_offset, act_min, act_max) without the int32 overflow of v + out_offset when v is
 * near INT32_MAX (possible with shift = 30): clamp v to the shifted bounds, then add. lo and hi are
 * act_min - out_offset and act_max - out_offset, computed once per kernel call. */
static inline int8_t sg_offset_clamp_s8(int32_t v, int32_t out_offset, int32_t lo, int32_t hi)
{
    return (int8_t)(sg_min_s32(sg_max_s32(v, lo), hi) + out_offset);
}

/* The documented ranges of an int8 output stage (sg_types.h). */
static inline int sg_output_stage_ok(int32_t out_offset, int32_t act_min, int32_t act_max)
{
    return out_offset >= -128 && out_offset <= 127 && act_min >= -128 && act_min <= act_max &&
           act_max <= 127;
}

static inline int sg_mult_shift_ok(int32_t mult, int32_t shift)
{
    return mult >= 0 && shift >= -31 && shift <= 30;
}

/* Every documented range of an sg_requant with `channels` per-channel entries. The loop is
 * O(C_out), negligible next to the kernel, and it is what keeps the shifts well defined. */
static inline int sg_requant_ok(const sg_requant *rq, int32_t channels)
{
    if (rq->mult == NULL || rq->shift == NULL || rq->in_offset < -127 || rq->in_offset > 128 ||
        !sg_output_stage_ok(rq->out_offset, rq->act_min, rq->act_max)) {
        return 0;
    }
    for (int32_t c = 0; c < channels; ++c) {
        if (!sg_mult_shift_ok(rq->mult[c], rq->shift[c])) {
            return 0;
        }
    }
    return 1;
}

/* The output stage of conv, depthwise conv and fc for channel c. */
static inline int8_t sg_requant_output(int32_t acc, const sg_requant *rq, int32_t c)
{
    const int32_t v = sg_requantize(acc, rq->mult[c], rq->shift[c]);
    return sg_offset_clamp_s8(v, rq->out_offset, rq->act_min - rq->out_offset,
                              rq->act_max - rq->out_offset);
}

#endif /* SG_REQUANT_H */
