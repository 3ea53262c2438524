/* sg_fc_s8: int8 fully connected layer, weights [out_features][in_features] (torch layout).
 * Reference: compiler/slimgen/ref/fc.py fc().
 *
 * DSP path (SG_HAS_DSP): the input is widened to halfwords once, in_offset added, into scratch;
 * then 4 output rows at a time share each widened input pair (sg_dsp_mat_1xn in sg_dot.h). The
 * bias is not folded: in_offset costs nothing per MAC there, so folding would buy no speed
 * for an ABI change. */
#include "sg_kernels.h"

/* GCC's induction-variable rewrite turns the 1x4 tile's four row pointers into one pointer plus
 * offsets it cannot keep in registers (a reload every 16 taps); without it the fc loop keeps
 * its pointers (M33 fc 128 -> 128: 40.1k -> 39.9k est. cycles). Not in sg_dot.h's pragma:
 * the conv tiles are faster with it. GCC on DSP targets only, like that pragma. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_DSP) &&                     \
    !defined(SG_EMULATE_DSP)
#pragma GCC optimize("no-ivopts")
#endif

#include "../sg_dot.h"

/* The widened input (sg_widened_words) and the out_features int32 sums. Reported on every ISA,
 * so a memory plan does not depend on the core; the portable path leaves it unused. */
int32_t sg_fc_s8_scratch_size(const sg_fc_s8_params *p)
{
    return sg_scratch_bytes(4 * (sg_widened_words(p->in_features) + (int64_t)p->out_features));
}

#if SG_HAS_MVE
#include "../mve/sg_fc_s8_mve.h"
#elif SG_HAS_DSP
static void fc_dsp(const sg_fc_s8_params *p, const int8_t *input, int8_t *output, int32_t *xw)
{
    sg_dsp_widen(input, p->in_features, p->rq.in_offset, xw);
    sg_dsp_mat_1xn(xw, p->weights, p->bias, p->in_features, p->out_features, &p->rq, output,
                   xw + sg_widened_words(p->in_features));
}
#else
static void fc_portable(const sg_fc_s8_params *p, const int8_t *input, int8_t *output)
{
    sg_fc_vector(input, p->weights, p->bias, p->in_features, p->out_features, &p->rq, output);
}
#endif

sg_status sg_fc_s8(const sg_fc_s8_params *p,
                   const int8_t *input,
                   int8_t *output,
                   sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL && p->weights != NULL, SG_ERR_ARG);
    SG_REQUIRE(p->in_features > 0 && p->out_features > 0 &&
                   (int64_t)p->in_features * p->out_features <= INT32_MAX,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->out_features), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_fc_s8_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    (void)scratch;
    sg_fc_s8_mve(p, input, output);
#elif SG_HAS_DSP
    fc_dsp(p, input, output, (int32_t *)scratch.buf);
#else
    (void)scratch;
    fc_portable(p, input, output);
#endif
    return SG_OK;
}
