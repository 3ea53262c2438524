/* slimgen kernel internals: what sg_dwconv2d_s8 and sg_dwconv2d_s8_3x3 share.
 *
 * The portable per-pixel loop (the reference the DSP loops are tested against), the argument
 * checks, and the DSP path's output stage.
 */
#ifndef SG_DWCONV2D_COMMON_H
#define SG_DWCONV2D_COMMON_H

#include "sg_kernels.h"

#include "../sg_arch.h"
#include "../sg_requant.h"
#include "../sg_window.h"

static inline sg_window_geometry sg_dwconv2d_geometry(const sg_dwconv2d_s8_params *p)
{
    const sg_window_geometry g = {p->in,       p->out,      p->filter.h, p->filter.w,
                                  p->stride_h, p->stride_w, p->pad_top,  p->pad_left,
                                  p->dil_h,    p->dil_w};
    return g;
}

static inline sg_status sg_dwconv2d_check(const sg_dwconv2d_s8_params *p, const int8_t *input,
                                          const int8_t *output)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL && p->weights != NULL, SG_ERR_ARG);
    const sg_window_geometry g = sg_dwconv2d_geometry(p);
    SG_REQUIRE(sg_window_geometry_ok(&g), SG_ERR_ARG);
    SG_REQUIRE(p->ch_mult > 0 && (int64_t)p->in.c * p->ch_mult == p->out.c, SG_ERR_ARG);
    SG_REQUIRE(p->filter.n == 1 && p->filter.c == p->out.c, SG_ERR_ARG);
    SG_REQUIRE((int64_t)p->filter.h * p->filter.w * p->filter.c <= INT32_MAX, SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->out.c), SG_ERR_ARG);
    return SG_OK;
}

/* Output channels [c_begin, out.c) of one output pixel: what sg_for_each_window hands the
 * portable loop. c_begin > 0 is the DSP path's tail of out.c % 4 channels. */
typedef struct {
    const sg_dwconv2d_s8_params *p;
    int32_t c_begin;
} sg_dw_channels;

/* Output channel o reads input channel o / ch_mult, as torch's grouped conv does; its weights
 * are strided by C_out (HWC layout). */
static inline void sg_dw_pixel_portable(const void *params, const int8_t *in_tap,
                                        const sg_window *win, int8_t *out_pixel)
{
    const sg_dw_channels *ch = (const sg_dw_channels *)params;
    const sg_dwconv2d_s8_params *p = ch->p;
    const int32_t c_out = p->out.c;
    const int32_t in_row_step = p->dil_h * p->in.w * p->in.c;
    const int32_t in_col_step = p->dil_w * p->in.c;
    const int32_t in_offset = p->rq.in_offset;

    for (int32_t o = ch->c_begin; o < c_out; ++o) {
        const int8_t *in_channel = in_tap + o / p->ch_mult;
        int32_t acc = p->bias != NULL ? p->bias[o] : 0;
        for (int32_t r = 0; r < win->y.count; ++r) {
            for (int32_t c = 0; c < win->x.count; ++c) {
                const int32_t tap = (win->y.begin + r) * p->filter.w + win->x.begin + c;
                const int32_t x = in_channel[r * in_row_step + c * in_col_step];
                acc += (x + in_offset) * (int32_t)p->weights[tap * c_out + o];
            }
        }
        out_pixel[o] = sg_requant_output(acc, &p->rq, o);
    }
}

/* The whole layer, or its channels from c_begin on, through the portable loop. */
static inline void sg_dw_portable(const sg_dwconv2d_s8_params *p, int32_t c_begin,
                                  const int8_t *input, int8_t *output)
{
    const sg_window_geometry g = sg_dwconv2d_geometry(p);
    const sg_dw_channels ch = {p, c_begin};
    sg_for_each_window(&g, sg_dw_pixel_portable, &ch, input, output);
}

/* ---- The DSP paths' padded plane ----------------------------------------------------------
 * One input channel, plus in_offset, as int16, with the padding around it as zeros (a padded
 * tap is x + in_offset = 0, so it adds nothing, exactly like the taps the reference skips).
 * Every output window then lies inside the plane: no bounds and no offset in the pixel loops.
 * Its size is what the output windows cover, (out - 1) * stride + (k - 1) * dil + 1 per axis. */
