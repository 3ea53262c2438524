/* sg_fc_s8_bsr1x4: fully connected layer with 1x4 block-sparse weights (sg_bsr1x4_s8),
 * bias folded with the input offset (sg_kernels.h). The row walkers are in sg_sparse.h and,
 * for Helium (gathers of four blocks' inputs), sg_sparse_mve.h.
 * Reference: compiler/slimgen/ref/sparse.py fc(), i.e. ref.fc on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_mve.h"

int32_t sg_fc_s8_bsr1x4_scratch_size(const sg_fc_s8_bsr1x4_params *p)
{
    (void)p;
    return 0;
}

sg_status sg_fc_s8_bsr1x4(const sg_fc_s8_bsr1x4_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_bsr1x4_ok(&p->w), SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_fc_s8_bsr1x4_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    if (sg_sparse_mve_aligned(input)) {
        sg_bsr1x4_mve_rows_1(&p->w, input, p->bias, &p->rq, output);
        return SG_OK;
    }
#endif
    sg_bsr1x4_rows_1(&p->w, input, p->bias, &p->rq, output);
    return SG_OK;
}
