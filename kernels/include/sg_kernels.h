/* slimgen kernel library: every public int8 kernel.
 *
 * Conventions (see kernels/README.md):
 * - argument order is (params, inputs..., outputs..., scratch);
 * - each kernel has a params struct and a _scratch_size twin (0 when it needs none);
 * - batch n is 1 for every kernel; activations NHWC, int8, asymmetric per tensor;
 * - weights int8 symmetric per output channel (zero point 0), bias int32 with scale s_in * s_w;
 * - padded input positions contribute nothing to the accumulator (they hold the input zero
 *   point, so x + in_offset == 0 there);
 * - rounding is sg_requantize() in src/sg_requant.h, bit-identical to ref/requant.py.
 *
 * cffi-clean: only stdint, include guards, typedefs and prototypes.
 */
#ifndef SG_KERNELS_H
#define SG_KERNELS_H

#include <stdint.h>
#include "sg_types.h"

/* ---- Convolution, groups = 1 ------------------------------------------------------------
 * in      [in]  1 x H_in x W_in x C_in
 * filter  [in]  C_out x K_h x K_w x C_in (OHWI)
 * out     [out] 1 x H_out x W_out x C_out
 * out[y][x][o] = requant(sum over (ky, kx, i) of (in[y*stride_h - pad_top + ky*dil_h]
 *                [x*stride_w - pad_left + kx*dil_w][i] + in_offset) * w[o][ky][kx][i] + bias[o])
 * Taps outside the input are skipped. bias may be NULL (0). Bias is not folded.
 * There is no pad_bottom / pad_right: out.h and out.w are taken as given (>= 1), and taps below
 * or right of the input are skipped like any padding. rq.mult[c] >= 0 and rq.shift[c] in
 * [-31, 30] are checked for every channel (SG_ERR_ARG). The caller guarantees the int32
 * accumulator cannot overflow (ref/ checks bias +- max|x + in_offset| * sum|w|).
 * Scratch (sg_conv2d_s8_scratch_size, the same on every core; used by the DSP path, an im2col
 * of two pixels): 8 * (W + C_out) + 2 * K bytes, K = K_h * K_w * C_in, W = 2 * (K / 4) + K % 4. */
typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    const int8_t *weights; /* OHWI */
    const int32_t *bias;   /* [C_out] or NULL */
    sg_requant rq;         /* mult/shift have C_out entries */
} sg_conv2d_s8_params;

int32_t sg_conv2d_s8_scratch_size(const sg_conv2d_s8_params *p);
sg_status sg_conv2d_s8(const sg_conv2d_s8_params *p,
                       const int8_t *input,
                       int8_t *output,
                       sg_scratch scratch);

/* 1x1 pointwise specialization: requires filter 1x1, stride 1, no padding, dil 1.
 * Same params and result as sg_conv2d_s8. Scratch: 8 * (W + C_out) bytes, W as above with
 * K = C_in (two widened pixels and their sums; the DSP path's, reported on every core). */
int32_t sg_conv2d_s8_1x1_scratch_size(const sg_conv2d_s8_params *p);
sg_status sg_conv2d_s8_1x1(const sg_conv2d_s8_params *p,
                           const int8_t *input,
                           int8_t *output,
                           sg_scratch scratch);

/* ---- Depthwise convolution (groups = C_in, channel multiplier ch_mult) -------------------
 * in      [in]  1 x H_in x W_in x C_in
 * filter  dims n = 1, h = K_h, w = K_w, c = C_out, with C_out = C_in * ch_mult
 * weights [in]  K_h x K_w x C_out (HWC; output channel o reads input channel o / ch_mult)
 * out     [out] 1 x H_out x W_out x C_out */
typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t ch_mult;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    const int8_t *weights; /* K_h x K_w x C_out */
    const int32_t *bias;   /* [C_out] or NULL */
    sg_requant rq;         /* mult/shift have C_out entries */
} sg_dwconv2d_s8_params;

int32_t sg_dwconv2d_s8_scratch_size(const sg_dwconv2d_s8_params *p);
sg_status sg_dwconv2d_s8(const sg_dwconv2d_s8_params *p,
                         const int8_t *input,
                         int8_t *output,
                         sg_scratch scratch);

