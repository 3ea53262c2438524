/* sg_conv2d_s8_1x1_bsr1x4: pointwise convolution with 1x4 block-sparse weights (sg_bsr1x4_s8),
 * bias folded with the input offset (sg_kernels.h). Four pixels share each pass over the
 * weights (then one for the rest; the portable path also pairs two), so the index decoding is
 * paid once per four outputs. On DSP cores the four pixels are widened to halfword pairs in
 * scratch first (sg_bsr1x4_widen): a block then needs no SXTB16 on the inputs. On Helium the
 * four pixels' int8 rows are read in place by word gathers (sg_sparse_mve.h).
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_mve.h"

/* Four pixels widened to halfword pairs (DSP cores; reported on every core, as the dense 1x1
 * does, so that a memory plan does not depend on the target). */
int32_t sg_conv2d_s8_1x1_bsr1x4_scratch_size(const sg_conv2d_s8_1x1_bsr1x4_params *p)
{
    return sg_scratch_bytes(8 * (int64_t)p->w.cols);
}

sg_status sg_conv2d_s8_1x1_bsr1x4(const sg_conv2d_s8_1x1_bsr1x4_params *p,
                                  const int8_t *input,
                                  int8_t *output,
                                  sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_bsr1x4_ok(&p->w) && sg_dims_ok(&p->in) && sg_dims_ok(&p->out), SG_ERR_ARG);
    SG_REQUIRE(p->in.h == p->out.h && p->in.w == p->out.w && p->in.c == p->w.cols &&
                   p->out.c == p->w.rows,
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_1x1_bsr1x4_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t cin = p->in.c;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->in.h * p->in.w;
    int32_t i = 0;
#if SG_HAS_MVE
    /* cin % 4 == 0 (sg_bsr1x4_ok): every pixel row is aligned when the first is. */
    if (sg_sparse_mve_aligned(input)) {
        sg_mve_pass ps;
        for (; i + 1 < pixels; i += 4) {
            sg_mve_pass_run(&ps, i, sg_min_s32(4, pixels - i), cin, cout);
            sg_bsr1x4_mve_rows_4(&p->w, input, &ps, NULL, p->bias, &p->rq, output);
        }
        if (i < pixels) {
            sg_bsr1x4_mve_rows_1(&p->w, input + i * cin, p->bias, &p->rq, output + i * cout);
        }
        return SG_OK;
    }
#endif
#if SG_HAS_DSP
    int32_t *xw = (int32_t *)scratch.buf;
    for (; i + 3 < pixels; i += 4) {
        sg_bsr1x4_widen(input + i * cin, cin, 4, cin, xw);
        sg_bsr1x4_rows_4w(&p->w, xw, p->bias, &p->rq, output + i * cout, cout);
    }
#else
    for (; i + 3 < pixels; i += 4) {
        sg_bsr1x4_rows_4(&p->w, input + i * cin, cin, p->bias, &p->rq, output + i * cout, cout);
    }
    for (; i + 1 < pixels; i += 2) {
        sg_bsr1x4_rows_2(&p->w, input + i * cin, cin, p->bias, &p->rq, output + i * cout,
                         output + (i + 1) * cout);
    }
#endif
    for (; i < pixels; ++i) {
        sg_bsr1x4_rows_1(&p->w, input + i * cin, p->bias, &p->rq, output + i * cout);
    }
    return SG_OK;
}
