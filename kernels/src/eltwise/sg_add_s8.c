/* sg_add_s8: int8 elementwise add, TFLite's int8 ADD bit for bit.
 * Reference: compiler/slimgen/ref/eltwise.py add(). */
#include "sg_kernels.h"

#include "../sg_arch.h"
#include "../sg_requant.h"

int32_t sg_add_s8_scratch_size(const sg_add_s8_params *p)
{
    (void)p;
    return 0;
}

/* Besides the documented ranges, the ones that keep every int32 step exact, as TFLite assumes:
 * |x + offset| <= 255 < 2^8, so (x + offset) << left_shift fits when left_shift <= 22 with room for
 * the sum of two; the input multipliers are below one (shift <= 0, mult < 2^31), so scaling never
 * grows a value and the sum of the two scaled inputs fits too. */
static sg_status add_check(const sg_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                           const int8_t *output)
{
    SG_REQUIRE(p != NULL && input1 != NULL && input2 != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(p->size > 0 && p->left_shift >= 0 && p->left_shift <= 22, SG_ERR_ARG);
    SG_REQUIRE(p->in1_offset >= -127 && p->in1_offset <= 128, SG_ERR_ARG);
    SG_REQUIRE(p->in2_offset >= -127 && p->in2_offset <= 128, SG_ERR_ARG);
    SG_REQUIRE(sg_mult_shift_ok(p->in1_mult, p->in1_shift) && p->in1_shift <= 0, SG_ERR_ARG);
    SG_REQUIRE(sg_mult_shift_ok(p->in2_mult, p->in2_shift) && p->in2_shift <= 0, SG_ERR_ARG);
    SG_REQUIRE(sg_mult_shift_ok(p->out_mult, p->out_shift), SG_ERR_ARG);
    SG_REQUIRE(sg_output_stage_ok(p->out_offset, p->act_min, p->act_max), SG_ERR_ARG);
    return SG_OK;
}

/* One input brought to the common scale: TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp,
 * which for shift <= 0 is sg_requantize. The left shift is exact by add_check. */
static int32_t add_scaled_input(int8_t x, int32_t offset, int32_t left_shift, int32_t mult,
                                int32_t shift)
{
    return sg_requantize(((int32_t)x + offset) * (1 << left_shift), mult, shift);
}

static void add_portable(const sg_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                         int8_t *output)
{
    const int32_t lo = p->act_min - p->out_offset;
    const int32_t hi = p->act_max - p->out_offset;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t a =
            add_scaled_input(input1[i], p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
        const int32_t b =
            add_scaled_input(input2[i], p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
        const int32_t sum = sg_requantize(a + b, p->out_mult, p->out_shift);
        output[i] = sg_offset_clamp_s8(sum, p->out_offset, lo, hi);
    }
}

#if SG_HAS_DSP
/* DSP path: the same three roundings with SMMULR. For a = (x + offset) << left_shift with
 * left_shift <= 21, |a| <= 255 * 2^21 < 2^29, so 2a fits and SMMULR(2a, mult) =
 * (2a * mult + 2^31) >> 32 is exactly gemmlowp's rounding doubling high multiply
 * (a * mult + 2^30) >> 31 (mult < 2^31, so never the one saturating case), with |y| <= |a|.
 * With shift = -rs <= 0 the rounding right shift, ties away from zero, is
 * (y + 2^(rs - 1) + (y < 0 ? -1 : 0)) >> rs for rs >= 1, and y itself for rs = 0 (round and sign
 * term masked to 0); the add stays in range. The two scaled inputs sum to at most
 * 2 * 255 * 2^21 < 2^30, so twice the sum fits and the output stage (shift <= 0) is the same
 * again. TFLite's ADD quantization gives left_shift 20, input shifts <= 0 (multipliers at most
 * 1/2, exactly 1/2 with shift 0 for the input of larger scale) and an output shift near -20;
 * other layers run the portable loop. */
typedef struct {
    int32_t offset;
    int32_t shift; /* left_shift + 1: the doubling for SMMULR folded in */
    int32_t mult;
    int32_t round;     /* 2^(rs - 1), or 0 for rs = 0 */
    int32_t sign_mask; /* -1 for rs >= 1, 0 for rs = 0: rounds negative ties away from 0 */
    int32_t rshift;
} add_stage;

static add_stage add_stage_of(int32_t offset, int32_t left_shift, int32_t mult, int32_t shift)
{
    add_stage st;
    st.offset = offset;
    st.shift = left_shift + 1;
    st.mult = mult;
    st.rshift = -shift;
    st.round = st.rshift > 0 ? (int32_t)(1u << (st.rshift - 1)) : 0;
    st.sign_mask = st.rshift > 0 ? -1 : 0;
    return st;
}

static inline int32_t add_round(int32_t y, const add_stage *st)
{
    /* y >> 31 is -1 for negative y: the shift is arithmetic on every compiler slimgen
     * supports (sg_common.h refuses to build otherwise). */
    /* cppcheck-suppress shiftTooManyBitsSigned */
    return (y + st->round + ((y >> 31) & st->sign_mask)) >> st->rshift;
}

static inline int32_t add_scaled_input_dsp(int8_t x, const add_stage *st)
{
    return add_round(sg_smmulr(((int32_t)x + st->offset) * (1 << st->shift), st->mult), st);
}

static inline void add_dsp_loop(const sg_add_s8_params *p, const int8_t *input1,
                                const int8_t *input2, int8_t *output, int full_range)
{
    const add_stage in1 = add_stage_of(p->in1_offset, p->left_shift, p->in1_mult, p->in1_shift);
    const add_stage in2 = add_stage_of(p->in2_offset, p->left_shift, p->in2_mult, p->in2_shift);
    const add_stage out = add_stage_of(0, 0, p->out_mult, p->out_shift);
    const int32_t out_offset = p->out_offset, act_min = p->act_min, act_max = p->act_max;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t sum = add_scaled_input_dsp(input1[i], &in1) +
                            add_scaled_input_dsp(input2[i], &in2);
        const int32_t v = add_round(sg_smmulr(2 * sum, out.mult), &out) + out_offset;
        output[i] = (int8_t)(full_range ? sg_ssat8(v) : sg_clamp_to_s8(v, act_min, act_max));
    }
}

static void add_dsp(const sg_add_s8_params *p, const int8_t *input1, const int8_t *input2,
                    int8_t *output)
{
    if (p->act_min == -128 && p->act_max == 127) {
        add_dsp_loop(p, input1, input2, output, 1);
    } else {
        add_dsp_loop(p, input1, input2, output, 0);
    }
}
#endif /* SG_HAS_DSP */

sg_status sg_add_s8(const sg_add_s8_params *p,
                    const int8_t *input1,
                    const int8_t *input2,
                    int8_t *output,
                    sg_scratch scratch)
{
    SG_TRY(add_check(p, input1, input2, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_add_s8_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_DSP
    if (p->left_shift <= 21 && p->out_shift <= 0) { /* input shifts <= 0 by add_check */
        add_dsp(p, input1, input2, output);
        return SG_OK;
    }
#endif
    add_portable(p, input1, input2, output);
    return SG_OK;
}
