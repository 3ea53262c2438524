/* Kernels of the fake model (tests/firmware/fake_model/README.md). */
#ifndef FAKE_OPS_H
#define FAKE_OPS_H

#include <stdint.h>

#include "sg_types.h"

sg_status fake_bias_add_s8(const int8_t *x, const int8_t *b, int8_t *y, int32_t n);
sg_status fake_sum4_s8(const int8_t *x, int8_t *y, int32_t n_out);

#endif /* FAKE_OPS_H */
