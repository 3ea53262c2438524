/* Hand-written stand-in for slimgen output (tests/firmware/fake_model). */
#ifndef FAKE_MODEL_H
#define FAKE_MODEL_H

#include <stdint.h>

#include "sg_types.h"

#define FAKE_ARENA_BYTES 16
#define FAKE_INPUT_BYTES 16
#define FAKE_OUTPUT_BYTES 4
#define FAKE_NUM_LAYERS 2

sg_status fake_run(const int8_t *input, int8_t *output, uint8_t *arena);

#endif /* FAKE_MODEL_H */
