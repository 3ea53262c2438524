/* sg_softmax_s8: int8 softmax over the last axis, the TFLite reference / CMSIS-NN arm_softmax_s8
 * algorithm bit for bit: gemmlowp fixed-point exp and reciprocal, output scale 1/256, zero point
 * -128. Reference: compiler/slimgen/ref/softmax.py softmax().
 *
 * Fixed-point formats below are written Qi.f: i integer bits, f = 31 - i fraction bits in int32.
 */
#include "sg_kernels.h"

#include "../sg_requant.h"

/* The scaled input differences are Q5.26 (TFLite's kScaledDiffIntegerBits): diffs down to -31
 * after scaling fit, and exp(-31) is far below anything that matters. */
#define SCALED_DIFF_INTEGER_BITS 5
/* exp values are summed in Q12.19, so up to 4095 terms of at most 1.0 cannot overflow. */
#define ACCUM_INTEGER_BITS 12
#define MAX_DEPTH ((1 << ACCUM_INTEGER_BITS) - 1)

int32_t sg_softmax_s8_scratch_size(const sg_softmax_s8_params *p)
{
    (void)p;
    return 0;
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent: x * 2^exponent clamped. */
static int32_t saturating_shift_left(int32_t x, int32_t exponent)
{
    const int64_t v = (int64_t)x * ((int64_t)1 << exponent);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8 to fourth order.
 * The constants are round(2^31 exp(-1/8)) and round(2^31 / 3). */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;
    const int32_t one_third = 715827883;
    const int32_t x = a + (1 << 28); /* a + 1/8 */
    const int32_t x2 = sg_srdhm(x, x);
    const int32_t x3 = sg_srdhm(x2, x);
    const int32_t x4 = sg_srdhm(x2, x2);
    const int32_t x4_over_4 = sg_rounding_divide_by_pot(x4, 2);
    const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
        sg_rounding_divide_by_pot(sg_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth +
           sg_srdhm(exp_minus_one_eighth, x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

/* exp(a) for a <= 0, a in Q5.26, result in Q0.31 (gemmlowp exp_on_negative_values). a is split
 * into a part in [-1/4, 0) computed by the polynomial, and a multiple of -1/4 whose set bits each
 * multiply in a constant exp(-2^k) = round(2^31 exp(-2^k)) / 2^31. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t exp_minus_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242,        /* exp(-16) */
    };
    const int32_t fraction_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fraction_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    /* Q5.26 -> Q0.31 of a value in [-1/4, 0): an exact multiply by 2^5 (a left shift of a
     * negative number would be UB). */
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        a_mod_quarter_minus_one_quarter * (1 << SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int32_t k = 0; k < 7; ++k) {
        if (remainder & (1 << (fraction_bits - 2 + k))) {
            result = sg_srdhm(result, exp_minus_pow2[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (gemmlowp one_over_one_plus_x_for_x_in_0_1):
 * three Newton-Raphson steps on the half denominator d = (1 + a) / 2 in Q2.29, from the start
 * 48/17 - 32/17 d. */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t q2_one = 1 << 29;
    const int32_t constant_48_over_17 = 1515870810;
    const int32_t constant_neg_32_over_17 = -1010580540;
    /* gemmlowp RoundingHalfSum(a, 1.0): both are non-negative, so it is (a + 2^31 - 1 + 1) / 2. */
    const int32_t half_denominator = (int32_t)(((int64_t)a + INT32_MAX + 1) / 2);
    int32_t x = constant_48_over_17 + sg_srdhm(half_denominator, constant_neg_32_over_17);
    for (int32_t i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = sg_srdhm(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = q2_one - half_denominator_times_x;
        /* Q2.29 * Q2.29 is Q4.27; back to Q2.29 is a saturating doubling, twice. */
        x = x + saturating_shift_left(sg_srdhm(x, one_minus_half_denominator_times_x), 2);
    }
    /* x / 2 read as Q1.30, then rescaled to Q0.31. */
    return saturating_shift_left(x, 1);
}

/* exp of one input difference (x - row max), or -1 when it is below diff_min and counts as 0. */
static int32_t exp_of_diff(const sg_softmax_s8_params *p, int32_t diff)
{
    /* TFLite's MultiplyByQuantizedMultiplierGreaterThanOne; diff * 2^left_shift cannot overflow
     * once diff >= diff_min (sg_softmax_s8 checks diff_min against left_shift). */
    return sg_requantize(diff, p->mult, p->left_shift);
}

static void softmax_row_portable(const sg_softmax_s8_params *p, const int8_t *in, int8_t *out)
{
    const int32_t depth = p->depth;
    int8_t max = in[0];
    for (int32_t i = 1; i < depth; ++i) {
        max = in[i] > max ? in[i] : max;
    }

    /* Every term is exp(...) in Q0.31 rescaled to Q12.19; the max itself contributes 1.0, so
     * the sum is at least 2^19 and at most depth * 2^19 < 2^31. */
    int32_t sum_of_exps = 0;
    for (int32_t i = 0; i < depth; ++i) {
        const int32_t diff = (int32_t)in[i] - max;
        if (diff >= p->diff_min) {
            const int32_t e = exp_on_negative_values(exp_of_diff(p, diff));
            sum_of_exps += sg_rounding_divide_by_pot(e, ACCUM_INTEGER_BITS);
        }
    }

    /* TFLite's GetReciprocal: normalize the sum to [1, 2) as 1 + x with x in Q0.31, invert, and
     * remember the power of two taken out. */
    const int32_t headroom_plus_one = sg_clz_u32((uint32_t)sum_of_exps);
    const int32_t num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - 0x80000000u);
    const int32_t shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
    /* From Q0.31 probability to the 8-bit output: scale 2^-8, so divide by 2^(31 - 8), and by
     * the 2^num_bits_over_unit left out of the reciprocal. */
    const int32_t out_exponent = num_bits_over_unit + 31 - 8;

    for (int32_t i = 0; i < depth; ++i) {
        const int32_t diff = (int32_t)in[i] - max;
        int32_t v = -128;
        if (diff >= p->diff_min) {
            const int32_t e = exp_on_negative_values(exp_of_diff(p, diff));
            const int32_t prob = sg_srdhm(shifted_scale, e);
            /* Exponents past 31 occur only for sums >= 2^28 (rows of 512+ near-equal values);
             * TFLite shifts by them (UB). prob >= 0 and prob / 2^32 < 1/2, which rounds to 0. */
            v = (out_exponent > 31 ? 0 : sg_rounding_divide_by_pot(prob, out_exponent)) - 128;
        }
        out[i] = sg_clamp_to_s8(v, -128, 127);
    }
}

sg_status sg_softmax_s8(const sg_softmax_s8_params *p,
                        const int8_t *input,
                        int8_t *output,
                        sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(p->rows > 0 && p->depth > 0 && p->depth <= MAX_DEPTH &&
                   (int64_t)p->rows * p->depth <= INT32_MAX,
               SG_ERR_ARG);
    SG_REQUIRE(p->mult >= 0 && p->left_shift >= 0 && p->left_shift <= 30, SG_ERR_ARG);
    /* diff_min = -CalculateInputRadius(5, left_shift) satisfies this: every diff that gets scaled
     * fits int32 after the left shift. */
    SG_REQUIRE(p->diff_min <= 0 && p->diff_min >= -(INT32_MAX >> p->left_shift), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_softmax_s8_scratch_size(p)), SG_ERR_SCRATCH);

    for (int32_t r = 0; r < p->rows; ++r) {
        softmax_row_portable(p, input + r * p->depth, output + r * p->depth);
    }
    return SG_OK;
}
