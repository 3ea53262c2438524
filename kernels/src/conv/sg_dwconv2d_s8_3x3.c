/* sg_dwconv2d_s8_3x3: int8 depthwise convolution specialized for a 3x3 filter, dilation 1 and
 * channel multiplier 1 (MobileNet, DS-CNN), any stride and padding.
 * Reference: compiler/slimgen/ref/conv.py dwconv2d(); same params and result as
 * sg_dwconv2d_s8.
 *
 * DSP path, one channel at a time: the channel's input, plus in_offset, is copied into an int16
 * plane in scratch with the padding around it as zeros (a padded tap is x + in_offset = 0, so it
 * adds nothing, exactly like the skipped taps of the reference). Every output pixel then reads a
 * full 3x3 window with no bounds and no offset: per filter row, one LDR of two adjacent int16
 * taps for SMLAD and one LDR whose low half is the third. At vertical stride 1 pixels go in
 * pairs one above the other (they share two window rows); other strides and an odd last row
 * take a row loop. Copying costs a few instructions per input element, and
 * reading one channel of NHWC is a strided walk, but both are paid once per element instead of
 * once per tap, and no pixel needs border code. */
/* GCC's first (pre-register-allocation) scheduling pass hoists the window loads of a pixel pair
 * ahead of their multiplies, which needs more registers than the loop has, and spills; without
 * it the loop keeps its constants in registers. Induction-variable optimization turns the
 * vertical pair loop's down-counter into an end pointer and the output pointer into a stack
 * slot; without it two fewer values spill (dw3x3 benchmark: M4 est. cycles 383,964 -> 366,585).
 * GCC on DSP targets only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_DSP) &&                     \
    !defined(SG_EMULATE_DSP)
#pragma GCC optimize("no-schedule-insns", "no-ivopts")
#endif

#include "sg_kernels.h"

#include "../mve/sg_dwconv2d_s8_mve.h"
#include "sg_dwconv2d_common.h"

/* Up to 1024 halfwords a plane, two planes (channels c and c + 1 are filled together, half the
 * fill work per element), each an even number of halfwords so the second stays 4-byte aligned;
 * larger planes, one (the memory matters more there: a 48 x 48 layer's second plane would be
 * the arena peak of MobileNet-VWW). Plus one halfword: the last pixel reads its third tap as the
 * low half of a word. */
#define DW3X3_PAIRED_PLANE_MAX 1024

static int64_t dw3x3_plane_stride(const sg_dwconv2d_s8_params *p)
{
    return (sg_dw_plane_halfwords(p) + 1) & ~(int64_t)1;
}

static int dw3x3_paired(const sg_dwconv2d_s8_params *p)
{
    return sg_dw_plane_halfwords(p) <= DW3X3_PAIRED_PLANE_MAX;
}

int32_t sg_dwconv2d_s8_3x3_scratch_size(const sg_dwconv2d_s8_params *p)
{
    return sg_dw_scratch_bytes((dw3x3_paired(p) ? 2 : 1) * dw3x3_plane_stride(p) + 1);
}

#if SG_HAS_DSP && !SG_HAS_MVE
/* Channel c of the whole output from the filled plane. Per filter row, SMLAD takes taps 0 and
 * 1 as one word and SMLABB / SMLABT tap 2 (read as the low half of the word at tap 2); the
 * three tap-2 weights share two registers. Weights and bias are doubled for the output stage. */
