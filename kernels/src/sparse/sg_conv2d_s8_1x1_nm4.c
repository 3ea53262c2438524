/* sg_conv2d_s8_1x1_nm4: pointwise convolution with N:4 structured-sparse weights (sg_nm4_s8,
 * n = 1 or 2), bias folded with the input offset (sg_kernels.h). Four pixels' pair tables
 * (interleaved) and their int32 sums go to scratch; the four share each pass over the weights
 * and offsets (sg_sparse_nm4.h).
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_nm4.h"

int32_t sg_conv2d_s8_1x1_nm4_scratch_size(const sg_conv2d_s8_1x1_nm4_params *p)
{
    return sg_scratch_bytes(sg_nm4_scratch(&p->w, 4, 0));
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
    uint8_t *tab = (uint8_t *)scratch.buf;
    int32_t *sums = (int32_t *)(tab + 4 * sg_nm4_table_bytes(cin, p->w.n));
    for (int32_t i = 0; i < pixels; i += 4) {
        const int32_t m = sg_min_s32(4, pixels - i);
        sg_nm4_table_4(input + i * cin, cin, m, cin, p->w.n, tab);
        sg_nm4_rows_4(&p->w, tab, p->bias, &p->rq, output + i * cout, cout, m, sums);
    }
    return SG_OK;
}
