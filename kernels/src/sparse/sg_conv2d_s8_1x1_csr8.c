/* sg_conv2d_s8_1x1_csr8: pointwise convolution with unstructured sparse weights (sg_csr8_s8: compressed rows, 8-bit column deltas),
 * bias folded with the input offset (sg_kernels.h). Four pixels share each pass over the
 * weights (then two, then one for the rest), so the index decoding is paid once per four
 * outputs. On DSP cores the four pixels are widened and paired in scratch first
 * (sg_csr8_widen4): an entry is then one doubleword load and four SMLAxy.
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_mve.h"

/* Four pixels widened and paired (DSP cores; reported on every core, as the dense 1x1 does,
 * so that a memory plan does not depend on the target). */
int32_t sg_conv2d_s8_1x1_csr8_scratch_size(const sg_conv2d_s8_1x1_csr8_params *p)
{
    return sg_scratch_bytes(8 * (int64_t)p->w.cols);
}

sg_status sg_conv2d_s8_1x1_csr8(const sg_conv2d_s8_1x1_csr8_params *p,
                                const int8_t *input,
                                int8_t *output,
                                sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_csr8_ok(&p->w) && sg_dims_ok(&p->in) && sg_dims_ok(&p->out), SG_ERR_ARG);
    SG_REQUIRE(p->in.h == p->out.h && p->in.w == p->out.w && p->in.c == p->w.cols &&
                   p->out.c == p->w.rows,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_1x1_csr8_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t cin = p->in.c;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->in.h * p->in.w;
#if SG_HAS_MVE
    /* Helium: eight pixels per pass, byte gathers (sg_sparse_mve.h). */
    sg_csr8_mve_1x1(&p->w, input, pixels, p->bias, &p->rq, output);
    return SG_OK;
#endif
    int32_t i = 0;
#if SG_HAS_DSP
    int32_t *xw = (int32_t *)scratch.buf;
    for (; i + 3 < pixels; i += 4) {
        sg_csr8_widen4(input + i * cin, cin, cin, xw);
        sg_csr8_rows_4w(&p->w, xw, p->bias, &p->rq, output + i * cout, cout);
    }
#endif
    for (; i + 3 < pixels; i += 4) {
        sg_csr8_rows_4(&p->w, input + i * cin, cin, p->bias, &p->rq, output + i * cout, cout);
    }
    for (; i + 1 < pixels; i += 2) {
        sg_csr8_rows_2(&p->w, input + i * cin, cin, p->bias, &p->rq, output + i * cout,
                  output + (i + 1) * cout);
    }
    if (i < pixels) {
        sg_csr8_rows_1(&p->w, input + i * cin, p->bias, &p->rq, output + i * cout);
    }
    return SG_OK;
}
