/* Semihosting calls; see semihost.h. */
#include "semihost.h"

#include <string.h>

#define SG_ADP_STOPPED_APPLICATION_EXIT 0x20026

int32_t sg_semihost_call(int32_t op, void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sg_puts(const char *s)
{
    sg_semihost_call(SG_SYS_WRITE0, (void *)s);
}

int32_t sg_file_open_rb(const char *path)
{
    /* mode 1 = "rb" in the semihosting fopen mode table */
    uint32_t block[3] = {(uint32_t)path, 1u, (uint32_t)strlen(path)};
    return sg_semihost_call(SG_SYS_OPEN, block);
}

int32_t sg_file_read(int32_t handle, void *buf, int32_t len)
{
    uint32_t block[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)len};
    /* SYS_READ returns the number of bytes NOT read. */
    int32_t left = sg_semihost_call(SG_SYS_READ, block);
    if (left < 0 || left > len) {
        return 0;
    }
    return len - left;
}

void sg_file_close(int32_t handle)
{
    uint32_t block[1] = {(uint32_t)handle};
    sg_semihost_call(SG_SYS_CLOSE, block);
}

void sg_exit(int32_t status)
{
    uint32_t block[2] = {SG_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    sg_semihost_call(SG_SYS_EXIT_EXTENDED, block);
    /* Older hosts without SYS_EXIT_EXTENDED: plain SYS_EXIT (status 0 or 1 only). */
    uint32_t reason = status == 0 ? SG_ADP_STOPPED_APPLICATION_EXIT : 0x20023u; /* RunTimeError */
    sg_semihost_call(SG_SYS_EXIT, (void *)reason);
    for (;;) {
    }
}