/* 3x3 specialization: requires filter.h == filter.w == 3, dil_h == dil_w == 1 and ch_mult == 1
 * (SG_ERR_UNSUPPORTED otherwise); any stride and padding. Same params and result as
 * sg_dwconv2d_s8. */
int32_t sg_dwconv2d_s8_3x3_scratch_size(const sg_dwconv2d_s8_params *p);
sg_status sg_dwconv2d_s8_3x3(const sg_dwconv2d_s8_params *p,
                             const int8_t *input,
                             int8_t *output,
                             sg_scratch scratch);

/* ---- Fully connected --------------------------------------------------------------------
 * input [in] in_features; weights [in] out_features x in_features (row-major, torch layout);
 * output [out] out_features. rq.mult/shift have out_features entries (per-channel).
 * Bias is not folded. Scratch: 4 * (W + out_features) bytes, W = 2 * (in_features / 4) +
 * in_features % 4 (the widened input and the sums of the DSP path; reported on every core).
 * folded_bias [in] [out_features] bias[o] + rq.in_offset * sum(weights[o]) modulo 2^32, or NULL:
 * the input-offset term precomputed at build time (TFLite Micro computes it at prepare time).
 * Only the Helium (MVE) path reads it, and it must hold exactly that value; the other paths, and
 * the MVE path when it is NULL, compute the same sum themselves. */
typedef struct {
    int32_t in_features;
    int32_t out_features;
    const int8_t *weights;
    const int32_t *bias; /* [out_features] or NULL */
    sg_requant rq;
    const int32_t *folded_bias; /* [out_features] or NULL; see above */
} sg_fc_s8_params;

int32_t sg_fc_s8_scratch_size(const sg_fc_s8_params *p);
sg_status sg_fc_s8(const sg_fc_s8_params *p, const int8_t *input, int8_t *output, sg_scratch scratch);

/* ---- Pooling ----------------------------------------------------------------------------
 * Input and output share scale and zero point (TFLite convention), so no requantization.
 * Max pool: padded positions are skipped (as -inf). Avg pool: padded positions are skipped;
 * when count_include_pad is 1 they still count in the divisor as the value pad_value (the
 * input zero point, i.e. float 0), following torch's count_include_pad=True; the window is
 * clipped to the padded input like torch. Average = sum / count rounded half away from zero.
 * Result is clamped to [act_min, act_max].
 * Checked (SG_ERR_ARG): out.h is the floor or the ceil_mode size,
 * (in.h + pad_top + pad_bottom - kernel_h) / stride_h + 1 rounded down or up, with every
 * window overlapping the input (pad_top < kernel_h, (out.h - 1) * stride_h < in.h + pad_top);
 * likewise for w. Avg pool also needs kernel_h * kernel_w <= 2^22. */
typedef struct {
    sg_dims in;
    sg_dims out;
    int32_t kernel_h;
    int32_t kernel_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t pad_bottom;
    int32_t pad_right;
    int32_t count_include_pad; /* avg only */
    int32_t pad_value;         /* avg only, with count_include_pad */
    int32_t act_min;
    int32_t act_max;
} sg_pool2d_s8_params;

int32_t sg_maxpool2d_s8_scratch_size(const sg_pool2d_s8_params *p);
sg_status sg_maxpool2d_s8(const sg_pool2d_s8_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch);

int32_t sg_avgpool2d_s8_scratch_size(const sg_pool2d_s8_params *p);
sg_status sg_avgpool2d_s8(const sg_pool2d_s8_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch);

/* ---- Elementwise add (TFLite ADD int8) --------------------------------------------------
 * a = (x1 + in1_offset) << left_shift, scaled by (in1_mult, in1_shift); likewise b;
 * out = clamp(requantize(a + b, out_mult, out_shift) + out_offset, act_min, act_max).
 * Checked (SG_ERR_ARG), as TFLite assumes, so every int32 step is exact: left_shift in [0, 22],
 * in1_shift and in2_shift in [-31, 0], out_shift in [-31, 30], every mult >= 0, in offsets in
 * [-127, 128]. No broadcasting: both inputs have `size` elements. */
typedef struct {
    int32_t size;
    int32_t left_shift; /* 20 for int8 */
    int32_t in1_offset;
    int32_t in1_mult;
    int32_t in1_shift;
    int32_t in2_offset;
    int32_t in2_mult;
    int32_t in2_shift;
    int32_t out_offset;
    int32_t out_mult;
    int32_t out_shift;
    int32_t act_min;
    int32_t act_max;
} sg_add_s8_params;

