/* A free-running 64-bit counter for timing layers.
 *
 * Selected at compile time by the board (board.toml `counter`):
 * - SG_COUNTER_DWT: DWT CYCCNT, the core clock cycle counter of Armv7-M / Armv8-M mainline
 *   (Cortex-M3/M4/M7/M33/M55). 32 bits in hardware, widened in software, so any single
 *   interval must stay under 2^32 cycles (26 s at 168 MHz). Counts cycles exactly.
 * - SG_COUNTER_SYSTICK: SysTick on the processor clock (CLKSOURCE = 1), reload 0xFFFFFF,
 *   widened by counting wraps in SysTick_Handler. Every Cortex-M has SysTick (it is optional
 *   on Armv6-M, present on RP2040 and nRF51). On hardware it counts core cycles; under QEMU
 *   with -icount it counts virtual time, which is a fixed number of ns per instruction
 *   (see docs/firmware.md), so ticks convert exactly to instructions. The handler adds ~20
 *   cycles per 2^24 ticks to whatever interval it interrupts.
 * - neither: sg_cycles_now() returns 0 (no counter on the board).
 * QEMU does not model DWT (its registers read as zero), so emulated boards use SysTick.
 */
#ifndef SG_CYCLES_H
#define SG_CYCLES_H

#include <stdint.h>

void sg_cycles_init(void);
uint64_t sg_cycles_now(void);

#endif /* SG_CYCLES_H */