static inline int32_t sg_dw_plane_h(const sg_dwconv2d_s8_params *p)
{
    return (p->out.h - 1) * p->stride_h + (p->filter.h - 1) * p->dil_h + 1;
}

static inline int32_t sg_dw_plane_w(const sg_dwconv2d_s8_params *p)
{
    return (p->out.w - 1) * p->stride_w + (p->filter.w - 1) * p->dil_w + 1;
}

static inline int64_t sg_dw_plane_halfwords(const sg_dwconv2d_s8_params *p)
{
    return (int64_t)sg_dw_plane_h(p) * sg_dw_plane_w(p);
}

/* 2 * halfwords bytes rounded up to 4, or INT32_MAX when that does not fit. */
static inline int32_t sg_dw_scratch_bytes(int64_t halfwords)
{
    const int64_t bytes = 2 * halfwords;
    return bytes + 3 > INT32_MAX ? INT32_MAX : (int32_t)((bytes + 3) & ~(int64_t)3);
}

#if SG_HAS_DSP
/* Input rows [0, rows) and columns [0, cols) that land in the plane; the rest of the plane is
 * padding, zeroed once per call. */
typedef struct {
    int16_t *plane;
    int32_t plane_w;
    int32_t rows;
    int32_t cols;
} sg_dw_plane;

/* Input channel c, plus in_offset, into the plane's interior. Two elements per step:
 * their bytes side by side in one word, SXTAB16 sign-extends both and adds in_offset to each,
 * and one STR writes the pair (the loop overhead and the store are most of a one-element
 * step). Sizes are copied to locals: the stores may alias *p as far as the compiler knows. */
static inline void sg_dw_fill_plane(const sg_dw_plane *pl, const sg_dwconv2d_s8_params *p,
                             const int8_t *input, int32_t c)
{
    const int32_t channels = p->in.c;
    const int32_t in_row = p->in.w * channels;
    const int32_t offset2 = sg_dup16(p->rq.in_offset);
    const int32_t pairs = pl->cols >> 1;
    const int32_t plane_w = pl->plane_w;
    const uint8_t *src_row = (const uint8_t *)input + c;
    int16_t *dst_row = pl->plane + p->pad_top * plane_w + p->pad_left;
    for (int32_t iy = 0; iy < pl->rows; ++iy) {
        const uint8_t *src = src_row;
        int16_t *dst = dst_row;
        for (int32_t n = pairs; n > 0; --n) {
            const uint32_t bytes = (uint32_t)src[0] | ((uint32_t)src[channels] << 16);
            sg_write_s16x2(dst, sg_sxtab16(offset2, (int32_t)bytes));
            src += 2 * channels;
            dst += 2;
        }
        if (pl->cols & 1) {
            *dst = (int16_t)(*(const int8_t *)src + p->rq.in_offset);
        }
        src_row += in_row;
        dst_row += plane_w;
    }
}

/* The plane at buf, all zeros, and which input rows and columns land in it. */
static inline sg_dw_plane sg_dw_plane_zeroed(const sg_dwconv2d_s8_params *p, int16_t *buf)
{
    sg_dw_plane pl;
    pl.plane = buf;
    pl.plane_w = sg_dw_plane_w(p);
    const int32_t plane_h = sg_dw_plane_h(p);
    pl.rows = sg_max_s32(sg_min_s32(p->in.h, plane_h - p->pad_top), 0);
    pl.cols = sg_max_s32(sg_min_s32(p->in.w, pl.plane_w - p->pad_left), 0);
    for (int32_t i = 0; i < plane_h * pl.plane_w; ++i) {
        buf[i] = 0;
    }
    return pl;
}
#endif /* SG_HAS_DSP */

