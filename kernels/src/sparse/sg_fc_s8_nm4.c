/* sg_fc_s8_nm4: fully connected layer with N:4 structured-sparse weights (sg_nm4_s8, n = 1 or 2),
 * bias folded with the input offset (sg_kernels.h). The input's pair table goes to scratch and
 * every row reads it (sg_sparse_nm4.h); the rows' int32 sums follow it.
 * Reference: compiler/slimgen/ref/sparse.py fc(), i.e. ref.fc on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_nm4.h"

int32_t sg_fc_s8_nm4_scratch_size(const sg_fc_s8_nm4_params *p)
{
    return sg_scratch_bytes(sg_nm4_scratch(&p->w, 1, 0));
}

sg_status sg_fc_s8_nm4(const sg_fc_s8_nm4_params *p,
                       const int8_t *input,
                       int8_t *output,
                       sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_nm4_ok(&p->w, 1), SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_fc_s8_nm4_scratch_size(p)), SG_ERR_SCRATCH);

    uint8_t *tab = (uint8_t *)scratch.buf;
    sg_nm4_table(input, p->w.cols, p->w.n, tab, 4);
    sg_nm4_rows_1(&p->w, tab, p->bias, &p->rq, output,
                  (int32_t *)(tab + sg_nm4_table_bytes(p->w.cols, p->w.n)));
    return SG_OK;
}
