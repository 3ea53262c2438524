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

/* The per-call constants of an output stage. The offset is added with a saturating VQADD
 * before the clamp: where v + out_offset does not saturate that equals sg_offset_clamp_s8's
 * clamp-then-add, and where it saturates (|v| near 2^31) both give the clamp bound. */
typedef struct {
    int32x4_t min; /* act_min */
    int32x4_t max; /* act_max */
    int32_t off;   /* out_offset */
} sg_mve_out_stage;

static inline sg_mve_out_stage sg_mve_out_stage_of(const sg_requant *rq)
{
    sg_mve_out_stage s;
    s.min = vdupq_n_s32(rq->act_min);
    s.max = vdupq_n_s32(rq->act_max);
    s.off = rq->out_offset;
    return s;
}

static inline int32x4_t sg_mve_offset_clamp(int32x4_t v, const sg_mve_out_stage *s)
{
    return vminq_s32(vmaxq_s32(vqaddq_n_s32(v, s->off), s->min), s->max);
}

/* A shift split as sg_requantize does: left = max(shift, 0) and right = min(shift, 0), the
 * negative count by which VRSHL shifts right. */
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

/* sg_requantize(acc, mult, shift) per lane, per-lane multipliers and shifts; shift in
 * [-31, 30], mult in [0, 2^31). */
static inline int32x4_t sg_mve_requantize(int32x4_t acc, int32x4_t mult, sg_mve_shift sh)
{
    const int32x4_t y = vqrdmulhq_s32(vshlq_s32(acc, sh.left), mult);
    /* -1 where y < 0 and n > 0: the sign bit of y & -n. */
    const int32x4_t fix = vshrq_n_s32(vandq_s32(y, sh.right), 31);
    return vrshlq_s32(vqaddq_s32(y, fix), sh.right);
}

/* sg_mve_requantize when every lane's shift is <= 0 (right = shift): no left shift, and the
 * tie fix is 0 where right = 0, as there. */
static inline int32x4_t sg_mve_requantize_right(int32x4_t acc, int32x4_t mult, int32x4_t right)
{
    const int32x4_t y = vqrdmulhq_s32(acc, mult);
    const int32x4_t fix = vshrq_n_s32(vandq_s32(y, right), 31);
    return vrshlq_s32(vqaddq_s32(y, fix), right);
}

/* The int8 outputs of four accumulators, each still in an int32 lane. */
static inline int32x4_t sg_mve_requant_output(int32x4_t acc, int32x4_t mult, sg_mve_shift sh,
                                              const sg_mve_out_stage *s)
{
    return sg_mve_offset_clamp(sg_mve_requantize(acc, mult, sh), s);
}

/* One output channel's constants as scalars (the instructions take them from a general
 * register, which leaves the vector registers to the loops). */
typedef struct {
    int32_t acc0;  /* added to every accumulator: bias + in_offset * sum(w) */
    int32_t mult;  /* Q31 */
    int32_t left;  /* max(shift, 0) */
    int32_t right; /* max(-shift, 0) */
} sg_mve_channel;

static inline int32x4_t sg_mve_requant_channel(int32x4_t acc, const sg_mve_channel *ch,
                                               const sg_mve_out_stage *s)
{
    int32x4_t y = vqrdmulhq_n_s32(vshlq_r_s32(acc, ch->left), ch->mult);
    if (ch->right > 0) {
        /* As in sg_mve_requantize: negative values one lower, then round ties up. */
        y = vrshlq_n_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), -ch->right);
    }
    return sg_mve_offset_clamp(y, s);
}

#endif /* SG_HAS_MVE */

#endif /* SG_REQUANT_MVE_H */
