/* slimgen kernel internals (Helium): sg_dwconv2d_s8 on Cortex-M55 for ch_mult 1.
 *
 * Depthwise has no reduction over channels, so channels go across the lanes: four int32
 * accumulators per vector, VLDRB.S32 widening four int8 inputs and four weights per tap (MVE has
 * no vector-by-vector integer multiply-accumulate, so VMUL then VADD). Channel counts that are not a multiple of 4 end with a tail-predicated group (inactive
 * lanes neither load nor store).
 */
#ifndef SG_DWCONV2D_S8_MVE_H
#define SG_DWCONV2D_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "../sg_window.h"
#include "sg_requant_mve.h"

/* Channels [ch, ch + 4) of one output pixel, the lanes in p active. */
static inline void sg_dwconv_group_mve(const sg_dwconv2d_s8_params *p, const int8_t *in_tap,
                                       const sg_window *win, int8_t *out_pixel, int32_t ch,
                                       mve_pred16_t pred, const sg_mve_out_stage *st)
{
    const int32_t c = p->out.c;
    const int32_t in_row_step = p->dil_h * p->in.w * c;
    const int32_t in_col_step = p->dil_w * c;
    const int32_t in_offset = p->rq.in_offset;
    int32x4_t acc = p->bias != NULL ? vldrwq_z_s32(p->bias + ch, pred) : vdupq_n_s32(0);
    for (int32_t r = 0; r < win->y.count; ++r) {
        const int8_t *x = in_tap + r * in_row_step + ch;
        const int8_t *w = p->weights + ((win->y.begin + r) * p->filter.w + win->x.begin) * c + ch;
        for (int32_t k = 0; k < win->x.count; ++k) {
            const int32x4_t xv = vaddq_n_s32(vldrbq_z_s32(x, pred), in_offset);
            acc = vaddq_s32(acc, vmulq_s32(xv, vldrbq_z_s32(w, pred)));
            x += in_col_step;
            w += c;
        }
    }
    const int32x4_t v = sg_mve_requant_output(acc, vldrwq_z_s32(p->rq.mult + ch, pred),
                                              sg_mve_shift_of(vldrwq_z_s32(p->rq.shift + ch, pred)), st);
    vstrbq_p_s32(out_pixel + ch, v, pred);
}

static void sg_dwconv_pixel_mve(const void *params, const int8_t *in_tap, const sg_window *win,
                                int8_t *out_pixel)
{
    const sg_dwconv2d_s8_params *p = (const sg_dwconv2d_s8_params *)params;
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    const int32_t c = p->out.c;
    for (int32_t ch = 0; ch < c; ch += 4) {
        sg_dwconv_group_mve(p, in_tap, win, out_pixel, ch, vctp32q((uint32_t)(c - ch)), &st);
    }
}

/* The caller has checked ch_mult == 1. */
static inline void sg_dwconv2d_s8_mve(const sg_dwconv2d_s8_params *p, const sg_window_geometry *g,
                                      const int8_t *input, int8_t *output)
{
    sg_for_each_window(g, sg_dwconv_pixel_mve, p, input, output);
}

#endif /* SG_HAS_MVE */

#endif /* SG_DWCONV2D_S8_MVE_H */
