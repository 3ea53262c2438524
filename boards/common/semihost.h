/* Semihosting: console output, host file input and exit status through a debugger or QEMU.
 *
 * Every call traps with `bkpt 0xAB` (the M-profile semihosting instruction), operation number in
 * r0 and a parameter (or a pointer to a parameter block) in r1; the result comes back in r0.
 * Under QEMU this needs `-semihosting-config enable=on,target=native`; on a real board the debug
 * probe (pyOCD, OpenOCD) must have semihosting enabled, otherwise the trap is a HardFault.
 */
#ifndef SG_SEMIHOST_H
#define SG_SEMIHOST_H

#include <stdint.h>

/* Operation numbers from the Arm semihosting specification. */
#define SG_SYS_OPEN 0x01
#define SG_SYS_CLOSE 0x02
#define SG_SYS_WRITE0 0x04
#define SG_SYS_WRITE 0x05
#define SG_SYS_READ 0x06
#define SG_SYS_EXIT 0x18
#define SG_SYS_EXIT_EXTENDED 0x20

/* Raw trap: returns r0. */
int32_t sg_semihost_call(int32_t op, void *arg);

/* Writes a NUL-terminated string to the host console (SYS_WRITE0). */
void sg_puts(const char *s);

/* Opens a host file for binary reading; returns a handle >= 0, or -1. */
int32_t sg_file_open_rb(const char *path);

/* Reads up to len bytes; returns how many were read (0 at end of file). */
int32_t sg_file_read(int32_t handle, void *buf, int32_t len);

void sg_file_close(int32_t handle);

/* Ends the program with an exit status (SYS_EXIT_EXTENDED, ADP_Stopped_ApplicationExit). */
void sg_exit(int32_t status) __attribute__((noreturn));

#endif /* SG_SEMIHOST_H */
