/* Hand-counted code for tests/profile: every count below follows from the instructions. */
    .syntax unified
    .thumb
    .text

/* count(n), n >= 1: 4 + 6 n instructions. The IT block's ADDHI is executed but its
 * condition fails while n <= 100 (a per-instruction hook would miss it). */
    .global count
    .type count, %function
    .thumb_func
count:
    movs r1, #0
    movs r2, #0
1:  adds r1, #3
    cmp r0, #100
    it hi
    addhi r2, #1
    subs r0, #1
    bne 1b
    mov r0, r1
    bx lr
    .size count, . - count

/* twice(n): calls count(n) and count(2n); its own instructions: 7. */
    .global twice
    .type twice, %function
    .thumb_func
twice:
    push {r4, lr}
    mov r4, r0
    bl count
    lsls r0, r4, #1
    bl count
    movs r0, #0
    pop {r4, pc}
    .size twice, . - twice
