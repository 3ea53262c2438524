/* slimgen kernel internals: the dot products of conv, 1x1 conv and fc.
 *
 * The portable loops live here once; a Cortex-M DSP version (SXTB16 + SMLAD, two taps per
 * instruction) will sit beside each behind SG_HAS_DSP, with the same results.
 */
#ifndef SG_DOT_H
#define SG_DOT_H

#include <stdint.h>

#include "sg_requant.h"

/* sum((x[i] + x_offset) * w[i]). Each term is at most 255 * 128 in magnitude; the caller
 * guarantees (and ref/ asserts) that bias plus all terms fits in int32. */
static inline int32_t sg_dot_offset_s8(const int8_t *x, const int8_t *w, int32_t n,
                                       int32_t x_offset)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; ++i) {
        acc += ((int32_t)x[i] + x_offset) * (int32_t)w[i];
    }
    return acc;
}

/* out[o] = requant(bias[o] + sum_i (x[i] + in_offset) * weights[o][i]) for o < channels:
 * one fc layer, or one pixel of a 1x1 convolution. bias may be NULL. */
static inline void sg_fc_vector(const int8_t *x, const int8_t *weights, const int32_t *bias,
                                int32_t k, int32_t channels, const sg_requant *rq, int8_t *out)
{
    for (int32_t o = 0; o < channels; ++o) {
        const int32_t acc = (bias != NULL ? bias[o] : 0) +
                            sg_dot_offset_s8(x, weights + o * k, k, rq->in_offset);
        out[o] = sg_requant_output(acc, rq, o);
    }
}

#endif /* SG_DOT_H */
