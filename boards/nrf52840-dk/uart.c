/* nRF52840-DK console: UART0 (the legacy UART, not UARTE) TX on P0.06, which the DK routes to
 * the J-Link virtual COM port. Register offsets from the nRF52840 Product Specification. */
#include <stdint.h>

#include "console.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define P0_OUTSET 0x50000508u
#define P0_DIRSET 0x50000518u
#define UART0 0x40002000u
#define UART_TASKS_STARTTX (UART0 + 0x008u)
#define UART_EVENTS_TXDRDY (UART0 + 0x11Cu)
#define UART_ENABLE (UART0 + 0x500u)   /* 4 = enabled */
#define UART_PSEL_TXD (UART0 + 0x50Cu)
#define UART_TXD (UART0 + 0x51Cu)
#define UART_BAUDRATE (UART0 + 0x524u) /* 0x01D7E000 = 115200 baud */
#define TX_PIN 6u

void sg_uart_init(void)
{
    REG(P0_OUTSET) = 1u << TX_PIN; /* idle high before the UART takes the pin */
    REG(P0_DIRSET) = 1u << TX_PIN;
    REG(UART_PSEL_TXD) = TX_PIN;
    REG(UART_BAUDRATE) = 0x01D7E000u;
    REG(UART_ENABLE) = 4u;
    REG(UART_TASKS_STARTTX) = 1u;
}

void sg_uart_putc(char c)
{
    REG(UART_EVENTS_TXDRDY) = 0u;
    REG(UART_TXD) = (uint8_t)c;
    while (REG(UART_EVENTS_TXDRDY) == 0u) {
    }
}
