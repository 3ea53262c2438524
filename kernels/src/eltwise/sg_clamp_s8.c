/* sg_clamp_s8: a ReLU / ReLU6 / hardtanh that could not be fused into the producer's requant.
 * Reference: compiler/slimgen/ref/eltwise.py clamp(). */
#include "sg_kernels.h"

#include "../sg_requant.h"

int32_t sg_clamp_s8_scratch_size(const sg_clamp_s8_params *p)
{
    (void)p;
    return 0;
}

sg_status sg_clamp_s8(const sg_clamp_s8_params *p,
                      const int8_t *input,
                      int8_t *output,
                      sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(p->size > 0 && sg_output_stage_ok(0, p->act_min, p->act_max), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_clamp_s8_scratch_size(p)), SG_ERR_SCRATCH);

    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = sg_clamp_to_s8(input[i], p->act_min, p->act_max);
    }
    return SG_OK;
}
