/* NUCLEO-F446RE console: USART2 TX on PA2 (AF7), which the board routes to the ST-LINK
 * virtual COM port. Register addresses and fields from RM0390 (STM32F446xx reference manual).
 * The core runs from the 16 MHz HSI after reset; BRR = 16 MHz / 115200 = 138.9 -> 139. */
#include <stdint.h>

#include "console.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_AHB1ENR 0x40023830u   /* GPIOAEN = bit 0 */
#define RCC_APB1ENR 0x40023840u   /* USART2EN = bit 17 */
#define GPIOA_MODER 0x40020000u   /* 2 bits per pin; 0b10 = alternate function */
#define GPIOA_AFRL 0x40020020u    /* 4 bits per pin 0-7 */
#define USART2_SR 0x40004400u     /* TXE = bit 7 */
#define USART2_DR 0x40004404u
#define USART2_BRR 0x40004408u
#define USART2_CR1 0x4000440Cu    /* UE = bit 13, TE = bit 3 */

void sg_uart_init(void)
{
    REG(RCC_AHB1ENR) |= 1u << 0;
    REG(RCC_APB1ENR) |= 1u << 17;
    (void)REG(RCC_APB1ENR); /* the clock needs a cycle before the peripheral is touched */
    REG(GPIOA_MODER) = (REG(GPIOA_MODER) & ~(3u << 4)) | (2u << 4);
    REG(GPIOA_AFRL) = (REG(GPIOA_AFRL) & ~(0xFu << 8)) | (7u << 8);
    REG(USART2_BRR) = 139u;
    REG(USART2_CR1) = (1u << 13) | (1u << 3);
}

void sg_uart_putc(char c)
{
    while ((REG(USART2_SR) & (1u << 7)) == 0u) {
    }
    REG(USART2_DR) = (uint8_t)c;
}
