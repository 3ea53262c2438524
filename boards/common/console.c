/* Line-buffered console; see console.h. */
#include "console.h"

#if !defined(SG_CONSOLE_UART)
#include "semihost.h"
#endif

static char sg_line[128];
static uint32_t sg_line_len;

void sg_console_flush(void)
{
#if defined(SG_CONSOLE_UART)
    static int uart_ready;
    if (!uart_ready) {
        sg_uart_init();
        uart_ready = 1;
    }
    for (uint32_t i = 0; i < sg_line_len; i++) {
        sg_uart_putc(sg_line[i]);
    }
#else
    if (sg_line_len > 0u) {
        sg_line[sg_line_len] = '\0';
        sg_puts(sg_line);
    }
#endif
    sg_line_len = 0u;
}

static void sg_console_putc(char c)
{
    sg_line[sg_line_len++] = c;
    if (c == '\n' || sg_line_len == sizeof(sg_line) - 1u) {
        sg_console_flush();
    }
}

void sg_console_write(const char *s)
{
    while (*s != '\0') {
        sg_console_putc(*s++);
    }
}

static const char sg_hex_digits[] = "0123456789abcdef";

void sg_console_hex32(uint32_t v)
{
    for (int shift = 28; shift >= 0; shift -= 4) {
        sg_console_putc(sg_hex_digits[(v >> shift) & 0xFu]);
    }
}

void sg_console_dec(uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        uint64_t q = v / 10u;
        digits[n++] = (char)('0' + (int)(v - q * 10u));
        v = q;
    } while (v != 0u);
    while (n > 0) {
        sg_console_putc(digits[--n]);
    }
}

void sg_console_hex_bytes(const void *p, uint32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    for (uint32_t i = 0; i < n; i++) {
        sg_console_putc(sg_hex_digits[b[i] >> 4]);
        sg_console_putc(sg_hex_digits[b[i] & 0xFu]);
    }
}

void sg_console_exit(int32_t status)
{
    sg_console_flush();
#if defined(SG_CONSOLE_UART)
    sg_console_write("SG EXIT ");
    sg_console_dec((uint64_t)(uint32_t)status);
    sg_console_write("\n");
    for (;;) {
        __asm__ volatile("wfi");
    }
#else
    sg_exit(status);
#endif
}