int32_t sg_add_s8_scratch_size(const sg_add_s8_params *p);
sg_status sg_add_s8(const sg_add_s8_params *p,
                    const int8_t *input1,
                    const int8_t *input2,
                    int8_t *output,
                    sg_scratch scratch);

/* ---- Clamp (a ReLU that could not be fused; same scale and zero point in and out) -------- */
typedef struct {
    int32_t size;
    int32_t act_min;
    int32_t act_max;
} sg_clamp_s8_params;

int32_t sg_clamp_s8_scratch_size(const sg_clamp_s8_params *p);
sg_status sg_clamp_s8(const sg_clamp_s8_params *p,
                      const int8_t *input,
                      int8_t *output,
                      sg_scratch scratch);

/* ---- Layout change NHWC -> NCHW (a flatten whose consumer is not a Linear) -------------- */
typedef struct {
    sg_dims in; /* NHWC */
} sg_transpose_nhwc_nchw_s8_params;

int32_t sg_transpose_nhwc_nchw_s8_scratch_size(const sg_transpose_nhwc_nchw_s8_params *p);
sg_status sg_transpose_nhwc_nchw_s8(const sg_transpose_nhwc_nchw_s8_params *p,
                                    const int8_t *input,
                                    int8_t *output,
                                    sg_scratch scratch);

/* ---- Softmax (TFLite / CMSIS-NN arm_softmax_s8 algorithm) --------------------------------
 * rows x depth int8 input; output int8 with scale 1/256, zero point -128.
 * mult / left_shift / diff_min come from PreprocessSoftmaxScaling(beta=1, input_scale, 5).
 * Checked (SG_ERR_ARG): depth in [1, 4095] (the Q12.19 sum of exps must fit int32),
 * left_shift in [0, 30], diff_min in [-(INT32_MAX >> left_shift), 0]. Where TFLite shifts by
 * more than 31 (sums >= 2^28: rows of 512+ near-equal values; undefined in C) the kernel
 * outputs the exact result, -128. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t mult;
    int32_t left_shift;
    int32_t diff_min;
} sg_softmax_s8_params;

int32_t sg_softmax_s8_scratch_size(const sg_softmax_s8_params *p);
sg_status sg_softmax_s8(const sg_softmax_s8_params *p,
                        const int8_t *input,
                        int8_t *output,
                        sg_scratch scratch);

/* ---- Sparse weights (compiler/slimgen/lower/sparse_format.py packs them; densify() there is
 * their meaning). A packed matrix is a dense [rows][cols] int8 matrix: rows = output channels,
 * cols = the reduction axis (fc in_features, 1x1 C_in). The kernels trust the entries (every
 * column < cols), as the dense kernels trust their weights; the shapes are checked.
 *
 * sg_csr8_s8 (unstructured): row r has row_len[r] entries; a cursor starts at column 0 of each
 * row and each entry moves it by delta (0..255) before its value is used: col_k = col_{k-1} +
 * delta_k, col_{-1} = 0. Gaps >= 255 are bridged by escape entries (delta 255, value 0).
 * sg_bsr1x4_s8: row r has row_blocks[r] blocks of 4 consecutive weights; block b covers
 * columns 4 * block_col[b] .. + 3; values [blocks][4]. cols % 4 == 0.
 * sg_nm4_s8 (N:4, n = 1 or 2): every group of 4 columns holds at most n non-zeros. An entry is
 * one SMLAD against a word of a pair table the kernel builds per input row in scratch: one
 * group (2:4) or two groups (1:4); E = ceil(cols / 4) or ceil(cols / 8) entries per row.
 * offset[r][e]: index of the entry's table word from its block's (entries 16b..16b+15) start;
 * values[r][ceil(E / 2)][4]: entries 2k, 2k+1 as (a0, b0, a1, b1), read by the convolutions;
 * pairs[r][E][2]: the same weights as int16 (a0, a1), read by the fc kernel (one SMLAD operand
 * per entry without an SXTB16: twice the weight bytes for fc's speed). Either may be NULL
 * where its kernel does not run. Layout and table: sparse_format.py (class NM) and
 * kernels/src/sparse/sg_sparse_nm4.h.
 *
 * sg_shared_s8 (shared, weight sharing for flash): one byte per entry, code = entry & (2^code_bits
 * - 1), code_bits 1..4; codebook[1 << code_bits] int8 with codebook[0] == 0. A cursor starts at
 * column 0 of each row; an entry with code != 0 moves it by entry >> code_bits and adds
 * x[cursor] * codebook[code]; code 0 is an escape that moves it by entry itself (a multiple of
 * 2^code_bits) and adds x[cursor] * 0. Row r has row_len8[r] entries (escapes included) when
 * row_len8 is not NULL (every row has at most 255), else row_len[r]; exactly one is set.
 *
 * Folded bias: the sparse kernels never read rq.in_offset's contribution from the weights;
 * bias[r] must be bias + in_offset * sum(all weights of row r) (fold_input_offset()), so the
 * inner loops touch only stored entries. bias may be NULL (0). rq.in_offset is still range
 * checked. Same result as sg_fc_s8 / sg_conv2d_s8_1x1 on the dense matrix and unfolded bias. */
