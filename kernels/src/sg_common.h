/* slimgen kernel internals: argument checks and small helpers shared by every kernel.
 *
 * Not a public header: kernels include it by relative path, so a build needs only
 * -I kernels/include.
 */
#ifndef SG_COMMON_H
#define SG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "sg_types.h"

/* SG_CHECKS=1 (host, test and debug builds) compiles the documented preconditions in; release
 * firmware may build with -DSG_CHECKS=0. A check never changes a result, only whether the kernel
 * runs at all. */
#ifndef SG_CHECKS
#define SG_CHECKS 1
#endif

#if SG_CHECKS
#define SG_REQUIRE(cond, status)                                                                   \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (status);                                                                       \
        }                                                                                          \
    } while (0)
#else
/* sizeof keeps the operands "used" (no -Wunused warnings) without evaluating them. */
#define SG_REQUIRE(cond, status)                                                                   \
    do {                                                                                           \
        (void)sizeof((cond) ? 1 : 0);                                                              \
        (void)(status);                                                                            \
    } while (0)
#endif

/* Propagate a failing status, e.g. from generated code: SG_TRY(sg_conv2d_s8(...)); */
#define SG_TRY(expr)                                                                               \
    do {                                                                                           \
        const sg_status sg_try_status_ = (expr);                                                   \
        if (sg_try_status_ != SG_OK) {                                                             \
            return sg_try_status_;                                                                 \
        }                                                                                          \
    } while (0)

/* sg_requant.h and the softmax shift right negative numbers and rely on it being arithmetic.
 * C99 leaves that implementation-defined; every compiler slimgen targets (GCC, Clang, Arm
 * Compiler) defines it as arithmetic, and this refuses to compile anywhere it is not. */
typedef char sg_assert_arithmetic_right_shift[((-1) >> 1) == -1 ? 1 : -1];

static inline int32_t sg_min_s32(int32_t a, int32_t b)
{
    return a < b ? a : b;
}

static inline int32_t sg_max_s32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

static inline int8_t sg_clamp_to_s8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)sg_min_s32(sg_max_s32(v, lo), hi);
}

/* Count leading zeros of a non-zero value (CLZ on Armv7-M; a libgcc call on Armv6-M). */
static inline int32_t sg_clz_u32(uint32_t x)
{
#if defined(__GNUC__)
    return (int32_t)__builtin_clz(x);
#else
    int32_t n = 0;
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

/* Batch 1 and a positive shape whose element count, and so every flat index, fits in int32. */
static inline int sg_dims_ok(const sg_dims *d)
{
    return d->n == 1 && d->h > 0 && d->w > 0 && d->c > 0 &&
           (int64_t)d->h * d->w * d->c <= INT32_MAX;
}

static inline int sg_scratch_ok(sg_scratch scratch, int32_t needed)
{
    return scratch.size >= needed && (needed == 0 || scratch.buf != NULL);
}

#endif /* SG_COMMON_H */
