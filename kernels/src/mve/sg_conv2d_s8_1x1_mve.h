/* slimgen kernel internals (Helium): sg_conv2d_s8_1x1 on Cortex-M55. See sg_dot_mve.h. */
#ifndef SG_CONV2D_S8_1X1_MVE_H
#define SG_CONV2D_S8_1X1_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "sg_dot_mve.h"

/* Output channels two at a time, the pixels three at a time (sg_mve_run_pair), each channel's
 * bias + in_offset * sum(w) taken once. The caller has checked the 1x1 predicate (stride 1, no
 * padding, dilation 1). */
static inline void sg_conv2d_s8_1x1_mve(const sg_conv2d_s8_params *p, const int8_t *input,
                                        int8_t *output)
{
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    const int32_t c_in = p->in.c;
    const int32_t c_out = p->out.c;
    const int32_t pixels = p->in.h * p->in.w;
    if (pixels < 3) {
        const sg_mve_taps t = {1, 1, c_in, 0, 0, 0, 0, c_in};
        for (int32_t i = 0; i < pixels; ++i) {
            sg_mve_pixel(input + i * c_in, &t, p->weights, p->bias, c_out, &p->rq, &st,
                         output + i * c_out);
        }
        return;
    }
    for (int32_t o = 0; o < c_out; o += 2) {
        const int32_t o1 = sg_min_s32(o + 1, c_out - 1);
        const int32_t acc0_0 = sg_wrap_s32(
            (uint32_t)(p->bias != NULL ? p->bias[o] : 0) +
            (uint32_t)sg_mve_sum(0, p->weights + o * c_in, c_in) * (uint32_t)p->rq.in_offset);
        const int32_t acc0_1 = sg_wrap_s32(
            (uint32_t)(p->bias != NULL ? p->bias[o1] : 0) +
            (uint32_t)sg_mve_sum(0, p->weights + o1 * c_in, c_in) * (uint32_t)p->rq.in_offset);
        if ((c_in & 15) == 0) {
            sg_mve_run_pair(input, c_in, pixels, c_in, p->weights, acc0_0, acc0_1, o, c_out,
                            &p->rq, &st, output, c_out, 0);
        } else {
            sg_mve_run_pair(input, c_in, pixels, c_in, p->weights, acc0_0, acc0_1, o, c_out,
                            &p->rq, &st, output, c_out, 1);
        }
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_CONV2D_S8_1X1_MVE_H */