#if SG_HAS_DSP
/* ---- DSP path: the output stage ----------------------------------------------------------
 * The DSP loops keep each accumulator doubled (2 * acc: doubled weights and bias), so SMMULR
 * (a * b + 2^31) >> 32 of 2 * acc and mult is exactly gemmlowp's rounding doubling high
 * multiply (acc * mult + 2^30) >> 31, one instruction instead of a 64-bit multiply, add and
 * funnel shift. The rounding right shift by rs >= 1, ties away from zero, is
 * (y + 2^(rs - 1) + (y < 0 ? -1 : 0)) >> rs: for y >= 0 that is round half up, for y < 0 round
 * half down, which is gemmlowp's RoundingDivideByPOT. out_offset * 2^rs added before the shift
 * comes out as + out_offset after it (exactly: it is a multiple of 2^rs), so one constant per
 * channel does both adds. All of it needs headroom: |2 * acc| < 2^31 (so |y| < 2^30), and
 * shift in [-22, -1] (rs >= 1, and |out_offset| * 2^rs <= 2^29, so the sum stays below 2^31).
 * sg_dw_fast_ok proves both before the layer runs; a layer that fails (not seen in practice:
 * bias and 255 * sum|w| are far below 2^30, shifts about -7 to -11) runs the portable loop
 * instead, so results never depend on the path. */

typedef struct {
    int32_t bias2; /* 2 * bias */
    int32_t mult;
    int32_t add; /* 2^(rs - 1) + out_offset * 2^rs */
    int32_t rshift;
} sg_dw_channel;

/* Every channel of the layer meets the fast output stage's preconditions above. |acc| is at
 * most |bias| + 255 * 128 * taps (x + in_offset in [-255, 255], |w| <= 128); so is every partial
 * sum. A bound from the actual weights would be tighter but cost a pass over them per call. */
static inline int sg_dw_fast_ok(const sg_dwconv2d_s8_params *p)
{
    const int64_t products = (int64_t)255 * 128 * p->filter.h * p->filter.w;
    for (int32_t o = 0; o < p->out.c; ++o) {
        const int64_t bias = p->bias != NULL ? p->bias[o] : 0;
        if (p->rq.shift[o] > -1 || p->rq.shift[o] < -22 ||
            (bias < 0 ? -bias : bias) + products >= ((int64_t)1 << 30)) {
            return 0;
        }
    }
    return 1;
}

static inline sg_dw_channel sg_dw_channel_at(const sg_dwconv2d_s8_params *p, int32_t o)
{
    sg_dw_channel ch;
    ch.bias2 = 2 * (p->bias != NULL ? p->bias[o] : 0);
    ch.mult = p->rq.mult[o];
    ch.rshift = -p->rq.shift[o];
    ch.add = (int32_t)(1u << (ch.rshift - 1)) + p->rq.out_offset * (int32_t)(1u << ch.rshift);
    return ch;
}

/* The output clamp: act_min == -128 and act_max == 127 (no fused activation, or a ReLU whose
 * output zero point is -128, the usual case) is one SSAT; full_range is a constant at every
 * call, so the loops are compiled once for each case. */
typedef struct {
    int32_t act_min;
    int32_t act_max;
} sg_dw_clamp;

static inline sg_dw_clamp sg_dw_clamp_of(const sg_dwconv2d_s8_params *p)
{
    sg_dw_clamp clamp;
    clamp.act_min = p->rq.act_min;
    clamp.act_max = p->rq.act_max;
    return clamp;
}

/* sg_requant_output(acc, ...) for acc2 = 2 * acc, under sg_dw_fast_ok. */
static inline int8_t sg_dw_output(int32_t acc2, const sg_dw_channel *ch, sg_dw_clamp clamp,
                                  int full_range)
{
    const int32_t y = sg_smmulr(acc2, ch->mult);
    /* cppcheck-suppress shiftTooManyBitsSigned ; arithmetic on every compiler (sg_common.h) */
    const int32_t v = (y + ch->add + (y >> 31)) >> ch->rshift;
    return (int8_t)(full_range ? sg_ssat8(v) : sg_clamp_to_s8(v, clamp.act_min, clamp.act_max));
}

#endif /* SG_HAS_DSP */

#endif /* SG_DWCONV2D_COMMON_H */
