/* sg_conv2d_s8_1x1_shared: pointwise convolution with shared-value sparse weights
 * (sg_shared_s8: one byte per entry, a column delta and a codebook code), bias folded with the
 * input offset (sg_kernels.h). Four pixels share each pass over the weights (then two, then
 * one for the rest), so the entry decoding is paid once per four outputs.
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_mve.h"

int32_t sg_conv2d_s8_1x1_shared_scratch_size(const sg_conv2d_s8_1x1_shared_params *p)
{
    (void)p;
    return SG_SHARED_TABLE_BYTES;
}

sg_status sg_conv2d_s8_1x1_shared(const sg_conv2d_s8_1x1_shared_params *p,
                                  const int8_t *input,
                                  int8_t *output,
                                  sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_shared_ok(&p->w) && sg_dims_ok(&p->in) && sg_dims_ok(&p->out), SG_ERR_ARG);
    SG_REQUIRE(p->in.h == p->out.h && p->in.w == p->out.w && p->in.c == p->w.cols &&
                   p->out.c == p->w.rows,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_1x1_shared_scratch_size(p)),
               SG_ERR_SCRATCH);

    int32_t *table = (int32_t *)scratch.buf;
    sg_shared_table(&p->w, table);
    const int32_t cin = p->in.c;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->in.h * p->in.w;
#if SG_HAS_MVE
    /* Helium: eight pixels per entry, gathered (sg_sparse_mve.h). */
    sg_shared_mve_1x1(&p->w, table, input, pixels, p->bias, &p->rq, output);
    return SG_OK;
#endif
    int32_t i = 0;
    for (; i + 3 < pixels; i += 4) {
        sg_shared_rows_4(&p->w, table, input + i * cin, cin, p->bias, &p->rq, output + i * cout,
                         cout);
    }
    for (; i + 1 < pixels; i += 2) {
        sg_shared_rows_2(&p->w, table, input + i * cin, cin, p->bias, &p->rq, output + i * cout,
                         output + (i + 1) * cout);
    }
    if (i < pixels) {
        sg_shared_rows_1(&p->w, table, input + i * cin, p->bias, &p->rq, output + i * cout);
    }
    return SG_OK;
}
