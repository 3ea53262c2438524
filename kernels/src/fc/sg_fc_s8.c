/* sg_fc_s8: int8 fully connected layer, weights [out_features][in_features] (torch layout).
 * Reference: compiler/slimgen/ref/fc.py fc(). */
#include "sg_kernels.h"

#include "../sg_dot.h"

int32_t sg_fc_s8_scratch_size(const sg_fc_s8_params *p)
{
    (void)p;
    return 0;
}

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

    sg_fc_vector(input, p->weights, p->bias, p->in_features, p->out_features, &p->rq, output);
    return SG_OK;
}
