/* Per-layer timing hooks, force-included (-include sg_profile.h) into the generated model.c.
 *
 * The generated model wraps each layer as SG_LAYER_BEGIN(i); ...; SG_LAYER_END(i); and defaults
 * both macros to nothing. This header defines them first, so each layer adds the counter ticks
 * (cycles.h) it spent to a per-layer total that the test firmware prints after each inference.
 */
#ifndef SG_PROFILE_H
#define SG_PROFILE_H

#include <stdint.h>

#define SG_LAYER_BEGIN(i) sg_prof_begin(i)
#define SG_LAYER_END(i) sg_prof_end(i)

/* ticks[n_layers] receives the per-layer totals; sg_prof_reset() zeroes them. */
void sg_prof_setup(uint64_t *ticks, uint32_t n_layers);
void sg_prof_reset(void);
void sg_prof_begin(int32_t layer);
void sg_prof_end(int32_t layer);
/* Ticks that an empty SG_LAYER_BEGIN/SG_LAYER_END pair measures (the timing's own cost). */
uint64_t sg_prof_overhead(void);

#endif /* SG_PROFILE_H */
