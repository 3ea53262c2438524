/* Startup for every slimgen board: vector table, Reset_Handler, fault reporting.
 *
 * Reset_Handler copies .data from flash, zeroes .bss, enables the FPU (and MVE on Cortex-M55)
 * when the code was compiled for one, sets the stack limit on Armv8-M, runs the board's
 * sg_board_init() hook and calls main(); main's return value becomes the exit status.
 * HardFault_Handler reports the stacked PC (the faulting instruction) and exits with status 3.
 * Register addresses are from the Armv6-M/Armv7-M/Armv8-M Architecture Reference Manuals
 * (System Control Block at 0xE000ED00).
 */
#include <stdint.h>

#include "console.h"

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void sg_fault_report(const uint32_t *frame, uint32_t exc_return);
void sg_board_init(void);

/* Symbols from sections.ld. */
extern uint32_t __data_load__;
extern uint32_t __data_start__;
extern uint32_t __data_end__;
extern uint32_t __bss_start__;
extern uint32_t __bss_end__;
extern uint32_t __stack_bottom;
extern uint32_t __stack_top;

#define SG_REG32(addr) (*(volatile uint32_t *)(addr))
#define SCB_CPACR 0xE000ED88u /* coprocessor access control */
#define SCB_HFSR 0xE000ED2Cu  /* HardFault status (Armv7-M and later) */
#define SCB_CFSR 0xE000ED28u  /* configurable fault status (Armv7-M and later) */
#define SCB_BFAR 0xE000ED38u  /* bus fault address */

/* Boards override this (clock, UART, caches); the default does nothing. */
__attribute__((weak)) void sg_board_init(void)
{
}

void Default_Handler(void)
{
    sg_console_write("SG FAULT unexpected exception\n");
    sg_console_exit(4);
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SecureFault_Handler(void) __attribute__((weak, alias("HardFault_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*sg_vector)(void);

/* The 16 architectural entries; no device interrupt is enabled by slimgen firmware. */
__attribute__((section(".vectors"), used)) const sg_vector sg_vector_table[16] = {
    (sg_vector)(uintptr_t)&__stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    SecureFault_Handler,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

/* No loop-to-memcpy rewriting (.data is not initialised yet) and no vectorizing (MVE on the
 * Cortex-M55 is unusable until CPACR enables it below). */
__attribute__((optimize("no-tree-loop-distribute-patterns", "no-tree-vectorize")))
void Reset_Handler(void)
{
    const uint32_t *src = &__data_load__;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CP10 and CP11 full access: the FPU (and MVE, which shares them) before any FP code. */
    SG_REG32(SCB_CPACR) |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Stack overflow becomes a precise UsageFault (STKOF) instead of silent corruption. */
    __asm__ volatile("msr msplim, %0" ::"r"(&__stack_bottom));
#endif
    sg_board_init();
    sg_console_exit(main());
}

/* Finds the exception frame (MSP or PSP, from EXC_RETURN bit 2) and hands it to C.
 * Written with Armv6-M instructions only so that it serves every core; GCC switches inline
 * assembly to divided syntax on Armv6-M, hence the explicit .syntax unified. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(".syntax unified\n\t"
                     "movs r0, #4\n\t"
                     "mov r1, lr\n\t"
                     "tst r0, r1\n\t"
                     "beq 1f\n\t"
                     "mrs r0, psp\n\t"
                     "b 2f\n"
                     "1:\n\t"
                     "mrs r0, msp\n"
                     "2:\n\t"
                     "bl sg_fault_report\n");
}

/* frame[] = r0 r1 r2 r3 r12 lr pc xpsr, as stacked on exception entry. */
void sg_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    sg_console_write("SG FAULT pc=0x");
    sg_console_hex32(frame[6]);
    sg_console_write(" lr=0x");
    sg_console_hex32(frame[5]);
    sg_console_write(" xpsr=0x");
    sg_console_hex32(frame[7]);
    sg_console_write(" exc_return=0x");
    sg_console_hex32(exc_return);
#if !defined(__ARM_ARCH_6M__)
    sg_console_write(" cfsr=0x");
    sg_console_hex32(SG_REG32(SCB_CFSR));
    sg_console_write(" hfsr=0x");
    sg_console_hex32(SG_REG32(SCB_HFSR));
    sg_console_write(" bfar=0x");
    sg_console_hex32(SG_REG32(SCB_BFAR));
#endif
    sg_console_write("\n");
    sg_console_exit(3);
}
