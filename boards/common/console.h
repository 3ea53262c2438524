/* Console: text out and exit status, over semihosting or a board UART.
 *
 * Built with -DSG_CONSOLE_UART the text goes to the board's uart.c (sg_uart_init, called before
 * the first character, and sg_uart_putc) and exit prints "SG EXIT <status>" then parks the core.
 * Otherwise it goes through semihosting (QEMU, or a debug probe with semihosting enabled) and
 * exit ends the session with that status.
 * Output is line-buffered: a line reaches the host at '\n' or when the buffer fills.
 */
#ifndef SG_CONSOLE_H
#define SG_CONSOLE_H

#include <stdint.h>

void sg_console_write(const char *s);
void sg_console_hex32(uint32_t v);
void sg_console_dec(uint64_t v);
/* Bytes as two lower-case hex digits each, in memory order, no separator. */
void sg_console_hex_bytes(const void *p, uint32_t n);
void sg_console_flush(void);
void sg_console_exit(int32_t status) __attribute__((noreturn));

#if defined(SG_CONSOLE_UART)
void sg_uart_init(void);
void sg_uart_putc(char c);
#endif

#endif /* SG_CONSOLE_H */
