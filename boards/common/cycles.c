/* Counter implementations; see cycles.h. Register addresses from the Armv7-M/Armv8-M ARM. */
#include "cycles.h"

#define SG_REG32(addr) (*(volatile uint32_t *)(addr))

#if defined(SG_COUNTER_DWT)

#define DEMCR 0xE000EDFCu      /* Debug Exception and Monitor Control; TRCENA = bit 24 */
#define DWT_CTRL 0xE0001000u   /* CYCCNTENA = bit 0 */
#define DWT_CYCCNT 0xE0001004u
#define DWT_LAR 0xE0001FB0u    /* Cortex-M7 software lock; unlock key 0xC5ACCE55 */

static uint32_t sg_last;
static uint32_t sg_high;

void sg_cycles_init(void)
{
    SG_REG32(DEMCR) |= (1u << 24);
#if defined(SG_DWT_UNLOCK)
    SG_REG32(DWT_LAR) = 0xC5ACCE55u;
#endif
    SG_REG32(DWT_CYCCNT) = 0u;
    SG_REG32(DWT_CTRL) |= 1u;
    sg_last = 0u;
    sg_high = 0u;
}

uint64_t sg_cycles_now(void)
{
    uint32_t now = SG_REG32(DWT_CYCCNT);
    if (now < sg_last) {
        sg_high++;
    }
    sg_last = now;
    return ((uint64_t)sg_high << 32) | now;
}

#elif defined(SG_COUNTER_SYSTICK)

#define SYST_CSR 0xE000E010u /* ENABLE bit 0, TICKINT bit 1, CLKSOURCE bit 2 */
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SG_SYSTICK_RELOAD 0x00FFFFFFu

static volatile uint32_t sg_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    sg_wraps++;
}

void sg_cycles_init(void)
{
    SG_REG32(SYST_CSR) = 0u;
    SG_REG32(SYST_RVR) = SG_SYSTICK_RELOAD;
    SG_REG32(SYST_CVR) = 0u; /* any write clears the counter; it reloads on the next tick */
    sg_wraps = 0u;
    SG_REG32(SYST_CSR) = 7u; /* processor clock, interrupt on wrap, enabled */
}

uint64_t sg_cycles_now(void)
{
    uint32_t wraps;
    uint32_t value;
    /* Retry if a wrap was counted between the two reads. */
    do {
        wraps = sg_wraps;
        value = SG_REG32(SYST_CVR);
    } while (wraps != sg_wraps);
    return ((uint64_t)wraps << 24) + (SG_SYSTICK_RELOAD - value);
}

#else

void sg_cycles_init(void)
{
}

uint64_t sg_cycles_now(void)
{
    return 0u;
}

#endif
