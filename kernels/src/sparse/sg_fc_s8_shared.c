/* sg_fc_s8_shared: fully connected layer with shared-value sparse weights (sg_shared_s8: one
 * byte per entry, a column delta and a code into the layer's int8 codebook), bias folded with
 * the input offset (sg_kernels.h). The row walker is in sg_sparse_shared.h.
 * Reference: compiler/slimgen/ref/sparse.py fc(), i.e. ref.fc on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_shared.h"

int32_t sg_fc_s8_shared_scratch_size(const sg_fc_s8_shared_params *p)
{
    (void)p;
    return SG_SHARED_TABLE_BYTES;
}

sg_status sg_fc_s8_shared(const sg_fc_s8_shared_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_shared_ok(&p->w), SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_fc_s8_shared_scratch_size(p)), SG_ERR_SCRATCH);

    int32_t *table = (int32_t *)scratch.buf;
    sg_shared_table(&p->w, table);
    sg_shared_rows_1(&p->w, table, input, p->bias, &p->rq, output);
    return SG_OK;
}
