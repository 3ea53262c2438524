/* Kernel of the spin model (tests/firmware/spin_model/README.md). */
#ifndef SPIN_OPS_H
#define SPIN_OPS_H

#include <stdint.h>

/* Runs n iterations of a 2-instruction loop, n = little-endian uint32 number `which` of x. */
void spin_s8(const int8_t *x, int32_t which);

#endif /* SPIN_OPS_H */