static inline void dw3x3_channel(const sg_dw_plane *pl, const sg_dwconv2d_s8_params *p,
                                 int32_t c, int8_t *output, int full_range)
{
    const int8_t *w = p->weights + c;
    const int32_t channels = p->out.c;
    const int32_t w0 = sg_pkhbt(2 * w[0], 2 * w[channels], 16);
    const int32_t w1 = sg_pkhbt(2 * w[3 * channels], 2 * w[4 * channels], 16);
    const int32_t w2 = sg_pkhbt(2 * w[6 * channels], 2 * w[7 * channels], 16);
    const int32_t w_last01 = sg_pkhbt(2 * w[2 * channels], 2 * w[5 * channels], 16);
    const int32_t w_last2 = 2 * w[8 * channels];
    const sg_dw_channel ch = sg_dw_channel_at(p, c);
    const sg_dw_clamp clamp = sg_dw_clamp_of(p);

    const int32_t plane_w = pl->plane_w;
    const int32_t row_step = p->stride_h * plane_w;
    const int32_t col_step = p->stride_w;
    const int32_t out_w = p->out.w;
    const int32_t out_h = p->out.h;
    int8_t *out = output + c;
    const int16_t *row = pl->plane;
    int32_t oy = 0;
    if (p->stride_h == 1) {
        /* Two pixels one above the other share two window rows: per column, 4 rows of 2 loads
         * (taps 0 and 1 as one word, tap 2 as the low half of the next) serve both, 8 loads
         * instead of 12, and a row pair has no odd pixel left over when out_w is odd. */
        const int32_t out_row = out_w * channels;
        for (; oy + 1 < out_h; oy += 2) {
            const int16_t *in = row;
            for (int32_t n = out_w; n > 0; --n) {
                const int16_t *r = in;
                int32_t x01 = sg_read_s16x2(r);
                int32_t x2 = sg_read_s16x2(r + 2);
                int32_t a = sg_smlad(x01, w0, ch.bias2);
                a = sg_smlabb(x2, w_last01, a);
                r += plane_w;
                x01 = sg_read_s16x2(r);
                x2 = sg_read_s16x2(r + 2);
                int32_t b = sg_smlad(x01, w0, ch.bias2);
                a = sg_smlad(x01, w1, a);
                b = sg_smlabb(x2, w_last01, b);
                a = sg_smlabt(x2, w_last01, a);
                r += plane_w;
                x01 = sg_read_s16x2(r);
                x2 = sg_read_s16x2(r + 2);
                a = sg_smlad(x01, w2, a);
                b = sg_smlad(x01, w1, b);
                a = sg_smlabb(x2, w_last2, a);
                b = sg_smlabt(x2, w_last01, b);
                r += plane_w;
                x01 = sg_read_s16x2(r);
                x2 = sg_read_s16x2(r + 2);
                b = sg_smlad(x01, w2, b);
                b = sg_smlabb(x2, w_last2, b);
                out[0] = sg_dw_output(a, &ch, clamp, full_range);
                out[out_row] = sg_dw_output(b, &ch, clamp, full_range);
                out += channels;
                in += col_step;
            }
            out += out_row;
            row += 2 * plane_w;
        }
    }
    for (; oy < out_h; ++oy) {
        const int16_t *in = row;
        int8_t *const row_end = out + out_w * channels;
        if (col_step == 1) {
            /* Two pixels side by side share a window column: per filter row, words (t0, t1),
             * (t1, t2) and (t2, t3) serve both, 3 loads instead of 4. */
            for (int32_t n = out_w >> 1; n > 0; --n) {
                const int16_t *mid = in + plane_w;
                const int16_t *bottom = in + 2 * plane_w;
                int32_t x01 = sg_read_s16x2(in), x12 = sg_read_s16x2(in + 1);
                int32_t x23 = sg_read_s16x2(in + 2);
                int32_t a = sg_smlad(x01, w0, ch.bias2);
                a = sg_smlabb(x23, w_last01, a);
                int32_t b = sg_smlad(x12, w0, ch.bias2);
                b = sg_smlatb(x23, w_last01, b);
                x01 = sg_read_s16x2(mid);
                x12 = sg_read_s16x2(mid + 1);
                x23 = sg_read_s16x2(mid + 2);
                a = sg_smlad(x01, w1, a);
                a = sg_smlabt(x23, w_last01, a);
                b = sg_smlad(x12, w1, b);
                b = sg_smlatt(x23, w_last01, b);
                x01 = sg_read_s16x2(bottom);
                x12 = sg_read_s16x2(bottom + 1);
                x23 = sg_read_s16x2(bottom + 2);
                a = sg_smlad(x01, w2, a);
                a = sg_smlabb(x23, w_last2, a);
                b = sg_smlad(x12, w2, b);
                b = sg_smlatb(x23, w_last2, b);
                out[0] = sg_dw_output(a, &ch, clamp, full_range);
                out[channels] = sg_dw_output(b, &ch, clamp, full_range);
                out += 2 * channels;
                in += 2;
            }
        }
        while (out != row_end) {
            const int16_t *mid = in + plane_w;
            const int16_t *bottom = in + 2 * plane_w;
            int32_t acc = sg_smlad(sg_read_s16x2(in), w0, ch.bias2);
            acc = sg_smlabb(sg_read_s16x2(in + 2), w_last01, acc);
            acc = sg_smlad(sg_read_s16x2(mid), w1, acc);
            acc = sg_smlabt(sg_read_s16x2(mid + 2), w_last01, acc);
            acc = sg_smlad(sg_read_s16x2(bottom), w2, acc);
            acc = sg_smlabb(sg_read_s16x2(bottom + 2), w_last2, acc);
            *out = sg_dw_output(acc, &ch, clamp, full_range);
            out += channels;
            in += col_step;
        }
        row += row_step;
    }
}

