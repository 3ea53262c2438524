/* sg_dwconv2d_s8: int8 depthwise convolution (groups = C_in) with channel multiplier ch_mult,
 * any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py dwconv2d().
 *
 * DSP path, one input channel at a time: the channel goes into a zero-padded int16 plane
 * (sg_dwconv2d_common.h), then each of its ch_mult output channels walks every output pixel
 * over the plane with no bounds: with dilation 1 along x, SMLAD takes two adjacent taps per
 * step against the weights, doubled and widened once per channel into scratch. */
#include "sg_kernels.h"

#include "../mve/sg_dwconv2d_s8_mve.h"
#include "sg_dwconv2d_common.h"

/* Scratch: one channel's doubled int16 weights (K_h x K_w, rounded up to an even count so the
 * plane after them stays 4-byte aligned), then the padded plane. */
static int32_t dw_weights_halfwords(const sg_dwconv2d_s8_params *p)
{
    return (p->filter.h * p->filter.w + 1) & ~1;
}

int32_t sg_dwconv2d_s8_scratch_size(const sg_dwconv2d_s8_params *p)
{
    return sg_dw_scratch_bytes((int64_t)dw_weights_halfwords(p) + sg_dw_plane_halfwords(p));
}

#if SG_HAS_DSP
/* Output channel o from the filled plane of its input channel. */
static inline void dw_channel_dsp(const sg_dw_plane *pl, const sg_dwconv2d_s8_params *p,
                                  int32_t o, int16_t *w2, int8_t *output, int full_range)
{
    const int32_t kh = p->filter.h, kw = p->filter.w;
    const int32_t c_out = p->out.c;
    for (int32_t t = 0; t < kh * kw; ++t) {
        w2[t] = (int16_t)(2 * p->weights[t * c_out + o]);
    }
    const sg_dw_channel ch = sg_dw_channel_at(p, o);
    const sg_dw_clamp clamp = sg_dw_clamp_of(p);

    const int32_t plane_w = pl->plane_w;
    const int32_t tap_row = p->dil_h * plane_w;
    const int32_t dil_w = p->dil_w;
    const int32_t pairs = dil_w == 1 ? kw >> 1 : 0;
    const int32_t out_w = p->out.w, out_h = p->out.h;
    int8_t *out = output + o;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int16_t *in = pl->plane + oy * p->stride_h * plane_w;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            int32_t acc = ch.bias2;
            const int16_t *row = in;
            const int16_t *wt = w2;
            for (int32_t ky = 0; ky < kh; ++ky) {
                for (int32_t j = 0; j < pairs; ++j) {
                    acc = sg_smlad(sg_read_s16x2(row + 2 * j), sg_read_s16x2(wt + 2 * j), acc);
                }
                for (int32_t kx = 2 * pairs; kx < kw; ++kx) {
                    acc += row[kx * dil_w] * wt[kx];
                }
                row += tap_row;
                wt += kw;
            }
            *out = sg_dw_output(acc, &ch, clamp, full_range);
            out += c_out;
            in += p->stride_w;
        }
    }
}

static void dwconv2d_dsp(const sg_dwconv2d_s8_params *p, const int8_t *input, int8_t *output,
                         int16_t *scratch)
{
    int16_t *w2 = scratch;
    const sg_dw_plane pl = sg_dw_plane_zeroed(p, scratch + dw_weights_halfwords(p));
    const int full_range = p->rq.act_min == -128 && p->rq.act_max == 127;
    for (int32_t c = 0; c < p->in.c; ++c) {
        sg_dw_fill_plane(&pl, p, input, c);
        for (int32_t o = c * p->ch_mult; o < (c + 1) * p->ch_mult; ++o) {
            if (full_range) {
                dw_channel_dsp(&pl, p, o, w2, output, 1);
            } else {
                dw_channel_dsp(&pl, p, o, w2, output, 0);
            }
        }
    }
}
#endif /* SG_HAS_DSP */

sg_status sg_dwconv2d_s8(const sg_dwconv2d_s8_params *p,
                         const int8_t *input,
                         int8_t *output,
                         sg_scratch scratch)
{
    SG_TRY(sg_dwconv2d_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_dwconv2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    if (p->ch_mult == 1) {
        const sg_window_geometry g = sg_dwconv2d_geometry(p);
        sg_dwconv2d_s8_mve(p, &g, input, output);
        return SG_OK;
    }
#endif
#if SG_HAS_DSP
    if (sg_dw_fast_ok(p)) {
        dwconv2d_dsp(p, input, output, (int16_t *)scratch.buf);
        return SG_OK;
    }
#endif
    sg_dw_portable(p, 0, input, output);
    return SG_OK;
}
