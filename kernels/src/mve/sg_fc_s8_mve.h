/* slimgen kernel internals (Helium): sg_fc_s8 on Cortex-M55. See sg_dot_mve.h. */
#ifndef SG_FC_S8_MVE_H
#define SG_FC_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "sg_dot_mve.h"

/* One input against four weight rows, no sums: per 64 MACs, 5 loads and 4 VMLADAVA. */
static inline sg_mve_acc4x1 sg_mve_dot_1x4(sg_mve_acc4x1 acc, const int8_t *x, const int8_t *w,
                                           int32_t w_step, int32_t n, int tail)
{
    const int8_t *w0 = w, *w1 = w + w_step, *w2 = w + 2 * w_step, *w3 = w + 3 * w_step;
    int32_t a0 = acc.a0, a1 = acc.a1, a2 = acc.a2, a3 = acc.a3;
    for (int32_t i = n >> 4; i > 0; --i) {
        const int8x16_t xv = vld1q_s8(x);
        const int8x16_t v0 = vld1q_s8(w0);
        const int8x16_t v1 = vld1q_s8(w1);
        const int8x16_t v2 = vld1q_s8(w2);
        const int8x16_t v3 = vld1q_s8(w3);
        x += 16;
        w0 += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
        a0 = vmladavaq_s8(a0, xv, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        a2 = vmladavaq_s8(a2, xv, v2);
        a3 = vmladavaq_s8(a3, xv, v3);
    }
    if (tail && (n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        const int8x16_t xv = vldrbq_z_s8(x, p);
        a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(w0, p));
        a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(w1, p));
        a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(w2, p));
        a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(w3, p));
    }
    acc.a0 = a0;
    acc.a1 = a1;
    acc.a2 = a2;
    acc.a3 = a3;
    return acc;
}

/* With the build-time folded_bias: four output rows at a time share each input load, and the
 * accumulators start at bias + in_offset * sum(w). A count that is not a multiple of 4 ends with
 * a group overlapping the one before (those outputs are computed twice, identically). */
static inline void sg_fc_folded_mve(const sg_fc_s8_params *p, const int8_t *input, int8_t *output,
                                    const sg_mve_out_stage *st, int tail)
{
    const int32_t k = p->in_features;
    const int32_t n = p->out_features;
    int32_t o = 0;
    for (;;) {
        const int32x4_t acc0 = vld1q_s32(p->folded_bias + o);
        sg_mve_acc4x1 a = {vgetq_lane_s32(acc0, 0), vgetq_lane_s32(acc0, 1),
                           vgetq_lane_s32(acc0, 2), vgetq_lane_s32(acc0, 3)};
        a = sg_mve_dot_1x4(a, input, p->weights + o * k, k, k, tail);
        int32x4_t acc = vdupq_n_s32(a.a0);
        acc = vsetq_lane_s32(a.a1, acc, 1);
        acc = vsetq_lane_s32(a.a2, acc, 2);
        acc = vsetq_lane_s32(a.a3, acc, 3);
        const int32x4_t v =
            sg_mve_requant_output(acc, vld1q_s32(p->rq.mult + o),
                                  sg_mve_shift_of(vld1q_s32(p->rq.shift + o)), st);
        vstrbq_s32(output + o, v);
        if (o == n - 4) {
            break;
        }
        o = sg_min_s32(o + 4, n - 4);
    }
}

/* Without it (or with fewer than four outputs) the layer is one output pixel whose taps are the K
 * input features, and the weight sums are taken in the loop. */
static inline void sg_fc_s8_mve(const sg_fc_s8_params *p, const int8_t *input, int8_t *output)
{
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    if (p->folded_bias != NULL && p->out_features >= 4) {
        if ((p->in_features & 15) == 0) {
            sg_fc_folded_mve(p, input, output, &st, 0);
        } else {
            sg_fc_folded_mve(p, input, output, &st, 1);
        }
        return;
    }
    const sg_mve_taps t = {1, 1, p->in_features, 0, 0, 0, 0, p->in_features};
    sg_mve_pixel(input, &t, p->weights, p->bias, p->out_features, &p->rq, &st, output);
}

#endif /* SG_HAS_MVE */

#endif /* SG_FC_S8_MVE_H */