/* Input channels c and c + 1 into two planes at once: per two pixels, two LDRH put the four
 * bytes (c, c + 1 of pixel p, then of pixel p + 1) in one word, and SXTAB16 / SXTAB16 ROR 8 give
 * each channel's pair of pixels, in_offset added: one STR per plane. Half the work per element
 * of filling the planes one at a time. */
static void dw3x3_fill_planes2(const sg_dw_plane *pl0, const sg_dw_plane *pl1,
                               const sg_dwconv2d_s8_params *p, const int8_t *input, int32_t c)
{
    const int32_t channels = p->in.c;
    const int32_t in_row = p->in.w * channels;
    const int32_t offset2 = sg_dup16(p->rq.in_offset);
    const int32_t in_offset = p->rq.in_offset;
    const int32_t pairs = pl0->cols >> 1;
    const int32_t plane_w = pl0->plane_w;
    const int32_t start = p->pad_top * plane_w + p->pad_left;
    const uint8_t *src_row = (const uint8_t *)input + c;
    for (int32_t iy = 0; iy < pl0->rows; ++iy) {
        const uint8_t *src = src_row;
        int16_t *dst0 = pl0->plane + start + iy * plane_w;
        int16_t *dst1 = pl1->plane + start + iy * plane_w;
        for (int32_t n = pairs; n > 0; --n) {
            const uint32_t bytes = ((uint32_t)src[0] | ((uint32_t)src[1] << 8)) |
                                   (((uint32_t)src[channels] | ((uint32_t)src[channels + 1] << 8))
                                    << 16);
            sg_write_s16x2(dst0, sg_sxtab16(offset2, (int32_t)bytes));
            sg_write_s16x2(dst1, sg_sxtab16_ror8(offset2, (int32_t)bytes));
            src += 2 * channels;
            dst0 += 2;
            dst1 += 2;
        }
        if (pl0->cols & 1) {
            const int8_t *last = (const int8_t *)src;
            *dst0 = (int16_t)(last[0] + in_offset);
            *dst1 = (int16_t)(last[1] + in_offset);
        }
        src_row += in_row;
    }
}

static void dw3x3_channel_of(const sg_dw_plane *pl, const sg_dwconv2d_s8_params *p, int32_t c,
                             int8_t *output, int full_range)
{
    if (full_range) {
        dw3x3_channel(pl, p, c, output, 1);
    } else {
        dw3x3_channel(pl, p, c, output, 0);
    }
}

static void dwconv2d_3x3_dsp(const sg_dwconv2d_s8_params *p, const int8_t *input,
                             int8_t *output, int16_t *planes)
{
    const sg_dw_plane pl0 = sg_dw_plane_zeroed(p, planes);
    const int full_range = p->rq.act_min == -128 && p->rq.act_max == 127;
    int32_t c = 0;
    if (dw3x3_paired(p)) {
        const sg_dw_plane pl1 = sg_dw_plane_zeroed(p, planes + dw3x3_plane_stride(p));
        for (; c + 1 < p->out.c; c += 2) {
            dw3x3_fill_planes2(&pl0, &pl1, p, input, c);
            dw3x3_channel_of(&pl0, p, c, output, full_range);
            dw3x3_channel_of(&pl1, p, c + 1, output, full_range);
        }
    }
    for (; c < p->out.c; ++c) {
        sg_dw_fill_plane(&pl0, p, input, c);
        dw3x3_channel_of(&pl0, p, c, output, full_range);
    }
}
#endif /* SG_HAS_DSP && !SG_HAS_MVE */

sg_status sg_dwconv2d_s8_3x3(const sg_dwconv2d_s8_params *p,
                             const int8_t *input,
                             int8_t *output,
                             sg_scratch scratch)
{
    SG_TRY(sg_dwconv2d_check(p, input, output));
    SG_REQUIRE(p->filter.h == 3 && p->filter.w == 3 && p->dil_h == 1 && p->dil_w == 1 &&
                   p->ch_mult == 1,
               SG_ERR_UNSUPPORTED);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_dwconv2d_s8_3x3_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    const sg_window_geometry g = sg_dwconv2d_geometry(p);
    sg_dwconv2d_s8_mve(p, &g, input, output);
#elif SG_HAS_DSP
    if (sg_dw_fast_ok(p)) {
        dwconv2d_3x3_dsp(p, input, output, (int16_t *)scratch.buf);
    } else {
        sg_dw_portable(p, 0, input, output);
    }
#else
    sg_dw_portable(p, 0, input, output);
#endif
    return SG_OK;
}
