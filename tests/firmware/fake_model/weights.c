/* Hand-written stand-in for slimgen output (tests/firmware/fake_model). */
#include <stdint.h>

extern const int8_t fake_L0_b[16];

__attribute__((aligned(4))) const int8_t fake_L0_b[16] = {
    3, -7, 100, -100, 0, 1, -1, 127, -128, 64, -64, 5, 9, -9, 42, -42,
};
