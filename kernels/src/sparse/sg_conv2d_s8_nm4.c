/* sg_conv2d_s8_nm4: convolution (groups = 1) with N:4 structured-sparse weights (sg_nm4_s8)
 * over the OHWI filter flattened to [C_out][K_h * K_w * C_in]: im2col rows in scratch
 * (sg_sparse_conv.h), then four rows' pair tables per pass over the weights (sg_sparse_nm4.h),
 * bias folded with the input offset (sg_kernels.h).
 * Reference: compiler/slimgen/ref/sparse.py conv2d(), i.e. ref.conv on the densified weights. */
#include "sg_kernels.h"

#include "sg_sparse_conv.h"
#include "sg_sparse_nm4.h"

/* Four pixels' interleaved pair tables and their sums first (word-aligned at the buffer
 * start), then the im2col rows. */
int32_t sg_conv2d_s8_nm4_scratch_size(const sg_conv2d_s8_nm4_params *p)
{
    const int32_t rows = sg_sparse_conv_scratch(&p->filter);
    const int64_t k = (int64_t)p->filter.h * p->filter.w * p->filter.c;
    if (rows <= 0 || k > INT32_MAX) {
        return rows;
    }
    const sg_nm4_s8 w = {p->filter.n, (int32_t)k, p->w.n, NULL, NULL, NULL};
    return sg_scratch_bytes(sg_nm4_scratch(&w, 4, rows));
}

sg_status sg_conv2d_s8_nm4(const sg_conv2d_s8_nm4_params *p,
                           const int8_t *input,
                           int8_t *output,
                           sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    const sg_window_geometry g =
        sg_sparse_conv_geometry(&p->in, &p->filter, &p->out, p->stride_h, p->stride_w,
                                p->pad_top, p->pad_left, p->dil_h, p->dil_w);
    SG_REQUIRE(sg_nm4_ok(&p->w, 0) &&
                   sg_sparse_conv_shapes_ok(&g, &p->filter, p->w.rows, p->w.cols),
               SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->w.rows), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_nm4_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t k = p->w.cols;
    const int32_t cout = p->out.c;
    const int32_t pixels = p->out.h * p->out.w;
    /* Padded taps hold the zero point: x + in_offset == 0 there, so the folded bias cancels. */
    const int8_t fill = (int8_t)(-p->rq.in_offset);
    uint8_t *tab = (uint8_t *)scratch.buf;
    int32_t *sums = (int32_t *)(tab + 4 * sg_nm4_table_bytes(k, p->w.n));
    int8_t *rows = (int8_t *)(sums + 4 * cout);
    for (int32_t i = 0; i < pixels; i += SG_SPARSE_CONV_ROWS) {
        const int32_t m = sg_im2col_rows(input, &g, i, k, fill, rows);
        sg_nm4_table_4(rows, k, m, k, p->w.n, tab);
        sg_nm4_rows_4(&p->w, tab, p->bias, &p->rq, output + i * cout, cout, m, sums);
    }
    return SG_OK;
}
