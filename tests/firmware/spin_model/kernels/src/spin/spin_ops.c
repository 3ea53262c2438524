/* Kernel of the spin model (tests/firmware/spin_model/README.md). */
#include "spin_ops.h"

void spin_loop(uint32_t n);

/* Exactly n x (subs, bne) then bx lr: 2n + 1 instructions. n must be >= 1. */
__attribute__((naked, noinline)) void spin_loop(uint32_t n __attribute__((unused)))
{
    __asm__ volatile(".syntax unified\n"
                     "1:\n\t"
                     "subs r0, r0, #1\n\t"
                     "bne 1b\n\t"
                     "bx lr\n");
}

void spin_s8(const int8_t *x, int32_t which)
{
    const uint8_t *b = (const uint8_t *)x + 4 * which;
    uint32_t n = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
                 ((uint32_t)b[3] << 24);
    spin_loop(n == 0u ? 1u : n);
}
