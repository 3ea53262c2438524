/* slimgen kernel internals: which instruction set a kernel may use, and the DSP intrinsics.
 *
 * SG_HAS_DSP is 1 where the Armv7E-M / Armv8-M DSP extension is available (Cortex-M4, M7, M33,
 * M55: ACLE's __ARM_FEATURE_DSP), and SG_HAS_MVE is 1 where Helium is (Cortex-M55:
 * __ARM_FEATURE_MVE). A kernel picks its inner loop once, in its public function:
 *
 *     #if SG_HAS_MVE
 *         ... helium loop (kernels/src/mve/) ...
 *     #elif SG_HAS_DSP
 *         ... dsp loop ...
 *     #else
 *         ... portable loop: the reference the others are tested against ...
 *     #endif
 *
 * -DSG_EMULATE_DSP makes SG_HAS_DSP 1 on any compiler: every sg_ wrapper below is then plain
 * C99 with the exact semantics of the instruction (including SMLAD's wrapping accumulate), so
 * the DSP loops build and run bit-exact on the host (tests/kernels run every kernel twice).
 * -DSG_NO_DSP / -DSG_NO_MVE force the portable path on a core that has the extension (for
 * measuring the plain C code on the same core).
 *
 * Packed values are int32_t, as in ACLE (int16x2_t and int8x4_t are int32_t there): halfword 0
 * is bits 0..15, byte 0 is bits 0..7.
 */
#ifndef SG_ARCH_H
#define SG_ARCH_H

#include <stdint.h>
#include <string.h>

#if defined(SG_EMULATE_DSP)
#define SG_HAS_DSP 1
#define SG_DSP_EMULATED 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(SG_NO_DSP)
#define SG_HAS_DSP 1
#define SG_DSP_EMULATED 0
#include <arm_acle.h>
#else
#define SG_HAS_DSP 0
#define SG_DSP_EMULATED 0
#endif

/* Helium is never emulated: under SG_EMULATE_DSP the host tests exercise the DSP loops. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(SG_NO_MVE) &&            \
    !defined(SG_EMULATE_DSP)
#define SG_HAS_MVE 1
#else
#define SG_HAS_MVE 0
#endif

/* ---- Helpers that are plain C on every target ------------------------------------------- */

/* Two's complement reinterpretation of a uint32: defined in C99 (a plain cast of a value above
 * INT32_MAX is implementation-defined) and free at -O1 and above. */
static inline int32_t sg_arch_s32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
}

/* Rotate right by n in [0, 31]. GCC 12's arm_acle.h has no __ror; GCC and Clang turn this
 * pattern into one ROR (or fold it into the operand of the next instruction). */
static inline uint32_t sg_ror(uint32_t x, uint32_t n)
{
    return (x >> (n & 31u)) | (x << ((32u - n) & 31u));
}

/* Four int8 at p as one packed word, byte 0 = p[0] (little endian, as on every Cortex-M).
 * memcpy: p need not be 4-byte aligned; it compiles to one LDR on Armv7-M, which allows
 * unaligned word loads. */