typedef struct {
    int32_t rows;
    int32_t cols;
    const uint16_t *row_len; /* [rows] entries per row, escapes included */
    const uint8_t *delta;    /* [entries] */
    const int8_t *values;    /* [entries] */
} sg_csr8_s8;

typedef struct {
    int32_t rows;
    int32_t cols;                /* multiple of 4 */
    const uint16_t *row_blocks;  /* [rows] */
    const uint16_t *block_col;   /* [blocks] column / 4 */
    const int8_t *values;        /* [blocks][4]; word loads, need not be aligned on Armv7-M */
} sg_bsr1x4_s8;

typedef struct {
    int32_t rows;
    int32_t cols;
    int32_t n;                   /* 1 or 2 non-zeros per group of 4 */
    const uint8_t *offset;       /* [rows][E] pair-table word indexes, block-relative */
    const int8_t *values;        /* [rows][ceil(E / 2)][4]: conv and 1x1 */
    const int16_t *pairs;        /* [rows][E][2]: fc */
} sg_nm4_s8;

typedef struct {
    int32_t rows;
    int32_t cols;
    int32_t code_bits;           /* 1..4 */
    const int8_t *codebook;      /* [1 << code_bits], codebook[0] == 0 */
    const uint8_t *row_len8;     /* [rows] entries per row, escapes included, or NULL */
    const uint16_t *row_len;     /* [rows] the same when a row has more than 255, or NULL */
    const uint8_t *entry;        /* [entries] (delta << code_bits) | code */
} sg_shared_s8;

/* Sparse fully connected: in_features = w.cols, out_features = w.rows. */
typedef struct {
    sg_csr8_s8 w;
    const int32_t *bias; /* folded, [w.rows] or NULL */
    sg_requant rq;
} sg_fc_s8_csr8_params;

