/* slimgen kernel internals (Helium): sg_dwconv2d_s8 on Cortex-M55 for ch_mult 1.
 *
 * Depthwise has no reduction over channels, so channels go across the lanes, eight at a time:
 * VLDRB.S16 widens eight inputs and eight weights, one VADD adds in_offset to the inputs
 * ((x + in_offset) * w is at most 255 * 128 in magnitude), and VMULLB / VMULLT multiply the even
 * and the odd channels into two int32x4 accumulators. (MVE has no vector-by-vector integer
 * multiply-accumulate.) The per-channel bias, multipliers and shifts are gathered even / odd to
 * match; VQMOVNB / VQMOVNT put the results back in channel order. Channel counts that are not a
 * multiple of 8 end with a tail-predicated group (inactive lanes neither load nor store).
 *
 * A pixel whose window holds every tap (all but the border) skips the VADD: once per call,
 * bias + in_offset * sum(w) is folded per channel into a stack vector, and such pixels start
 * from it and multiply the bare inputs. Bit-exact: sum((x + in_offset) * w) and
 * sum(x * w) + in_offset * sum(w) are the same integer, and the int32 vector adds wrap
 * (modulo 2^32, so their order cannot change the result) while no term overflows: |x * w| and
 * |in_offset * w| are at most 128 * 128, and in_offset * sum(w) is at most 128 * 128 * taps,
 * computed in int16 from sum(w) (|sum(w)| <= 128 * taps fits int16 for taps <= 255, checked).
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

/* One tap: acc += (x + in_offset) * w, eight channels; acc += x * w when the offset is folded
 * into the starting value (folded, a constant after inlining). */
static inline sg_dw_acc sg_dw_tap(sg_dw_acc acc, const int8_t *x, const int8_t *w,
                                  int16_t in_offset, mve_pred16_t p16, int tail, int folded)
{
    const int16x8_t x0 = tail ? vldrbq_z_s16(x, p16) : vldrbq_s16(x);
    const int16x8_t wv = tail ? vldrbq_z_s16(w, p16) : vldrbq_s16(w);
    const int16x8_t xv = folded ? x0 : vaddq_n_s16(x0, in_offset);
    acc.e = vaddq_s32(acc.e, vmullbq_int_s16(xv, wv));
    acc.o = vaddq_s32(acc.o, vmulltq_int_s16(xv, wv));
    return acc;
}

/* Pins v in a register here: volatile asms keep their order, and v must exist at this one. */
#define SG_DW_PIN(v) __asm__ volatile("" : "+w"(v))
#define SG_DW_PIN_PTR(ptr) __asm__ volatile("" : "+r"(ptr))

/* The nine taps of a full 3x3 window, offset folded: acc += x * w. Software-pipelined by hand:
 * the M55 overlaps a load with the multiply before it, not two loads or two multiplies in a
 * row, so each tap's two loads sit between the next tap's multiplies (llvm-mca: 58 cycles for
 * the nine taps, against 82 for load, load, multiply, multiply). GCC left alone hoists every
 * load and multiply of the unrolled window and spills; the pins hold the order. */
static inline sg_dw_acc sg_dw_taps_3x3(sg_dw_acc acc, const int8_t *x, const int8_t *w,
                                       int32_t in_row_step, int32_t in_col_step, int32_t c)
{
    int16x8_t xv = vldrbq_s16(x);
    int16x8_t wv = vldrbq_s16(w);
    for (int32_t t = 0; t < 9; ++t) {
        const int last = t == 8;
        if (!last) {
            x += (t % 3 == 2) ? in_row_step - 2 * in_col_step : in_col_step;
            w += c;
        }
        int32x4_t prod = vmullbq_int_s16(xv, wv);
        SG_DW_PIN(prod);
        int16x8_t x_next = xv;
        if (!last) {
            SG_DW_PIN_PTR(x);
            x_next = vldrbq_s16(x);
            SG_DW_PIN(x_next);
        }
        acc.e = vaddq_s32(acc.e, prod);
        SG_DW_PIN(acc.e);
        prod = vmulltq_int_s16(xv, wv);
        SG_DW_PIN(prod);
        int16x8_t w_next = wv;
        if (!last) {
            SG_DW_PIN_PTR(w);
            w_next = vldrbq_s16(w);
            SG_DW_PIN(w_next);
        }
        acc.o = vaddq_s32(acc.o, prod);
        SG_DW_PIN(acc.o);
        xv = x_next;
        wv = w_next;
    }
    return acc;
}

/* Channels [ch, ch + 8) of one output pixel; tail (a constant after inlining) says whether
 * only the lanes in pred are real channels. bias is the kernel's bias, or the folded
 * bias + in_offset * sum(w) when folded (also a constant) says the window is full. */