static inline int32_t sg_read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Two int16 at p as one packed word, halfword 0 = p[0]. */
static inline int32_t sg_read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void sg_write_s16x2(int16_t *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline void sg_write_s8x4(int8_t *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Halfword 0 of two int16 (the low 16 bits of a and b) packed as (a.lo, b.lo << 16): PKHBT. */
static inline int32_t sg_pkhbt(int32_t a, int32_t b, uint32_t shift)
{
    return sg_arch_s32(((uint32_t)a & 0xffffu) | (((uint32_t)b << (shift & 31u)) & 0xffff0000u));
}

/* (a's top halfword, low halfword of b >> shift (arithmetic)): PKHTB. shift in [0, 31]. */
static inline int32_t sg_pkhtb(int32_t a, int32_t b, uint32_t shift)
{
    return sg_arch_s32(((uint32_t)a & 0xffff0000u) | ((uint32_t)(b >> (shift & 31u)) & 0xffffu));
}

#if SG_HAS_DSP
#if SG_DSP_EMULATED

/* Sign-extend the low 16 / 8 bits of v, without implementation-defined narrowing casts. */
static inline int32_t sg_arch_sext16(uint32_t v)
{
    return (int32_t)((v & 0xffffu) ^ 0x8000u) - 0x8000;
}

static inline int32_t sg_arch_sext8(uint32_t v)
{
    return (int32_t)((v & 0xffu) ^ 0x80u) - 0x80;
}

static inline int32_t sg_arch_lo16(int32_t x)
{
    return sg_arch_sext16((uint32_t)x);
}

static inline int32_t sg_arch_hi16(int32_t x)
{
    return sg_arch_sext16((uint32_t)x >> 16);
}

static inline int32_t sg_arch_pack16(int32_t lo, int32_t hi)
{
    return sg_arch_s32(((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16));
}

/* SMLAD: acc + a.lo * b.lo + a.hi * b.hi, wrapping modulo 2^32 (the instruction sets the Q flag
 * on overflow but returns the wrapped sum). Each product fits int32; their sum may not. */
static inline int32_t sg_smlad(int32_t a, int32_t b, int32_t acc)
{
    const int32_t p0 = sg_arch_lo16(a) * sg_arch_lo16(b);
    const int32_t p1 = sg_arch_hi16(a) * sg_arch_hi16(b);
    return sg_arch_s32((uint32_t)acc + (uint32_t)p0 + (uint32_t)p1);
}

/* SMLADX: the halves of b exchanged. */
static inline int32_t sg_smladx(int32_t a, int32_t b, int32_t acc)
{
    const int32_t p0 = sg_arch_lo16(a) * sg_arch_hi16(b);
    const int32_t p1 = sg_arch_hi16(a) * sg_arch_lo16(b);
    return sg_arch_s32((uint32_t)acc + (uint32_t)p0 + (uint32_t)p1);
}

/* SMLAxy: acc + one halfword of a times one halfword of b (b = bottom, t = top), wrapping. */
static inline int32_t sg_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return sg_arch_s32((uint32_t)acc + (uint32_t)(sg_arch_lo16(a) * sg_arch_lo16(b)));
}

static inline int32_t sg_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return sg_arch_s32((uint32_t)acc + (uint32_t)(sg_arch_lo16(a) * sg_arch_hi16(b)));
}

static inline int32_t sg_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return sg_arch_s32((uint32_t)acc + (uint32_t)(sg_arch_hi16(a) * sg_arch_lo16(b)));
}

static inline int32_t sg_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return sg_arch_s32((uint32_t)acc + (uint32_t)(sg_arch_hi16(a) * sg_arch_hi16(b)));
}

/* SXTB16: bytes 0 and 2 sign-extended into halfwords 0 and 1. */
static inline int32_t sg_sxtb16(int32_t x)
{
    return sg_arch_pack16(sg_arch_sext8((uint32_t)x), sg_arch_sext8((uint32_t)x >> 16));
}

/* SXTAB16: a's halfwords plus bytes 0 and 2 of x, sign-extended; each sum wraps in 16 bits. */
static inline int32_t sg_sxtab16(int32_t a, int32_t x)
{
    return sg_arch_pack16(sg_arch_lo16(a) + sg_arch_sext8((uint32_t)x),
                          sg_arch_hi16(a) + sg_arch_sext8((uint32_t)x >> 16));
}

/* Saturate to a signed / unsigned n-bit range: SSAT / USAT. */
static inline int32_t sg_arch_ssat(int32_t x, int32_t bits)
{
    const int32_t hi = (int32_t)((1u << (bits - 1)) - 1u);
    const int32_t lo = -hi - 1;
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline int32_t sg_arch_usat(int32_t x, int32_t bits)
{
    const int32_t hi = (int32_t)((1u << bits) - 1u);
    return x < 0 ? 0 : (x > hi ? hi : x);
}

static inline int32_t sg_ssat8(int32_t x)
{
    return sg_arch_ssat(x, 8);
}

static inline int32_t sg_ssat16(int32_t x)
{
    return sg_arch_ssat(x, 16);
}

static inline int32_t sg_usat8(int32_t x)
{
    return sg_arch_usat(x, 8);
}

/* SMMULR: the high word of a * b, rounded: (a * b + 2^31) >> 32. */
static inline int32_t sg_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}

/* (a * b + 2^30) >> 31 for b >= 0: gemmlowp's rounding doubling high multiply without its one
 * saturating case (a = b = INT32_MIN), which b >= 0 rules out. The result fits int32. */
static inline int32_t sg_mulh_q31_round(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* QADD: saturating int32 add. */
static inline int32_t sg_qadd(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

#else /* the real instructions, through ACLE */

static inline int32_t sg_smlad(int32_t a, int32_t b, int32_t acc)
{
    return __smlad(a, b, acc);
}

static inline int32_t sg_smladx(int32_t a, int32_t b, int32_t acc)
{
    return __smladx(a, b, acc);
}

static inline int32_t sg_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return __smlabb(a, b, acc);
}

static inline int32_t sg_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return __smlabt(a, b, acc);
}

static inline int32_t sg_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return __smlatb(a, b, acc);
}

static inline int32_t sg_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return __smlatt(a, b, acc);
}

static inline int32_t sg_sxtb16(int32_t x)
{
    return __sxtb16(x);
}