typedef struct {
    sg_bsr1x4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_fc_s8_bsr1x4_params;

typedef struct {
    sg_nm4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_fc_s8_nm4_params;

int32_t sg_fc_s8_csr8_scratch_size(const sg_fc_s8_csr8_params *p);
sg_status sg_fc_s8_csr8(const sg_fc_s8_csr8_params *p,
                        const int8_t *input,
                        int8_t *output,
                        sg_scratch scratch);
int32_t sg_fc_s8_bsr1x4_scratch_size(const sg_fc_s8_bsr1x4_params *p);
sg_status sg_fc_s8_bsr1x4(const sg_fc_s8_bsr1x4_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch);
int32_t sg_fc_s8_nm4_scratch_size(const sg_fc_s8_nm4_params *p);
sg_status sg_fc_s8_nm4(const sg_fc_s8_nm4_params *p,
                       const int8_t *input,
                       int8_t *output,
                       sg_scratch scratch);

typedef struct {
    sg_shared_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_fc_s8_shared_params;

int32_t sg_fc_s8_shared_scratch_size(const sg_fc_s8_shared_params *p);
sg_status sg_fc_s8_shared(const sg_fc_s8_shared_params *p,
                          const int8_t *input,
                          int8_t *output,
                          sg_scratch scratch);

/* Sparse 1x1 pointwise convolution (stride 1, no padding): in 1 x H x W x C_in, out
 * 1 x H x W x C_out with C_in = w.cols, C_out = w.rows, in.h == out.h, in.w == out.w. */
typedef struct {
    sg_dims in;
    sg_dims out;
    sg_csr8_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_1x1_csr8_params;

typedef struct {
    sg_dims in;
    sg_dims out;
    sg_bsr1x4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_1x1_bsr1x4_params;

typedef struct {
    sg_dims in;
    sg_dims out;
    sg_nm4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_1x1_nm4_params;

int32_t sg_conv2d_s8_1x1_csr8_scratch_size(const sg_conv2d_s8_1x1_csr8_params *p);
sg_status sg_conv2d_s8_1x1_csr8(const sg_conv2d_s8_1x1_csr8_params *p,
                                const int8_t *input,
                                int8_t *output,
                                sg_scratch scratch);
int32_t sg_conv2d_s8_1x1_bsr1x4_scratch_size(const sg_conv2d_s8_1x1_bsr1x4_params *p);
sg_status sg_conv2d_s8_1x1_bsr1x4(const sg_conv2d_s8_1x1_bsr1x4_params *p,
                                  const int8_t *input,
                                  int8_t *output,
                                  sg_scratch scratch);
int32_t sg_conv2d_s8_1x1_nm4_scratch_size(const sg_conv2d_s8_1x1_nm4_params *p);
sg_status sg_conv2d_s8_1x1_nm4(const sg_conv2d_s8_1x1_nm4_params *p,
                               const int8_t *input,
                               int8_t *output,
                               sg_scratch scratch);

typedef struct {
    sg_dims in;
    sg_dims out;
    sg_shared_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_1x1_shared_params;

int32_t sg_conv2d_s8_1x1_shared_scratch_size(const sg_conv2d_s8_1x1_shared_params *p);
sg_status sg_conv2d_s8_1x1_shared(const sg_conv2d_s8_1x1_shared_params *p,
                                  const int8_t *input,
                                  int8_t *output,
                                  sg_scratch scratch);

/* Sparse convolution, groups = 1, any window (sg_conv2d_s8's geometry): the OHWI filter
 * flattened to [C_out][K_h * K_w * C_in] and packed; im2col rows of 4 output pixels go to
 * scratch (_scratch_size: 4 * K_h * K_w * C_in bytes, and for N:4 two pair tables and sums
 * before them), padded taps holding the input zero point so that the folded bias cancels
 * them. w.rows = filter.n = out.c, w.cols = filter.h * filter.w * filter.c, filter.c = in.c. */
typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    sg_csr8_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_csr8_params;

typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    sg_bsr1x4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_bsr1x4_params;

typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    sg_nm4_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_nm4_params;

int32_t sg_conv2d_s8_csr8_scratch_size(const sg_conv2d_s8_csr8_params *p);
sg_status sg_conv2d_s8_csr8(const sg_conv2d_s8_csr8_params *p,
                            const int8_t *input,
                            int8_t *output,
                            sg_scratch scratch);
int32_t sg_conv2d_s8_bsr1x4_scratch_size(const sg_conv2d_s8_bsr1x4_params *p);
sg_status sg_conv2d_s8_bsr1x4(const sg_conv2d_s8_bsr1x4_params *p,
                              const int8_t *input,
                              int8_t *output,
                              sg_scratch scratch);
int32_t sg_conv2d_s8_nm4_scratch_size(const sg_conv2d_s8_nm4_params *p);
sg_status sg_conv2d_s8_nm4(const sg_conv2d_s8_nm4_params *p,
                           const int8_t *input,
                           int8_t *output,
                           sg_scratch scratch);

typedef struct {
    sg_dims in;
    sg_dims filter;
    sg_dims out;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t dil_h;
    int32_t dil_w;
    sg_shared_s8 w;
    const int32_t *bias; /* folded */
    sg_requant rq;
} sg_conv2d_s8_shared_params;

int32_t sg_conv2d_s8_shared_scratch_size(const sg_conv2d_s8_shared_params *p);
sg_status sg_conv2d_s8_shared(const sg_conv2d_s8_shared_params *p,
                              const int8_t *input,
                              int8_t *output,
                              sg_scratch scratch);

#endif /* SG_KERNELS_H */
