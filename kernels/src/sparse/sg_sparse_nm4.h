/* slimgen kernel internals: the N:4 (sg_nm4_s8) walkers, through pair tables.
 *
 * A 2:4 group multiplies two of its four inputs, which two depending on the row. Gathering
 * them one by one costs about 5 instructions per weight (index, load, load, multiply, loop),
 * more than the dense SMLAD kernels spend on the two weights the group drops. Instead, the
 * inputs are rearranged once per input row into a *pair table* of int16x2 words holding every
 * pair an entry can use (2:4: the 6 pairs of a group; 1:4: the 16 pairs of one input from each
 * of two groups), and the packer stores per entry the index of its word. One entry is then one
 * byte load, one table load and one SMLAD against its two weights, sign-extended two entries
 * at a time by SXTB16 (compiler/slimgen/lower/sparse_format.py documents the layout). The
 * table costs 24 (2:4) or 32 (1:4) bytes of scratch per 4 inputs, and its build a few
 * instructions per input, paid once per input row for all output rows.
 *
 * Word indexes are relative to the entry's block of 16 entries, so they fit a byte: the table
 * pointer moves once per block. The portable path walks the same table with plain C
 * multiplies, so both paths share the format and the bias fold (sg_sparse.h).
 */
#ifndef SG_SPARSE_NM4_H
#define SG_SPARSE_NM4_H

#include "sg_sparse.h"

/* The fc kernel reads the int16 weight pairs, the convolutions the int8 values. */
static inline int sg_nm4_ok(const sg_nm4_s8 *w, int fc)
{
    return w->rows > 0 && w->cols > 0 && (w->n == 1 || w->n == 2) && w->offset != NULL &&
           (fc ? w->pairs != NULL : w->values != NULL);
}

static inline int32_t sg_nm4_groups(int32_t cols)
{
    return (cols >> 2) + ((cols & 3) != 0);
}

/* Entries (SMLADs) per row: a group (2:4) or two groups (1:4). */
static inline int32_t sg_nm4_entries(int32_t cols, int32_t n)
{
    const int32_t g = sg_nm4_groups(cols);
    return n == 2 ? g : (g >> 1) + (g & 1);
}

/* Table bytes per entry: 6 pairs (2:4) or 16 (1:4), 4 bytes each. */
static inline int32_t sg_nm4_entry_bytes(int32_t n)
{
    return n == 2 ? 24 : 64;
}

/* One input row's pair table: the scratch unit of the N:4 kernels. */
static inline int64_t sg_nm4_table_bytes(int32_t cols, int32_t n)
{
    return (int64_t)sg_nm4_entries(cols, n) * sg_nm4_entry_bytes(n);
}

/* Scratch of `tables` pair tables and `tables` int32 sums per row (on every ISA, so that a
 * memory plan does not depend on the core; the portable path uses the tables only), plus
 * `extra` bytes after them. */
static inline int64_t sg_nm4_scratch(const sg_nm4_s8 *w, int32_t tables, int64_t extra)
{
    return tables * (sg_nm4_table_bytes(w->cols, w->n) + 4 * (int64_t)w->rows) + extra;
}

/* The table word (lo, hi) of two int16 values. */
static inline void sg_nm4_put(uint8_t *t, int32_t lo, int32_t hi)
{
    const int16_t h[2] = {(int16_t)lo, (int16_t)hi};
    memcpy(t, h, sizeof h);
}

static inline void sg_nm4_put_word(uint8_t *t, int32_t v)
{
    memcpy(t, &v, sizeof v);
}

/* Inputs x[0..avail-1] of a group (avail >= 1) as a little-endian word, zero past the row. */
static inline int32_t sg_nm4_group_word(const int8_t *x, int32_t avail)
{
    if (avail >= 4) {
        return sg_read_s8x4(x);
    }
    uint32_t u = 0;
    for (int32_t i = 0; i < avail; ++i) {
        u |= (uint32_t)(uint8_t)x[i] << (8 * i);
    }
    return sg_arch_s32(u);
}

#if SG_HAS_DSP
#if SG_DSP_EMULATED
#define sg_nm4_pkhbt16(a, b) sg_pkhbt((a), (b), 16)
#define sg_nm4_pkhbt0(a, b) sg_pkhbt((a), (b), 0)
#define sg_nm4_pkhtb0(a, b) sg_pkhtb((a), (b), 0)
#define sg_nm4_pkhtb16(a, b) sg_pkhtb((a), (b), 16)
/* Keeps a chain of loads together on the core (the table model and the M4 pipeline load back
 * to back); nothing to keep on the host. */
