/* Per-layer timing; see sg_profile.h. */
#include "sg_profile.h"

#include "cycles.h"

static uint64_t *sg_ticks;
static uint32_t sg_n_layers;
static uint64_t sg_start;

void sg_prof_setup(uint64_t *ticks, uint32_t n_layers)
{
    sg_ticks = ticks;
    sg_n_layers = n_layers;
    sg_prof_reset();
}

void sg_prof_reset(void)
{
    for (uint32_t i = 0; i < sg_n_layers; i++) {
        sg_ticks[i] = 0u;
    }
}

void sg_prof_begin(int32_t layer)
{
    (void)layer;
    sg_start = sg_cycles_now();
}

void sg_prof_end(int32_t layer)
{
    uint64_t now = sg_cycles_now();
    if (layer >= 0 && (uint32_t)layer < sg_n_layers) {
        sg_ticks[layer] += now - sg_start;
    }
}

uint64_t sg_prof_overhead(void)
{
    uint64_t *saved_ticks = sg_ticks;
    uint32_t saved_n = sg_n_layers;
    uint64_t cost = 0u;
    sg_ticks = &cost;
    sg_n_layers = 1u;
    sg_prof_begin(0);
    sg_prof_end(0);
    sg_ticks = saved_ticks;
    sg_n_layers = saved_n;
    return cost;
}
