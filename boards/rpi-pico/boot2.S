/* RP2040 second-stage bootloader ("boot2"), written for slimgen from the RP2040 datasheet
 * (sections 2.8.1 "Flash boot" and 4.10 "SSI").
 *
 * The boot ROM copies the first 256 bytes of flash to SRAM (0x20041F00), checks that the last
 * 4 bytes are the CRC-32 of the first 252 (polynomial 0x04C11DB7, initial value 0xFFFFFFFF, not
 * reflected, no final XOR) and calls it with lr = 0. This code must therefore be position
 * independent and exactly 256 bytes long.
 *
 * It configures the XIP SSI for the plainest access every SPI NOR flash supports: command 03h
 * (READ), 24-bit address, one bit per clock, at clk_sys / 4. Slow, but it needs nothing from
 * the flash chip. Then it points VTOR at the vector table right after it (0x10000100), loads
 * the stack pointer and jumps to Reset_Handler.
 *
 * CHANGING THIS FILE changes the CRC: tests/firmware/test_real_boards.py recomputes it from
 * the assembled bytes and prints the value to put in SG_BOOT2_CRC.
 */
#define SG_BOOT2_CRC 0x7ae57ad2

#define XIP_SSI_BASE 0x18000000
#define SSI_CTRLR0 0x00       /* DFS_32 [20:16], TMOD [9:8], SPI_FRF [22:21] */
#define SSI_CTRLR1 0x04       /* NDF: data frames per transfer - 1 */
#define SSI_SSIENR 0x08
#define SSI_BAUDR 0x14        /* SCK = clk_sys / BAUDR, even */
#define SSI_SPI_CTRLR0 0xF4   /* XIP_CMD [31:24], INST_L [9:8], ADDR_L [5:2], TRANS_TYPE [1:0] */
#define PPB_VTOR 0xE000ED08

/* 32-bit frames, TMOD = 3 (EEPROM read: send command + address, then receive), standard SPI */
#define CTRLR0_XIP ((31 << 16) | (3 << 8))
/* command 03h, 8-bit instruction, 24-bit address (6 x 4 bits), all in standard SPI */
#define SPI_CTRLR0_XIP ((0x03 << 24) | (2 << 8) | (6 << 2))

    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .boot2, "ax"

    .global sg_boot2
    .type sg_boot2, %function
    .thumb_func
sg_boot2:
    push {lr}
    ldr r3, =XIP_SSI_BASE
    movs r1, #0
    str r1, [r3, #SSI_SSIENR]       /* disable the SSI while it is configured */
    movs r1, #4
    str r1, [r3, #SSI_BAUDR]
    ldr r1, =CTRLR0_XIP
    str r1, [r3, #SSI_CTRLR0]
    movs r1, #0
    str r1, [r3, #SSI_CTRLR1]       /* one 32-bit frame per XIP access */
    ldr r1, =SPI_CTRLR0_XIP
    ldr r2, =(XIP_SSI_BASE + SSI_SPI_CTRLR0)
    str r1, [r2]
    movs r1, #1
    str r1, [r3, #SSI_SSIENR]
    pop {r0}
    cmp r0, #0
    beq 1f
    bx r0                           /* called as a function (not by the boot ROM): return */
1:
    ldr r0, =0x10000100             /* the vector table, right after these 256 bytes */
    ldr r1, =PPB_VTOR
    str r0, [r1]
    ldmia r0!, {r1, r2}             /* initial SP, Reset_Handler */
    msr msp, r1
    bx r2

    .ltorg
    .fill 252 - (. - sg_boot2), 1, 0
    .word SG_BOOT2_CRC
