/* sg_add_s8: int8 elementwise add, TFLite's int8 ADD bit for bit.
 * Reference: compiler/slimgen/ref/eltwise.py add(). */
#include "sg_kernels.h"

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

sg_status sg_add_s8(const sg_add_s8_params *p,
                    const int8_t *input1,
                    const int8_t *input2,
                    int8_t *output,
                    sg_scratch scratch)
{
    SG_TRY(add_check(p, input1, input2, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_add_s8_scratch_size(p)), SG_ERR_SCRATCH);

    add_portable(p, input1, input2, output);
    return SG_OK;
}
