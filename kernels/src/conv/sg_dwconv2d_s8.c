/* sg_dwconv2d_s8: int8 depthwise convolution (groups = C_in) with channel multiplier ch_mult,
 * any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py dwconv2d().
 *
 * DSP path, one input channel at a time: the channel goes into a zero-padded int16 plane
 * (sg_dwconv2d_common.h), then each of its ch_mult output channels walks every output pixel
 * over the plane with no bounds, from a flat list of tap offsets and doubled weights in scratch:
 * with dilation 1 along x, SMLAD takes two adjacent taps per step. */
#include "sg_kernels.h"

#include "../mve/sg_dwconv2d_s8_mve.h"
#include "sg_dwconv2d_common.h"

/* Scratch: a tap list, K_h x K_w int32 plane offsets then as many int32 weights, then the padded
 * plane. */
static int64_t dw_taps(const sg_dwconv2d_s8_params *p)
{
    return (int64_t)p->filter.h * p->filter.w;
}

int32_t sg_dwconv2d_s8_scratch_size(const sg_dwconv2d_s8_params *p)
{
    return sg_dw_scratch_bytes(4 * dw_taps(p) + sg_dw_plane_halfwords(p));
}

#if SG_HAS_DSP
/* The window as a flat list: with dilation 1 along x, pairs of horizontally adjacent taps first
 * (one word of the plane against a halfword pair of weights, SMLAD), then the taps left over
 * (an odd filter width, or any dilation), one MLA each. Plane offsets are the same for every
 * pixel and channel, so the per-pixel loop has one bound and no row arithmetic. */
typedef struct {
    int32_t *offset; /* [pairs + singles] halfword offsets in the plane */
    int32_t *weight; /* [pairs + singles] doubled weights: packed pairs, then plain */
    int32_t pairs;
    int32_t singles;
} dw_tap_list;

static dw_tap_list dw_tap_list_of(const sg_dwconv2d_s8_params *p, int32_t plane_w,
                                  int32_t *buf)
{
    const int32_t kh = p->filter.h, kw = p->filter.w;
    const int32_t per_row = p->dil_w == 1 ? kw >> 1 : 0;
    dw_tap_list t;
    t.offset = buf;
    t.weight = buf + kh * kw;
    t.pairs = kh * per_row;
    t.singles = kh * (kw - 2 * per_row);
    int32_t n = 0;
    for (int32_t ky = 0; ky < kh; ++ky) {
        for (int32_t j = 0; j < per_row; ++j) {
            t.offset[n++] = ky * p->dil_h * plane_w + 2 * j;
        }
    }
    for (int32_t ky = 0; ky < kh; ++ky) {
        for (int32_t kx = 2 * per_row; kx < kw; ++kx) {
            t.offset[n++] = ky * p->dil_h * plane_w + kx * p->dil_w;
        }
    }
    return t;
}

/* Output channel o's doubled weights in the list's order. */
static void dw_tap_weights(const dw_tap_list *t, const sg_dwconv2d_s8_params *p, int32_t o)
{
    const int32_t kw = p->filter.w, c_out = p->out.c;
    const int32_t per_row = t->pairs / p->filter.h;
    int32_t n = 0;
    for (int32_t ky = 0; ky < p->filter.h; ++ky) {
        for (int32_t j = 0; j < per_row; ++j) {
            const int8_t *w = p->weights + (ky * kw + 2 * j) * c_out + o;
            t->weight[n++] = sg_pkhbt(2 * w[0], 2 * w[c_out], 16);
        }
    }
    for (int32_t ky = 0; ky < p->filter.h; ++ky) {
        for (int32_t kx = 2 * per_row; kx < kw; ++kx) {
            t->weight[n++] = 2 * p->weights[(ky * kw + kx) * c_out + o];
        }
    }
}

/* Output channel o from the filled plane of its input channel. */
static inline void dw_channel_dsp(const sg_dw_plane *pl, const sg_dwconv2d_s8_params *p,
                                  int32_t o, const dw_tap_list *t, int8_t *output,
                                  int full_range)
{
    dw_tap_weights(t, p, o);
    const sg_dw_channel ch = sg_dw_channel_at(p, o);
    const sg_dw_clamp clamp = sg_dw_clamp_of(p);
    const int32_t *const pair_end = t->offset + t->pairs;
    const int32_t *const single_end = pair_end + t->singles;
    const int32_t c_out = p->out.c;
    const int32_t out_w = p->out.w, out_h = p->out.h;
    int8_t *out = output + o;
    for (int32_t oy = 0; oy < out_h; ++oy) {
        const int16_t *in = pl->plane + oy * p->stride_h * pl->plane_w;
        for (int32_t ox = 0; ox < out_w; ++ox) {
            int32_t acc = ch.bias2;
            const int32_t *off = t->offset;
            const int32_t *w = t->weight;
            for (; off != pair_end; ++off, ++w) {
                acc = sg_smlad(sg_read_s16x2(in + *off), *w, acc);
            }
            for (; off != single_end; ++off, ++w) {
                acc += in[*off] * *w;
            }
            *out = sg_dw_output(acc, &ch, clamp, full_range);
            out += c_out;
            in += p->stride_w;
        }
    }
}

static void dwconv2d_dsp(const sg_dwconv2d_s8_params *p, const int8_t *input, int8_t *output,
                         int32_t *scratch)
{
    const sg_dw_plane pl = sg_dw_plane_zeroed(p, (int16_t *)(scratch + 2 * dw_taps(p)));
    const dw_tap_list taps = dw_tap_list_of(p, pl.plane_w, scratch);
    const int full_range = p->rq.act_min == -128 && p->rq.act_max == 127;
    for (int32_t c = 0; c < p->in.c; ++c) {
        sg_dw_fill_plane(&pl, p, input, c);
        for (int32_t o = c * p->ch_mult; o < (c + 1) * p->ch_mult; ++o) {
            if (full_range) {
                dw_channel_dsp(&pl, p, o, &taps, output, 1);
            } else {
                dw_channel_dsp(&pl, p, o, &taps, output, 0);
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
        dwconv2d_dsp(p, input, output, (int32_t *)scratch.buf);
        return SG_OK;
    }
#endif
    sg_dw_portable(p, 0, input, output);
    return SG_OK;
}
