/* slimgen kernel internals (Helium): sg_requant_output() on four int32 lanes at once.
 *
 * Bit for bit the scalar sg_requantize() + sg_offset_clamp_s8() of sg_requant.h, lane by lane:
 * - VSHL by a register amount wraps modulo 2^32 like the scalar uint32 left shift;
 * - VQRDMULH is gemmlowp's SaturatingRoundingDoublingHighMul exactly: (2ab + 2^31) >> 32
 *   = (ab + 2^30) >> 31, saturating only INT32_MIN * INT32_MIN, as sg_srdhm does;
 * - VRSHL by -n adds 2^(n-1) before shifting (in wider precision, no overflow), so it rounds
 *   ties up; RoundingDivideByPOT rounds them away from zero. Subtracting 1 from a negative value
 *   first (saturating, and only when n > 0) moves its ties down and leaves every other value
 *   where it was: with x = q 2^n + r, rounding x - 1 gives q + (r > 2^(n-1)) for r > 0 and q for
 *   r = 0, which is RoundingDivideByPOT's result. (CMSIS-NN's arm_requantize_mve uses the same
 *   identity.)
 * tests/firmware/test_mve_kernels.py checks it against the numpy reference on the emulated M55.
 */
#ifndef SG_REQUANT_MVE_H
#define SG_REQUANT_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include <arm_mve.h>

#include "../sg_requant.h"

/* The per-call constants of an output stage, splatted once. */
typedef struct {
    int32x4_t lo;  /* act_min - out_offset */
    int32x4_t hi;  /* act_max - out_offset */
    int32x4_t off; /* out_offset */
} sg_mve_out_stage;

static inline sg_mve_out_stage sg_mve_out_stage_of(const sg_requant *rq)
{
    sg_mve_out_stage s;
    s.lo = vdupq_n_s32(rq->act_min - rq->out_offset);
    s.hi = vdupq_n_s32(rq->act_max - rq->out_offset);
    s.off = vdupq_n_s32(rq->out_offset);
    return s;
}

/* A shift split as sg_requantize does: left = max(shift, 0) and right = min(shift, 0), the
 * negative count by which VRSHL shifts right. Hoisted out of loops where the shift is fixed. */
typedef struct {
    int32x4_t left;
    int32x4_t right;
} sg_mve_shift;

static inline sg_mve_shift sg_mve_shift_of(int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    sg_mve_shift s;
    s.left = vmaxq_s32(shift, zero);
    s.right = vminq_s32(shift, zero);
    return s;
}

/* sg_requantize(acc, mult, shift) per lane; shift in [-31, 30], mult in [0, 2^31). */
static inline int32x4_t sg_mve_requantize(int32x4_t acc, int32x4_t mult, sg_mve_shift sh)
{
    const int32x4_t y = vqrdmulhq_s32(vshlq_s32(acc, sh.left), mult);
    /* -1 where y < 0 and n > 0: the sign bit of y & -n. */
    const int32x4_t fix = vshrq_n_s32(vandq_s32(y, sh.right), 31);
    return vrshlq_s32(vqaddq_s32(y, fix), sh.right);
}

/* The int8 outputs of four accumulators, each still in an int32 lane. */
static inline int32x4_t sg_mve_requant_output(int32x4_t acc, int32x4_t mult, sg_mve_shift sh,
                                              const sg_mve_out_stage *s)
{
    const int32x4_t v = sg_mve_requantize(acc, mult, sh);
    return vaddq_s32(vminq_s32(vmaxq_s32(v, s->lo), s->hi), s->off);
}

#endif /* SG_HAS_MVE */

#endif /* SG_REQUANT_MVE_H */