static inline void sg_dwconv_group_mve(const sg_dwconv2d_s8_params *p, const int32_t *bias,
                                       const int8_t *in_tap, const sg_window *win,
                                       int8_t *out_pixel, int32_t ch, int tail, int right_only,
                                       int folded)
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
    if (bias != NULL && !tail) {
        const int32x4x2_t b = vld2q_s32(bias + ch);
        acc_e = b.val[0];
        acc_o = b.val[1];
    } else if (bias != NULL) {
        acc_e = vldrwq_gather_shifted_offset_z_s32(bias + ch, even, p_even);
        acc_o = vldrwq_gather_shifted_offset_z_s32(bias + ch, odd, p_odd);
    }
    const int8_t *w_row = p->weights + (win->y.begin * p->filter.w + win->x.begin) * c + ch;
    const int8_t *x_row = in_tap + ch;
    sg_dw_acc acc = {acc_e, acc_o};
    /* folded == 3: a full 3x3 window, all nine taps here; the row loop below has none left. */
    if (folded == 3) {
        acc = sg_dw_taps_3x3(acc, x_row, w_row, in_row_step, in_col_step, c);
    }
    for (int32_t r = 0; r < (folded == 3 ? 0 : win->y.count); ++r) {
        const int8_t *x = x_row;
        const int8_t *w = w_row;
        for (int32_t k = win->x.count; k > 0; --k) {
            acc = sg_dw_tap(acc, x, w, in_offset, p16, tail, folded);
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
    const int32_t *folded_bias; /* bias + in_offset * sum(w) per channel, or NULL: no folding */
} sg_dw_mve_call;

/* The folded bias lives on the stack: up to this many channels (1 KB), beyond which every
 * pixel adds in_offset per tap as the border does. */
#define SG_DW_MVE_FOLD_MAX_CH 256

/* A pixel whose window holds every tap. A function of its own: inlined into the border path's,
 * it changed GCC's register allocation there (stack reloads in every row, dw3x3 +4 % cycles). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void sg_dwconv_pixel_full_mve(const sg_dw_mve_call *k, const int8_t *in_tap,
                                     const sg_window *win, int8_t *out_pixel)
{
    const sg_window w = *win;
    const sg_dwconv2d_s8_params p = *k->p;
    const int32_t *fb = k->folded_bias;
    const int right_only = k->right_only;
    const int32_t c = p.out.c;
    int32_t ch = 0;
    if (p.filter.h == 3 && p.filter.w == 3) {
        for (; ch + 8 <= c; ch += 8) {
            sg_dwconv_group_mve(&p, fb, in_tap, &w, out_pixel, ch, 0, right_only, 3);
        }
    } else {
        for (; ch + 8 <= c; ch += 8) {
            sg_dwconv_group_mve(&p, fb, in_tap, &w, out_pixel, ch, 0, right_only, 1);
        }
    }
    if (ch < c) {
        sg_dwconv_group_mve(&p, fb, in_tap, &w, out_pixel, ch, 1, right_only, 1);
    }
}

static void sg_dwconv_pixel_mve(const void *call, const int8_t *in_tap, const sg_window *win,
                                int8_t *out_pixel)
{
    const sg_dw_mve_call *k = (const sg_dw_mve_call *)call;
    if (k->folded_bias != NULL && win->y.count == k->p->filter.h &&
        win->x.count == k->p->filter.w) {
        sg_dwconv_pixel_full_mve(k, in_tap, win, out_pixel);
        return;
    }
    /* Local copies: the int8 output stores may alias anything reached through a pointer, which
     * would make every group reload the window and the parameters. */
    const sg_window w = *win;
    const sg_dwconv2d_s8_params p = *k->p;
    const int right_only = k->right_only;
    const int32_t c = p.out.c;
    int32_t ch = 0;
    for (; ch + 8 <= c; ch += 8) {
        sg_dwconv_group_mve(&p, p.bias, in_tap, &w, out_pixel, ch, 0, right_only, 0);
    }
    if (ch < c) {
        sg_dwconv_group_mve(&p, p.bias, in_tap, &w, out_pixel, ch, 1, right_only, 0);
    }
}

/* fb[o] = bias[o] + in_offset * sum of channel o's weights, for every channel o < c (the
 * array holds c rounded up to 8). */
static void sg_dw_mve_fold_bias(const sg_dwconv2d_s8_params *p, int32_t *fb)
{
    const int32_t c = p->out.c;
    const int32_t taps = p->filter.h * p->filter.w;
    const int16x8_t off = vdupq_n_s16((int16_t)p->rq.in_offset);
    for (int32_t ch = 0; ch < c; ch += 8) {
        const mve_pred16_t p16 = vctp16q((uint32_t)(c - ch));
        int16x8_t sum = vdupq_n_s16(0);
        for (int32_t t = 0; t < taps; ++t) {
            sum = vaddq_s16(sum, vldrbq_z_s16(p->weights + t * c + ch, p16));
        }
        int32x4x2_t v;
        v.val[0] = vmullbq_int_s16(sum, off);
        v.val[1] = vmulltq_int_s16(sum, off);
        vst2q_s32(fb + ch, v);
    }
    for (int32_t o = 0; o < c; ++o) {
        fb[o] += p->bias != NULL ? p->bias[o] : 0;
    }
}

/* The caller has checked ch_mult == 1. */
static inline void sg_dwconv2d_s8_mve(const sg_dwconv2d_s8_params *p, const sg_window_geometry *g,
                                      const int8_t *input, int8_t *output)
{
    int32_t fb[SG_DW_MVE_FOLD_MAX_CH];
    sg_dw_mve_call call = {p, 1, NULL};
    for (int32_t o = 0; o < p->out.c; ++o) {
        call.right_only &= p->rq.shift[o] <= 0;
    }
    if (p->out.c <= SG_DW_MVE_FOLD_MAX_CH && p->filter.h * p->filter.w <= 255) {
        sg_dw_mve_fold_bias(p, fb);
        call.folded_bias = fb;
    }
    sg_for_each_window(g, sg_dwconv_pixel_mve, &call, input, output);
}

#endif /* SG_HAS_MVE */

#endif /* SG_DWCONV2D_S8_MVE_H */
