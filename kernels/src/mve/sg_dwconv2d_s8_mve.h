/* slimgen kernel internals (Helium): sg_dwconv2d_s8 on Cortex-M55 for ch_mult 1.
 *
 * Depthwise has no reduction over channels, so channels go across the lanes, eight at a time:
 * VLDRB.S16 widens eight inputs and eight weights, one VADD adds in_offset to the inputs
 * ((x + in_offset) * w is at most 255 * 128 in magnitude), and VMULLB / VMULLT multiply the even
 * and the odd channels into two int32x4 accumulators. (MVE has no vector-by-vector integer
 * multiply-accumulate.) The per-channel bias, multipliers and shifts are gathered even / odd to
 * match; VQMOVNB / VQMOVNT put the results back in channel order. Channel counts that are not a
 * multiple of 8 end with a tail-predicated group (inactive lanes neither load nor store).
 */
#ifndef SG_DWCONV2D_S8_MVE_H
#define SG_DWCONV2D_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "../sg_window.h"
#include "sg_requant_mve.h"

/* The even and the odd channels of a group of eight. */
typedef struct {
    int32x4_t e, o;
} sg_dw_acc;

/* One tap: acc += (x + in_offset) * w, eight channels. */
static inline sg_dw_acc sg_dw_tap(sg_dw_acc acc, const int8_t *x, const int8_t *w,
                                  int16_t in_offset, mve_pred16_t p16, int tail)
{
    const int16x8_t xv = vaddq_n_s16(tail ? vldrbq_z_s16(x, p16) : vldrbq_s16(x), in_offset);
    const int16x8_t wv = tail ? vldrbq_z_s16(w, p16) : vldrbq_s16(w);
    acc.e = vaddq_s32(acc.e, vmullbq_int_s16(xv, wv));
    acc.o = vaddq_s32(acc.o, vmulltq_int_s16(xv, wv));
    return acc;
}

/* Channels [ch, ch + 8) of one output pixel; tail (a constant after inlining) says whether
 * only the lanes in pred are real channels. */