#define SG_NM4_PIN1(a) ((void)0)
#define SG_NM4_PIN2(a, b) ((void)0)
#define SG_NM4_PIN4(a, b, c, d) ((void)0)
#else
/* GCC builds PKHBT / PKHTB from the C of sg_pkhbt as two or three instructions. */
static inline int32_t sg_nm4_pkhbt16(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t sg_nm4_pkhbt0(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t sg_nm4_pkhtb0(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhtb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t sg_nm4_pkhtb16(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#define SG_NM4_PIN1(a) __asm__ volatile("" : "+r"(a))
#define SG_NM4_PIN2(a, b) __asm__ volatile("" : "+r"(a), "+r"(b))
#define SG_NM4_PIN4(a, b, c, d) __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d))
#endif
#endif

/* 2:4: the 6 words (x_i, x_j), (i, j) = 01 02 03 12 13 23 (sparse_format.NM_PAIRS), of the
 * group word xw, ws bytes apart. */
static inline void sg_nm4_pairs_2(int32_t xw, uint8_t *t, int32_t ws)
{
#if SG_HAS_DSP
    /* Two SXTB16 give (x0, x2) and (x1, x3); the other four pairs are one PKH each. */
    const int32_t e02 = sg_sxtb16(xw);
    const int32_t e13 = sg_sxtb16_ror8(xw);
    sg_nm4_put_word(t, sg_nm4_pkhbt16(e02, e13));
    sg_nm4_put_word(t + ws, e02);
    sg_nm4_put_word(t + 2 * ws, sg_nm4_pkhbt0(e02, e13));
    sg_nm4_put_word(t + 3 * ws, sg_nm4_pkhtb0(e02, e13));
    sg_nm4_put_word(t + 4 * ws, e13);
    sg_nm4_put_word(t + 5 * ws, sg_nm4_pkhtb16(e13, e02));
#else
    int8_t q[4];
    memcpy(q, &xw, sizeof q);
    sg_nm4_put(t, q[0], q[1]);
    sg_nm4_put(t + ws, q[0], q[2]);
    sg_nm4_put(t + 2 * ws, q[0], q[3]);
    sg_nm4_put(t + 3 * ws, q[1], q[2]);
    sg_nm4_put(t + 4 * ws, q[1], q[3]);
    sg_nm4_put(t + 5 * ws, q[2], q[3]);
#endif
}

/* 1:4: the 16 words (a_i, b_j), word 4i + j, of the words of two consecutive groups. */
static inline void sg_nm4_pairs_1(int32_t aw, int32_t bw, uint8_t *t, int32_t ws)
{
#if SG_HAS_DSP
    /* a_i in the low half, b_j in the high half: (a0 a2) and (a1 a3), their halves swapped,
     * and (b0 b2), (b1 b3); one PKH per word. */
    const int32_t a02 = sg_sxtb16(aw);
    const int32_t a13 = sg_sxtb16_ror8(aw);
    const int32_t b02 = sg_sxtb16(bw);
    const int32_t b13 = sg_sxtb16_ror8(bw);
    const int32_t a20 = sg_arch_s32(sg_ror((uint32_t)a02, 16));
    const int32_t a31 = sg_arch_s32(sg_ror((uint32_t)a13, 16));
    const int32_t lo[4] = {a02, a13, a20, a31}; /* a_i in the low half */
#pragma GCC unroll 4
    for (int32_t i = 0; i < 4; ++i) {
        uint8_t *ti = t + 4 * i * ws;
        sg_nm4_put_word(ti, sg_nm4_pkhbt16(lo[i], b02));
        sg_nm4_put_word(ti + ws, sg_nm4_pkhbt16(lo[i], b13));
        sg_nm4_put_word(ti + 2 * ws, sg_nm4_pkhbt0(lo[i], b02));
        sg_nm4_put_word(ti + 3 * ws, sg_nm4_pkhbt0(lo[i], b13));
    }
#else
    int8_t a[4];
    int8_t b[4];
    memcpy(a, &aw, sizeof a);
    memcpy(b, &bw, sizeof b);
    for (int32_t i = 0; i < 4; ++i) {
        for (int32_t j = 0; j < 4; ++j) {
            sg_nm4_put(t + (4 * i + j) * ws, a[i], b[j]);
        }
    }
#endif
}

/* The pair table of input row x[cols]: word s at t + s * ws (ws = 4: one row's table;
 * ws = 16: four rows' tables interleaved, row k at t + 4k). */
static inline void sg_nm4_table(const int8_t *x, int32_t cols, int32_t n, uint8_t *t, int32_t ws)
{
    const int32_t groups = sg_nm4_groups(cols);
    if (n == 2) {
        for (int32_t g = 0; g < groups; ++g) {
            sg_nm4_pairs_2(sg_nm4_group_word(x + 4 * g, cols - 4 * g), t, ws);
            t += 6 * ws;
        }
        return;
    }
    for (int32_t g = 0; g < groups; g += 2) {
        const int32_t aw = sg_nm4_group_word(x + 4 * g, cols - 4 * g);
        const int32_t bw = g + 1 < groups ? sg_nm4_group_word(x + 4 * g + 4, cols - 4 * g - 4) : 0;
        sg_nm4_pairs_1(aw, bw, t, ws);
        t += 16 * ws;
    }
}

#if SG_HAS_DSP
static inline void sg_nm4_put_lanes(uint8_t *t, int32_t a, int32_t b, int32_t c, int32_t d)
{
    sg_nm4_put_word(t, a);
    sg_nm4_put_word(t + 4, b);
    sg_nm4_put_word(t + 8, c);
    sg_nm4_put_word(t + 12, d);
}

/* 2:4, four rows at once: the four lanes of each table word are adjacent, so they go out as
 * one 16-byte run of stores (GCC pairs them into STRD / STM) instead of four strided ones. */
static inline void sg_nm4_table_4x2(const int8_t *x0, const int8_t *x1, const int8_t *x2,
                                    const int8_t *x3, int32_t cols, uint8_t *t)
{
    const int32_t groups = sg_nm4_groups(cols);
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t avail = cols - 4 * g;
        const int32_t a0 = sg_nm4_group_word(x0 + 4 * g, avail);
        const int32_t a1 = sg_nm4_group_word(x1 + 4 * g, avail);
        const int32_t a2 = sg_nm4_group_word(x2 + 4 * g, avail);
        const int32_t a3 = sg_nm4_group_word(x3 + 4 * g, avail);
        const int32_t e0 = sg_sxtb16(a0), e1 = sg_sxtb16(a1);
        const int32_t e2 = sg_sxtb16(a2), e3 = sg_sxtb16(a3);
        const int32_t f0 = sg_sxtb16_ror8(a0), f1 = sg_sxtb16_ror8(a1);
        const int32_t f2 = sg_sxtb16_ror8(a2), f3 = sg_sxtb16_ror8(a3);
        /* Word s of lane k at t + 16 s + 4 k. */
        sg_nm4_put_lanes(t, sg_nm4_pkhbt16(e0, f0), sg_nm4_pkhbt16(e1, f1),
                         sg_nm4_pkhbt16(e2, f2), sg_nm4_pkhbt16(e3, f3));
        sg_nm4_put_lanes(t + 16, e0, e1, e2, e3);
        sg_nm4_put_lanes(t + 32, sg_nm4_pkhbt0(e0, f0), sg_nm4_pkhbt0(e1, f1),
                         sg_nm4_pkhbt0(e2, f2), sg_nm4_pkhbt0(e3, f3));
        sg_nm4_put_lanes(t + 48, sg_nm4_pkhtb0(e0, f0), sg_nm4_pkhtb0(e1, f1),
                         sg_nm4_pkhtb0(e2, f2), sg_nm4_pkhtb0(e3, f3));
        sg_nm4_put_lanes(t + 64, f0, f1, f2, f3);
        sg_nm4_put_lanes(t + 80, sg_nm4_pkhtb16(f0, e0), sg_nm4_pkhtb16(f1, e1),
                         sg_nm4_pkhtb16(f2, e2), sg_nm4_pkhtb16(f3, e3));
        t += 96;
    }
}
#endif

/* Four pixels' tables, interleaved (ws = 16), from rows x + k * step; lanes past m (< 4
 * pixels left) repeat the last pixel, so that the walk needs no tail. */
static inline void sg_nm4_table_4(const int8_t *x, int32_t step, int32_t m, int32_t cols,
                                  int32_t n, uint8_t *t)
{
#if SG_HAS_DSP
    if (n == 2) {
        sg_nm4_table_4x2(x, x + (m > 1 ? 1 : 0) * step, x + (m > 2 ? 2 : m - 1) * step,
                         x + (m > 3 ? 3 : m - 1) * step, cols, t);
        return;
    }
#endif
    for (int32_t k = 0; k < 4; ++k) {
        sg_nm4_table(x + (k < m ? k : m - 1) * step, cols, n, t + 4 * k, 16);
    }
}

/* Offsets are table word indexes from the start of the entry's block of SG_NM4_BLOCK
 * entries: at most 16 * 16 - 1 for 1:4, so a byte holds them. */
#define SG_NM4_BLOCK 16

/* The four accumulators of a four-pixel walk. */
typedef struct {
    int32_t a0, a1, a2, a3;
} sg_nm4_acc4;

#if SG_HAS_DSP
static inline int32_t sg_nm4_word(const uint8_t *t, uint32_t o)
{
    int32_t v;
    memcpy(&v, t + 4 * o, sizeof v);
    return v;
}

/* fc: four entries with their int16 weight pairs (sg_nm4_s8.pairs): the loads first, as one
 * chain (Cortex-M4 pipelines back-to-back loads), then four SMLADs. */
static inline int32_t sg_nm4_quad_w(const uint8_t *t, const uint8_t *o, const int16_t *v,
                                    int32_t acc)
{
    uint32_t o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3];
    SG_NM4_PIN4(o0, o1, o2, o3);
    int32_t p0 = sg_nm4_word(t, o0), p1 = sg_nm4_word(t, o1);
    int32_t p2 = sg_nm4_word(t, o2), p3 = sg_nm4_word(t, o3);
    int32_t w0 = sg_read_s16x2(v), w1 = sg_read_s16x2(v + 2);
    int32_t w2 = sg_read_s16x2(v + 4), w3 = sg_read_s16x2(v + 6);
    SG_NM4_PIN4(p0, p1, p2, p3);
    SG_NM4_PIN4(w0, w1, w2, w3);
    acc = sg_smlad(p0, w0, acc);
    acc = sg_smlad(p1, w1, acc);
    acc = sg_smlad(p2, w2, acc);
    return sg_smlad(p3, w3, acc);
}

static inline int32_t sg_nm4_one_w(const uint8_t *t, uint32_t o, const int16_t *v, int32_t acc)
{
    return sg_smlad(sg_nm4_word(t, o), sg_read_s16x2(v), acc);
}

/* One entry of four interleaved tables: word o of lane k at t + 16 o + 4 k. */
static inline void sg_nm4_one_4(const uint8_t *t, uint32_t o, int32_t wx, sg_nm4_acc4 *acc)
{
    /* One ADD for the four loads: without the pin GCC also keeps 16 * o for the first. */
    const uint8_t *a = t + 16 * o;
    SG_NM4_PIN1(a);
    int32_t p0 = sg_nm4_word(a, 0), p1 = sg_nm4_word(a, 1);
    int32_t p2 = sg_nm4_word(a, 2), p3 = sg_nm4_word(a, 3);
    acc->a0 = sg_smlad(p0, wx, acc->a0);
    acc->a1 = sg_smlad(p1, wx, acc->a1);
    acc->a2 = sg_smlad(p2, wx, acc->a2);
    acc->a3 = sg_smlad(p3, wx, acc->a3);
}

/* pointwise / conv: two entries (one int8 weight word) of four pixels. */
static inline void sg_nm4_two_4(const uint8_t *t, const uint8_t *o, const int8_t *v,
                                sg_nm4_acc4 *acc)
{
    uint32_t oa = o[0], ob = o[1];
    int32_t ww = sg_read_s8x4(v);
    SG_NM4_PIN2(oa, ob);
    sg_nm4_one_4(t, oa, sg_sxtb16(ww), acc);
    sg_nm4_one_4(t, ob, sg_sxtb16_ror8(ww), acc);
}

static inline void sg_nm4_last_4(const uint8_t *t, uint32_t oa, const int8_t *v,
                                 sg_nm4_acc4 *acc)
{
    sg_nm4_one_4(t, oa, sg_sxtb16(sg_read_s8x4(v)), acc);
}
#else
/* acc + table word o . (w0, w1). */
static inline int32_t sg_nm4_mac_c(const uint8_t *t, uint32_t o, int32_t w0, int32_t w1,
                                   int32_t acc)
{
    int16_t h[2];
    memcpy(h, t + 4 * o, sizeof h);
    return acc + (int32_t)h[0] * w0 + (int32_t)h[1] * w1;
}

static inline int32_t sg_nm4_one_w(const uint8_t *t, uint32_t o, const int16_t *v, int32_t acc)
{
    return sg_nm4_mac_c(t, o, v[0], v[1], acc);
}

static inline int32_t sg_nm4_quad_w(const uint8_t *t, const uint8_t *o, const int16_t *v,
                                    int32_t acc)
{
    acc = sg_nm4_one_w(t, o[0], v, acc);
    acc = sg_nm4_one_w(t, o[1], v + 2, acc);
    acc = sg_nm4_one_w(t, o[2], v + 4, acc);
    return sg_nm4_one_w(t, o[3], v + 6, acc);
}

/* Weights (w0, w1) against word o of the four interleaved tables. */
static inline void sg_nm4_one_4(const uint8_t *t, uint32_t o, int32_t w0, int32_t w1,
                                sg_nm4_acc4 *acc)
{
    const uint8_t *a = t + 16 * o;
    acc->a0 = sg_nm4_mac_c(a, 0, w0, w1, acc->a0);
    acc->a1 = sg_nm4_mac_c(a, 1, w0, w1, acc->a1);
    acc->a2 = sg_nm4_mac_c(a, 2, w0, w1, acc->a2);
    acc->a3 = sg_nm4_mac_c(a, 3, w0, w1, acc->a3);
}

static inline void sg_nm4_two_4(const uint8_t *t, const uint8_t *o, const int8_t *v,
                                sg_nm4_acc4 *acc)
{
    sg_nm4_one_4(t, o[0], v[0], v[2], acc);
    sg_nm4_one_4(t, o[1], v[1], v[3], acc);
}

static inline void sg_nm4_last_4(const uint8_t *t, uint32_t oa, const int8_t *v,
                                 sg_nm4_acc4 *acc)
{
    sg_nm4_one_4(t, oa, v[0], v[2], acc);
}
#endif

/* SG_NM4_ASM_M7: the walk's blocks in a hand schedule for the Cortex-M7, which the build
 * selects with -DSG_TUNE_CORTEX_M7 (firmware/targets.py cpu_flags, profile/cores.py). The
 * Cortex-M4 and M33 keep GCC's schedule of the C: their loads pipeline only back to back, and
 * the hand schedule, in one asm statement that needs 14 registers, makes GCC spill the row
 * loop around it (M4 est. cycles +6 % on the 2:4 pointwise layer). GCC only, optimizing (no
 * frame pointer): clang keeps r7 for one and has 13 registers left. */
#if SG_HAS_DSP && !SG_DSP_EMULATED && defined(SG_TUNE_CORTEX_M7) && defined(__GNUC__) &&       \
    !defined(__clang__) && defined(__OPTIMIZE__)
#define SG_NM4_ASM_M7 1
#else
#define SG_NM4_ASM_M7 0
#endif

#if SG_NM4_ASM_M7
/* One block of 16 entries of four pixels, scheduled by hand for the dual-issue Cortex-M7: GCC
 * issues each entry's index byte, address and table loads back to back before its SMLADs, a
 * chain of about 7 cycles that the core does not hide. Here the next entry's index byte is
 * loaded before this entry's table words and becomes an address while this entry's SMLADs run
 * (the two address registers swap roles each entry; the fourth table word reuses the address
 * register), and each entry loads and sign-extends the weights of the next one (the even
 * entry's SXTB16 of the word, the odd one's SXTB16 ROR 8), so that every SXTB16 issues beside
 * an SMLAD of the entry before. llvm-mca, 2:4 pointwise over 64 inputs (one block per row):
 * 114 cycles per row's block with the row loop around it, against 135 for GCC's schedule of
 * the C. */
#define SG_NM4_ASM_ADDR(N) "add %[" #N "], %[t], %[" #N "], lsl #4\n\t"
/* Entry with its address in A, weights in W: the next index byte NX into N, the next weights
 * from byte NV of v into X (ROR: ", ror #8" or nothing). */
#define SG_NM4_ASM_ENTRY(A, N, W, X, NX, NV, ROR)                                                \
    "ldrb %[" #N "], [%[o], #" #NX "]\n\t"                                                        \
    "ldr %[" #X "], [%[v], #" #NV "]\n\t"                                                         \
    "ldr %[q0], [%[" #A "]]\n\t"                                                                  \
    "ldr %[q1], [%[" #A "], #4]\n\t"                                                              \
    "ldr %[q2], [%[" #A "], #8]\n\t"                                                              \
    "ldr %[" #A "], [%[" #A "], #12]\n\t"                                                         \
    "smlad %[a0], %[q0], %[" #W "], %[a0]\n\t" SG_NM4_ASM_ADDR(N)                                 \
    "smlad %[a1], %[q1], %[" #W "], %[a1]\n\t"                                                    \
    "sxtb16 %[" #X "], %[" #X "]" ROR "\n\t"                                                      \
    "smlad %[a2], %[q2], %[" #W "], %[a2]\n\t"                                                    \
    "smlad %[a3], %[" #A "], %[" #W "], %[a3]\n\t"
#define SG_NM4_ASM_EVEN(NX, NV) SG_NM4_ASM_ENTRY(ra, rb, wa, wb, NX, NV, ", ror #8")
#define SG_NM4_ASM_ODD(NX, NV) SG_NM4_ASM_ENTRY(rb, ra, wb, wa, NX, NV, "")

/* Always inlined: at -O2 (the firmware's level) GCC's size estimate of the asm block kept it a
 * call per block, its accumulators through memory (2:4 pointwise on the M7: 146,570 est. cycles
 * at -O2 against 91,410 at -O3). */
__attribute__((always_inline)) static inline void sg_nm4_block_4(const uint8_t *t,
                                                                 const uint8_t *o,
                                                                 const int8_t *v,
                                                                 sg_nm4_acc4 *acc)
{
    int32_t a0 = acc->a0, a1 = acc->a1, a2 = acc->a2, a3 = acc->a3;
    uint32_t ra, rb, q0, q1, q2, wa, wb;
    __asm__("ldrb %[ra], [%[o]]\n\t"
            "ldr %[wa], [%[v]]\n\t" SG_NM4_ASM_ADDR(ra)
            "sxtb16 %[wa], %[wa]\n\t"
            SG_NM4_ASM_EVEN(1, 0) SG_NM4_ASM_ODD(2, 4) SG_NM4_ASM_EVEN(3, 4)
            SG_NM4_ASM_ODD(4, 8) SG_NM4_ASM_EVEN(5, 8) SG_NM4_ASM_ODD(6, 12)
            SG_NM4_ASM_EVEN(7, 12) SG_NM4_ASM_ODD(8, 16) SG_NM4_ASM_EVEN(9, 16)
            SG_NM4_ASM_ODD(10, 20) SG_NM4_ASM_EVEN(11, 20) SG_NM4_ASM_ODD(12, 24)
            SG_NM4_ASM_EVEN(13, 24) SG_NM4_ASM_ODD(14, 28) SG_NM4_ASM_EVEN(15, 28)
            "ldr %[q0], [%[rb]]\n\t"
            "ldr %[q1], [%[rb], #4]\n\t"
            "ldr %[q2], [%[rb], #8]\n\t"
            "ldr %[rb], [%[rb], #12]\n\t"
            "smlad %[a0], %[q0], %[wb], %[a0]\n\t"
            "smlad %[a1], %[q1], %[wb], %[a1]\n\t"
            "smlad %[a2], %[q2], %[wb], %[a2]\n\t"
            "smlad %[a3], %[rb], %[wb], %[a3]"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [ra] "=&r"(ra),
              [rb] "=&r"(rb), [q0] "=&r"(q0), [q1] "=&r"(q1), [q2] "=&r"(q2), [wa] "=&r"(wa),
              [wb] "=&r"(wb)
            : [t] "r"(t), [o] "r"(o), [v] "r"(v)
            : "memory");
    acc->a0 = a0;
    acc->a1 = a1;
    acc->a2 = a2;
    acc->a3 = a3;
}
#endif

/* Per row: blocks of SG_NM4_BLOCK entries, then 0..15 more. */
typedef struct {
    int32_t blocks, rest, bstride;
} sg_nm4_walk;

/* ws: bytes between table words (4: one table, 16: four interleaved). */
static inline sg_nm4_walk sg_nm4_walk_of(const sg_nm4_s8 *w, int32_t ws)
{
    const int32_t e = sg_nm4_entries(w->cols, w->n);
    const sg_nm4_walk k = {e / SG_NM4_BLOCK, e % SG_NM4_BLOCK,
                           SG_NM4_BLOCK * sg_nm4_entry_bytes(w->n) / 4 * ws};
    return k;
}

/* fc: out[r] for every row, from the pair table `tab` of the input and the int16 weight pairs.
 * The sums go to sums[rows] and one tight loop requantizes them (DSP: sg_dsp_requant_run, as
 * the dense kernels do: inside the row loop the output stage left too few registers for the
 * walk). Pointers drive the loops, as in sg_nm4_walk_4. */
static inline void sg_nm4_rows_1(const sg_nm4_s8 *wp, const uint8_t *tab, const int32_t *bias,
                                 const sg_requant *rq, int8_t *out, int32_t *sums)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_nm4_s8 wl = *wp;
    const sg_nm4_walk k = sg_nm4_walk_of(&wl, 4);
    const uint8_t *o = wl.offset;
    const int16_t *v = wl.pairs;
    const int32_t row_blocks = SG_NM4_BLOCK * k.blocks;
    if (bias == NULL) {
        /* Row r reads its bias before it writes its sum, at the same index. */
        memset(sums, 0, (size_t)wl.rows * sizeof *sums);
        bias = sums;
    }
    int32_t *s = sums;
    int32_t *const s_end = sums + wl.rows;
    do {
        int32_t acc = *bias++;
        const uint8_t *t = tab;
        const uint8_t *const o_end = o + row_blocks;
        while (o != o_end) {
            acc = sg_nm4_quad_w(t, o, v, acc);
            acc = sg_nm4_quad_w(t, o + 4, v + 8, acc);
            acc = sg_nm4_quad_w(t, o + 8, v + 16, acc);
            acc = sg_nm4_quad_w(t, o + 12, v + 24, acc);
            o += 16;
            v += 32;
            t += k.bstride;
        }
        for (int32_t e = k.rest; e > 0; --e) {
            acc = sg_nm4_one_w(t, *o++, v, acc);
            v += 2;
        }
        *s++ = acc;
    } while (s != s_end);
#if SG_HAS_DSP
    sg_dsp_requant_run(sums, rq, wl.rows, out);
#else
    for (int32_t r = 0; r < wl.rows; ++r) {
        out[r] = sg_sparse_out(sums[r], rq, r);
    }
#endif
}

/* The rows' sums of four pixels over the interleaved tables at tab, int8 weights
 * (sg_nm4_s8.values); rest: whether rows end with entries outside whole blocks (a constant
 * at each call, so the row loop of a layer without them has no tail tests); blocks: whether
 * rows hold whole blocks (a constant too). sums: lanes 0, 1
 * of row r at sums[2r], sums[2r + 1]; lanes 2, 3 at sums[2 rows + 2r] and the next. */
#if SG_NM4_ASM_M7
/* Inlined into each call, so that `rest` is a constant there (the asm block makes GCC's size
 * estimate of the walk too large for it to inline by itself). */
__attribute__((always_inline))
#endif
static inline void sg_nm4_walk_4(const sg_nm4_s8 *w, const uint8_t *tab, const int32_t *bias,
                                 int32_t *sums, int rest, int blocks)
{
    const sg_nm4_walk k = sg_nm4_walk_of(w, 16);
    const uint8_t *o = w->offset;
    const int8_t *v = w->values;
    const int32_t row_blocks = SG_NM4_BLOCK * k.blocks;
    int32_t *s = sums;
    int32_t *const s_end = sums + 4 * w->rows;
    /* Pointers for the row loop and the block loop: counters let GCC keep copies of o and v
     * and spill them around every row. */
    do {
        const int32_t b0 = *bias++;
        sg_nm4_acc4 acc = {b0, b0, b0, b0};
        const uint8_t *t = tab;
        const uint8_t *const o_end = o + row_blocks;
#if SG_NM4_ASM_M7
        while (blocks && o != o_end) {
            sg_nm4_block_4(t, o, v, &acc);
#else
        /* Not `blocks &&` here: GCC then shapes the M4's loop differently, and slower. */
        (void)blocks;
        while (o != o_end) {
#pragma GCC unroll 8
            for (int32_t j = 0; j < SG_NM4_BLOCK; j += 2) {
                sg_nm4_two_4(t, o + j, v + 2 * j, &acc);
            }
#endif
            o += 16;
            v += 32;
            t += k.bstride;
        }
        if (rest) {
            int32_t e = k.rest;
            for (; e >= 2; e -= 2) {
                sg_nm4_two_4(t, o, v, &acc);
                o += 2;
                v += 4;
            }
            if (e > 0) {
                sg_nm4_last_4(t, *o++, v, &acc);
                v += 4;
            }
        }
        s[0] = acc.a0;
        s[1] = acc.a1;
        s[2] = acc.a2;
        s[3] = acc.a3;
        s += 4;
    } while (s != s_end);
}

#if SG_HAS_DSP
/* The output stage of four whole pixels out + k * stride (sg_nm4_walk_4's sums, the four
 * lanes of a channel adjacent): each channel's multiplier, shift and rounding constant serve
 * four outputs (sg_dsp_requant_pairs shares them between two), and the lanes are done one
 * after the other, so the loop keeps its pointers in registers. full: the fused activation is
 * all of int8 (a constant at each call). A function of its own, as sg_dsp_requant_pairs. */
static inline void sg_nm4_requant_lanes(const int32_t *s, const sg_requant *rq, int32_t rows,
                                        int8_t *out, int32_t stride, int full)
{
    const sg_dsp_out_stage st = sg_dsp_out_stage_of(rq);
    const int32_t *mult = rq->mult;
    const int32_t *shift = rq->shift;
    int8_t *const end = out + rows;
    for (; out != end; ++out, ++mult, ++shift, s += 4) {
        const int32_t mu = *mult;
        const int32_t sh = *shift;
        int8_t *q = out;
#pragma GCC unroll 4
        for (int32_t j = 0; j < 4; ++j, q += stride) {
            /* sg_dsp_scale; the shift test is the same for the four lanes. */
            const int32_t y = sh < 0 ? sg_dsp_scale_down(s[j], mu, sg_dsp_scale_k(sh), -sh - 1)
                                     : sg_mulh_q31_round(sg_wrap_s32((uint32_t)s[j] << sh), mu);
            *q = full ? sg_dsp_finish_full(y, st.out_offset) : sg_dsp_finish(y, st);
        }
    }
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void sg_nm4_requant_4(const int32_t *s, const sg_requant *rq, int32_t rows, int8_t *out,
                             int32_t stride)
{
    if (sg_dsp_full_range(sg_dsp_out_stage_of(rq))) {
        sg_nm4_requant_lanes(s, rq, rows, out, stride, 1);
    } else {
        sg_nm4_requant_lanes(s, rq, rows, out, stride, 0);
    }
}
#endif

/* Four pixels (m of them real, 1..4), interleaved tables at tab: out0[j * stride + r] for
 * pixel j < m. sums[4 * rows]. */
static inline void sg_nm4_rows_4(const sg_nm4_s8 *wp, const uint8_t *tab, const int32_t *bias,
                                 const sg_requant *rq, int8_t *out0, int32_t stride, int32_t m,
                                 int32_t *sums)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_nm4_s8 wl = *wp;
    const int32_t *b = bias;
    if (b == NULL) {
        /* Zeros in the last quarter of sums, sums[3 rows + r] = b[r]: the walk's row r writes
         * sums[4r + 3] at most, below every b[r'] of a later row r' > r. */
        int32_t *z = sums + 3 * wl.rows;
        memset(z, 0, (size_t)wl.rows * sizeof *z);
        b = z;
    }
    if (sg_nm4_walk_of(&wl, 16).rest == 0) {
        sg_nm4_walk_4(&wl, tab, b, sums, 0, 1);
#if SG_NM4_ASM_M7
    } else if (sg_nm4_walk_of(&wl, 16).blocks == 0) {
        /* Rows shorter than a block (1:4 over 64 inputs): a walk without the asm block loop,
         * whose 14 registers would make GCC spill around the tail too. */
        sg_nm4_walk_4(&wl, tab, b, sums, 1, 0);
#endif
    } else {
        sg_nm4_walk_4(&wl, tab, b, sums, 1, 1);
    }
#if SG_HAS_DSP
    if (m == 4) {
        sg_nm4_requant_4(sums, rq, wl.rows, out0, stride);
        return;
    }
#endif
    /* The last pixels of a layer (and the portable path): lane k < m to out0 + k * stride. */
    for (int32_t r = 0; r < wl.rows; ++r) {
        for (int32_t j = 0; j < m; ++j) {
            out0[j * stride + r] = sg_sparse_out(sums[4 * r + j], rq, r);
        }
    }
}

#endif /* SG_SPARSE_NM4_H */
