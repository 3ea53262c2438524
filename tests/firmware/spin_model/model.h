/* Hand-written stand-in for slimgen output (tests/firmware/spin_model). */
#ifndef SPIN_MODEL_H
#define SPIN_MODEL_H

#include <stdint.h>

#include "sg_types.h"

#define SPIN_ARENA_BYTES 4
#define SPIN_INPUT_BYTES 8
#define SPIN_OUTPUT_BYTES 4
#define SPIN_NUM_LAYERS 2

sg_status spin_run(const int8_t *input, int8_t *output, uint8_t *arena);

#endif /* SPIN_MODEL_H */