static inline void sg_dwconv_group_mve(const sg_dwconv2d_s8_params *p, const int8_t *in_tap,
                                       const sg_window *win, int8_t *out_pixel, int32_t ch,
                                       int tail, int right_only)
{
    const int32_t c = p->out.c;
    const int32_t in_row_step = p->dil_h * p->in.w * c;
    const int32_t in_col_step = p->dil_w * c;
    const int16_t in_offset = (int16_t)p->rq.in_offset;
    const int32_t rem = c - ch;
    const mve_pred16_t p16 = vctp16q((uint32_t)rem);
    const mve_pred16_t p_even = vctp32q((uint32_t)(rem + 1) >> 1); /* channels ch + 2i */
    const mve_pred16_t p_odd = vctp32q((uint32_t)rem >> 1);        /* channels ch + 2i + 1 */
    const uint32x4_t even = vidupq_n_u32(0u, 2);
    const uint32x4_t odd = vidupq_n_u32(1u, 2);
    int32x4_t acc_e = vdupq_n_s32(0);
    int32x4_t acc_o = vdupq_n_s32(0);
    if (p->bias != NULL && !tail) {
        const int32x4x2_t b = vld2q_s32(p->bias + ch);
        acc_e = b.val[0];
        acc_o = b.val[1];
    } else if (p->bias != NULL) {
        acc_e = tail ? vldrwq_gather_shifted_offset_z_s32(p->bias + ch, even, p_even)
                     : vldrwq_gather_shifted_offset_s32(p->bias + ch, even);
        acc_o = tail ? vldrwq_gather_shifted_offset_z_s32(p->bias + ch, odd, p_odd)
                     : vldrwq_gather_shifted_offset_s32(p->bias + ch, odd);
    }
    const int8_t *w_row = p->weights + (win->y.begin * p->filter.w + win->x.begin) * c + ch;
    const int8_t *x_row = in_tap + ch;
    sg_dw_acc acc = {acc_e, acc_o};
    for (int32_t r = 0; r < win->y.count; ++r) {
        const int8_t *x = x_row;
        const int8_t *w = w_row;
        for (int32_t k = win->x.count; k > 0; --k) {
            acc = sg_dw_tap(acc, x, w, in_offset, p16, tail);
            x += in_col_step;
            w += c;
        }
        x_row += in_row_step;
        w_row += p->filter.w * c;
    }
    acc_e = acc.e;
    acc_o = acc.o;
    const int32_t *mult = p->rq.mult + ch;
    const int32_t *shift = p->rq.shift + ch;
    int32x4_t m_e, m_o, s_e, s_o;
    if (tail) {
        m_e = vldrwq_gather_shifted_offset_z_s32(mult, even, p_even);
        m_o = vldrwq_gather_shifted_offset_z_s32(mult, odd, p_odd);
        s_e = vldrwq_gather_shifted_offset_z_s32(shift, even, p_even);
        s_o = vldrwq_gather_shifted_offset_z_s32(shift, odd, p_odd);
    } else {
        /* VLD2 splits eight words into even and odd without the gathers' offset vectors. */
        const int32x4x2_t m = vld2q_s32(mult);
        const int32x4x2_t s = vld2q_s32(shift);
        m_e = m.val[0];
        m_o = m.val[1];
        s_e = s.val[0];
        s_o = s.val[1];
    }
    /* Narrow with saturation to int16 first (even channels into the bottom halfwords, odd into
     * the top: channel order again), then offset and clamp all eight at once. Exact: the act
     * bounds are int8, so a value that saturated at +-32767 ends at the same bound either way.
     * VQMOVNB's first operand only supplies the top halfwords, which VQMOVNT then overwrites:
     * any vector already in a register does (a zero vector costs a load). */
    int16x8_t v;
    if (right_only) {
        v = vqmovnbq_s32(vreinterpretq_s16_s32(acc_e), sg_mve_requantize_right(acc_e, m_e, s_e));
        v = vqmovntq_s32(v, sg_mve_requantize_right(acc_o, m_o, s_o));
    } else {
        v = vqmovnbq_s32(vreinterpretq_s16_s32(acc_e), sg_mve_requantize(acc_e, m_e, sg_mve_shift_of(s_e)));
        v = vqmovntq_s32(v, sg_mve_requantize(acc_o, m_o, sg_mve_shift_of(s_o)));
    }
    v = vqaddq_n_s16(v, (int16_t)p->rq.out_offset);
    v = vminq_s16(vmaxq_s16(v, vdupq_n_s16((int16_t)p->rq.act_min)),
                  vdupq_n_s16((int16_t)p->rq.act_max));
    if (tail) {
        vstrbq_p_s16(out_pixel + ch, v, p16);
    } else {
        vstrbq_s16(out_pixel + ch, v);
    }
}

/* The kernel's parameters and whether every shift is <= 0 (the usual case: TFLite's multipliers
 * are normalized to [0.5, 1)), which drops the left shift: 3 vector instructions fewer per four
 * outputs. */
typedef struct {
    const sg_dwconv2d_s8_params *p;
    int right_only;
} sg_dw_mve_call;

static void sg_dwconv_pixel_mve(const void *call, const int8_t *in_tap, const sg_window *win,
                                int8_t *out_pixel)
{
    const sg_dw_mve_call *k = (const sg_dw_mve_call *)call;
    /* Local copies: the int8 output stores may alias anything reached through a pointer, which
     * would make every group reload the window and the parameters. */
    const sg_window w = *win;
    const sg_dwconv2d_s8_params p = *k->p;
    const int right_only = k->right_only;
    const int32_t c = p.out.c;
    int32_t ch = 0;
    for (; ch + 8 <= c; ch += 8) {
        sg_dwconv_group_mve(&p, in_tap, &w, out_pixel, ch, 0, right_only);
    }
    if (ch < c) {
        sg_dwconv_group_mve(&p, in_tap, &w, out_pixel, ch, 1, right_only);
    }
}

/* The caller has checked ch_mult == 1. */
static inline void sg_dwconv2d_s8_mve(const sg_dwconv2d_s8_params *p, const sg_window_geometry *g,
                                      const int8_t *input, int8_t *output)
{
    sg_dw_mve_call call = {p, 1};
    for (int32_t o = 0; o < p->out.c; ++o) {
        call.right_only &= p->rq.shift[o] <= 0;
    }
    sg_for_each_window(g, sg_dwconv_pixel_mve, &call, input, output);
}

#endif /* SG_HAS_MVE */

#endif /* SG_DWCONV2D_S8_MVE_H */