static inline int32_t sg_sxtab16(int32_t a, int32_t x)
{
    return __sxtab16(a, x);
}

/* __ssat / __usat take the width as an immediate, so each width is its own function. */
static inline int32_t sg_ssat8(int32_t x)
{
    return __ssat(x, 8);
}

static inline int32_t sg_ssat16(int32_t x)
{
    return __ssat(x, 16);
}

static inline int32_t sg_usat8(int32_t x)
{
    return (int32_t)__usat(x, 8);
}

static inline int32_t sg_qadd(int32_t a, int32_t b)
{
    return __qadd(a, b);
}

/* ACLE has no SMMULR intrinsic. */
static inline int32_t sg_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* SMULL, then the rounding add and the 64-bit shift, in 5 instructions. GCC 12 sometimes turns
 * the C expression into a full 64 x 64 multiply (MUL + MLA + UMULL) when it loses track of
 * b's sign. */
static inline int32_t sg_mulh_q31_round(int32_t a, int32_t b)
{
    int32_t lo, hi;
    __asm__("smull %0, %1, %2, %3\n\t"
            "adds %0, %0, #0x40000000\n\t"
            "adc %1, %1, #0\n\t"
            "lsrs %0, %0, #31\n\t"
            "orr %0, %0, %1, lsl #1"
            : "=&r"(lo), "=&r"(hi)
            : "r"(a), "r"(b)
            : "cc");
    return lo;
}

#endif /* SG_DSP_EMULATED */

/* SXTB16 / SXTAB16 of bytes 1 and 3 (the operand rotated right by 8). The instructions take
 * the rotation for free, but GCC 12 does not fold a C rotate into them (it emits a separate
 * ROR), so on the real core the rotated forms are one instruction of inline assembly. */
#if SG_DSP_EMULATED
static inline int32_t sg_sxtb16_ror8(int32_t x)
{
    return sg_sxtb16(sg_arch_s32(sg_ror((uint32_t)x, 8)));
}

static inline int32_t sg_sxtab16_ror8(int32_t a, int32_t x)
{
    return sg_sxtab16(a, sg_arch_s32(sg_ror((uint32_t)x, 8)));
}
#else
static inline int32_t sg_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t sg_sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
#endif

/* (a.lo, b.lo) and (a.hi, b.hi): the halfword pairs PKHBT / PKHTB build with a shift of 16.
 * GCC 12 does not match sg_pkhbt / sg_pkhtb to the instructions (it emits UXTH + ORR, AND +
 * ORR), so on the real core they are one instruction of inline assembly. */
#if SG_HAS_DSP && !SG_DSP_EMULATED
static inline int32_t sg_pack_lo16(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t sg_pack_hi16(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
static inline int32_t sg_pack_lo16(int32_t a, int32_t b)
{
    return sg_pkhbt(a, b, 16);
}

static inline int32_t sg_pack_hi16(int32_t a, int32_t b)
{
    return sg_pkhtb(b, a, 16);
}
#endif

/* Both halfwords = v (v in int16 range): the operand of SXTAB16 that adds an offset to two
 * extended bytes at once. */
static inline int32_t sg_dup16(int32_t v)
{
    return sg_pkhbt(v, v, 16);
}

/* Four int8 lanes: the larger / smaller of each pair of bytes (SSUB8 sets a GE bit per lane
 * where a >= b, SEL then picks a's byte there and b's elsewhere). One asm block, because the GE
 * bits are state the compiler does not track between two intrinsics. */
#if !SG_DSP_EMULATED
static inline int32_t sg_max_s8x4(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

static inline int32_t sg_min_s8x4(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}
#else
static inline int32_t sg_arch_s8x4_pick(int32_t a, int32_t b, int larger)
{
    uint32_t r = 0;
    for (uint32_t lane = 0; lane < 32; lane += 8) {
        const int32_t x = sg_arch_sext8((uint32_t)a >> lane);
        const int32_t y = sg_arch_sext8((uint32_t)b >> lane);
        const int32_t v = (x >= y) == (larger != 0) ? x : y;
        r |= ((uint32_t)v & 0xffu) << lane;
    }
    return sg_arch_s32(r);
}

static inline int32_t sg_max_s8x4(int32_t a, int32_t b)
{
    return sg_arch_s8x4_pick(a, b, 1);
}

static inline int32_t sg_min_s8x4(int32_t a, int32_t b)
{
    return sg_arch_s8x4_pick(a, b, 0);
}
#endif

/* All four bytes = v (v in int8 range). */
static inline int32_t sg_dup8(int32_t v)
{
    return sg_arch_s32(((uint32_t)v & 0xffu) * 0x01010101u);
}

#endif /* SG_HAS_DSP */

#endif /* SG_ARCH_H */
