/* sg_conv2d_s8_csr8: convolution (groups = 1) with unstructured sparse weights (sg_csr8_s8)
 * over the OHWI filter flattened to [C_out][K_h * K_w * C_in], through im2col rows in scratch
 * (sg_sparse_conv.h), bias folded with the input offset (sg_kernels.h).
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_conv.h"
#include "sg_sparse_mve.h"

/* The 4 im2col rows, then the same rows widened and paired (DSP cores; reported on every
 * core, so that a memory plan does not depend on the target). */
int32_t sg_conv2d_s8_csr8_scratch_size(const sg_conv2d_s8_csr8_params *p)
{
    const int32_t rows = sg_sparse_conv_scratch(&p->filter);
    return rows > 0 ? sg_scratch_bytes(3 * (int64_t)rows) : rows;
}

sg_status sg_conv2d_s8_csr8(const sg_conv2d_s8_csr8_params *p,
                            const int8_t *input,
                            int8_t *output,
                            sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    const sg_window_geometry g =
        sg_sparse_conv_geometry(&p->in, &p->filter, &p->out, p->stride_h, p->stride_w,
                                p->pad_top, p->pad_left, p->dil_h, p->dil_w);
    SG_REQUIRE(sg_csr8_ok(&p->w) && sg_sparse_conv_shapes_ok(&g, &p->filter, p->w.rows, p->w.cols),
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_csr8_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t k = p->w.cols;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->out.h * p->out.w;
    /* Padded taps hold the zero point: x + in_offset == 0 there, so the folded bias cancels. */
    const int8_t fill = (int8_t)(-p->rq.in_offset);
    int8_t *rows = (int8_t *)scratch.buf;
#if SG_HAS_MVE
    /* Helium: inside pixels gathered in place, border pixels through im2col rows, eight per
     * pass (sg_sparse_mve.h; its map and 8 rows fit this scratch). */
    sg_sparse_mve_conv(NULL, &p->w, input, &g, fill, rows, p->bias, &p->rq, output);
    return SG_OK;
#endif
#if SG_HAS_DSP
    int32_t *xw = (int32_t *)(rows + SG_SPARSE_CONV_ROWS * k);
#endif
    for (int32_t i = 0; i < pixels; i += SG_SPARSE_CONV_ROWS) {
        int8_t *out = output + i * cout;
#if SG_HAS_DSP
        if (i + 4 <= pixels) {
            sg_im2col_widen4(input, &g, i, fill, rows, xw, 0);
            sg_csr8_rows_4w(&p->w, xw, p->bias, &p->rq, out, cout);
            continue;
        }
#endif
        const int32_t n = sg_im2col_rows(input, &g, i, k, fill, rows);
        if (n == 4) {
            sg_csr8_rows_4(&p->w, rows, k, p->bias, &p->rq, out, cout);
        } else {
            for (int32_t j = 0; j < n; ++j) {
                sg_csr8_rows_1(&p->w, rows + j * k, p->bias, &p->rq, out + j * cout);
            }
        }
    }
    return SG_OK;
}
