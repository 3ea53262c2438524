/* slimgen kernel internals (Helium): sg_fc_s8 on Cortex-M55. See sg_dot_mve.h. */
#ifndef SG_FC_S8_MVE_H
#define SG_FC_S8_MVE_H

#include "../sg_arch.h"

#if SG_HAS_MVE
#include "sg_kernels.h"

#include "sg_dot_mve.h"

/* The whole layer is one output pixel whose taps are the K input features. */
static inline void sg_fc_s8_mve(const sg_fc_s8_params *p, const int8_t *input, int8_t *output)
{
    const sg_mve_out_stage st = sg_mve_out_stage_of(&p->rq);
    const sg_mve_taps t = {1, 1, p->in_features, 0, 0, 0, 0, p->in_features};
    sg_mve_pixel(input, &t, p->weights, p->bias, p->out_features, &p->rq, &st, output);
}

#endif /* SG_HAS_MVE */

#endif /* SG_FC_S8_MVE_H */
