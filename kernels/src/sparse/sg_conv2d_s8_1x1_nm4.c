/* sg_conv2d_s8_1x1_nm4: pointwise convolution with N:4 structured-sparse weights (sg_nm4_s8,
 * n = 1 or 2), bias folded with the input offset (sg_kernels.h). Two pixels' pair tables and
 * their int32 sums go to scratch; the two share each pass over the weights (sg_sparse_nm4.h).
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_nm4.h"

int32_t sg_conv2d_s8_1x1_nm4_scratch_size(const sg_conv2d_s8_1x1_nm4_params *p)
{
    return sg_scratch_bytes(sg_nm4_scratch(&p->w, 2, 0));
}

sg_status sg_conv2d_s8_1x1_nm4(const sg_conv2d_s8_1x1_nm4_params *p,
                               const int8_t *input,
                               int8_t *output,
                               sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_nm4_ok(&p->w, 0) && sg_dims_ok(&p->in) && sg_dims_ok(&p->out), SG_ERR_ARG);
    SG_REQUIRE(p->in.h == p->out.h && p->in.w == p->out.w && p->in.c == p->w.cols &&
                   p->out.c == p->w.rows,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_1x1_nm4_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t cin = p->in.c;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->in.h * p->in.w;
    uint8_t *tab0 = (uint8_t *)scratch.buf;
    uint8_t *tab1 = tab0 + sg_nm4_table_bytes(cin, p->w.n);
    int32_t *sums = (int32_t *)(tab1 + sg_nm4_table_bytes(cin, p->w.n));
    int32_t i = 0;
    for (; i + 1 < pixels; i += 2) {
        sg_nm4_table(input + i * cin, cin, p->w.n, tab0);
        sg_nm4_table(input + (i + 1) * cin, cin, p->w.n, tab1);
        sg_nm4_rows_2(&p->w, tab0, tab1, p->bias, &p->rq, output + i * cout, cout, sums);
    }
    if (i < pixels) {
        sg_nm4_table(input + i * cin, cin, p->w.n, tab0);
        sg_nm4_rows_2(&p->w, tab0, tab0, p->bias, &p->rq, output + i * cout, 0, sums);
    }
    return SG_OK;
}
