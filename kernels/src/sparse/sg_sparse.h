/* slimgen kernel internals: the row walkers of the sparse fc and 1x1 kernels.
 *
 * Each walker computes, for every output channel r of a packed matrix (sg_kernels.h),
 * out[r] = requant(bias[r] + sum over the row's entries of x[col] * value): the bias has the
 * input offset folded in at build time (bias + in_offset * sum of ALL the row's weights), so
 * the loops touch only stored entries and never add the offset. The final accumulator equals
 * the dense kernel's, and compiler/slimgen/lower/sparse_format.py fold_input_offset() refuses
 * a layer where a partial sum could leave int32.
 *
 * The _2 walkers handle two pixels of a pointwise convolution per pass over the weights, so
 * the index decoding (the cost a dense kernel does not have) is paid once for two outputs.
 *
 * DSP paths. bsr1x4: its 4 inputs are contiguous, so one word load of inputs and one of
 * weights feed two SMLADs. unstructured (fc): four deltas and four values come in one word
 * load each, the cursor advances by byte adds (UXTAB), and the values are sign-extended two at
 * a time (SXTB16) for SMLABB / SMLABT: fewer instructions per entry than byte-wise loads.
 */
#ifndef SG_SPARSE_H
#define SG_SPARSE_H

#include "sg_kernels.h"

#include "../sg_arch.h"
#include "../sg_common.h"
#include "../sg_dot.h"
#include "../sg_requant.h"

/* The output stage: sg_requant_output, or on DSP cores the dense kernels' shorter equivalent
 * (sg_dot.h sg_dsp_requant: SMULL rounding, QADD + SSAT), bit-identical. */
static inline int8_t sg_sparse_out(int32_t acc, const sg_requant *rq, int32_t r)
{
#if SG_HAS_DSP
    return sg_dsp_requant(acc, rq->mult[r], rq->shift[r], sg_dsp_out_stage_of(rq));
#else
    return sg_requant_output(acc, rq, r);
#endif
}

static inline int32_t sg_bias_or_zero(const int32_t *bias, int32_t r)
{
    return bias != NULL ? bias[r] : 0;
}

/* Shapes of the packed structs (entries are trusted: they come from the packer). */
static inline int sg_csr8_ok(const sg_csr8_s8 *w)
{
    return w->rows > 0 && w->cols > 0 && w->row_len != NULL && w->delta != NULL &&
           w->values != NULL;
}

static inline int sg_bsr1x4_ok(const sg_bsr1x4_s8 *w)
{
    return w->rows > 0 && w->cols > 0 && w->cols % 4 == 0 && w->row_blocks != NULL &&
           w->block_col != NULL && w->values != NULL;
}

/* ---- the output stage, after the row sums -------------------------------------------- */

/* Row sums first, output stage after: the one-pixel walkers store SG_SPARSE_CHUNK row sums
 * (bias included) in a stack array, then one loop requantizes them. With the output stage in
 * the row loop, GCC ran out of registers and spilled the loop state around every row (about
 * 100 cycles per row on the M4, against 20 for the dense fc). */
#define SG_SPARSE_CHUNK 32

#if SG_HAS_DSP
/* sg_dsp_scale for a run of channels whose shifts mostly repeat (one per layer for fc
 * per-tensor, a few values per channel): the right shift's rounding constant is rebuilt only
 * when the shift changes, 2 instructions instead of 9 per output. */
typedef struct {
    int32_t shift; /* the shift k was built for; 0 before the first right shift */
    int64_t k;
} sg_scale_cache;

static inline int32_t sg_scale_cached(int32_t acc, int32_t mult, int32_t shift,
                                      sg_scale_cache *c)
{
    if (shift < 0) {
        if (shift != c->shift) {
            c->shift = shift;
            c->k = sg_dsp_scale_k(shift);
        }
        return sg_dsp_scale_down(acc, mult, c->k, -shift - 1);
    }
    return sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc << shift), mult);
}
#endif

/* out[i] = the output stage of acc[i] for i < n, with rq's channel arrays already moved to
 * the first row. Inline, as its own loop after the row sums: a call per chunk would cost more
 * than the loop on small layers. */
static inline void sg_sparse_requant_rows(const int32_t *acc, const sg_requant *rq, int32_t n,
                                          int8_t *out)
{
#if SG_HAS_DSP
    const sg_dsp_out_stage st = sg_dsp_out_stage_of(rq);
    const int32_t *mult = rq->mult;
    const int32_t *shift = rq->shift;
    sg_scale_cache c = {0, 0};
    if (sg_dsp_full_range(st)) {
        for (int32_t i = 0; i < n; ++i) {
            out[i] = sg_dsp_finish_full(sg_scale_cached(acc[i], mult[i], shift[i], &c),
                                        st.out_offset);
        }
        return;
    }
    /* With a fused activation the clamp bounds take the registers the cache would need
     * (GCC spilled them): the rounding constant is rebuilt per output instead. */
    for (int32_t i = 0; i < n; ++i) {
        out[i] = sg_dsp_finish(sg_dsp_scale(acc[i], mult[i], shift[i]), st);
    }
#else
    for (int32_t i = 0; i < n; ++i) {
        out[i] = sg_requant_output(acc[i], rq, i);
    }
#endif
}

/* Rows of the four-pixel walkers per pass of the output stage (a stack array of 4 sums each). */
#define SG_SPARSE_CHUNK4 16

#if SG_HAS_DSP
/* The four lanes of one channel: its multiplier, shift and rounding constant once. */
static inline void sg_sparse_requant_lanes4(const int32_t *acc, int32_t mult, int32_t shift,
                                            sg_dsp_out_stage st, int full, int8_t *out,
                                            int32_t out_step)
{
    int32_t y0;
    int32_t y1;
    int32_t y2;
    int32_t y3;
    if (shift < 0) {
        const int64_t k = sg_dsp_scale_k(shift);
        const int32_t s = -shift - 1;
        y0 = sg_dsp_scale_down(acc[0], mult, k, s);
        y1 = sg_dsp_scale_down(acc[1], mult, k, s);
        y2 = sg_dsp_scale_down(acc[2], mult, k, s);
        y3 = sg_dsp_scale_down(acc[3], mult, k, s);
    } else {
        y0 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[0] << shift), mult);
        y1 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[1] << shift), mult);
        y2 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[2] << shift), mult);
        y3 = sg_mulh_q31_round(sg_wrap_s32((uint32_t)acc[3] << shift), mult);
    }
    if (full) {
        out[0] = sg_dsp_finish_full(y0, st.out_offset);
        out[out_step] = sg_dsp_finish_full(y1, st.out_offset);
        out[2 * out_step] = sg_dsp_finish_full(y2, st.out_offset);
        out[3 * out_step] = sg_dsp_finish_full(y3, st.out_offset);
    } else {
        out[0] = sg_dsp_finish(y0, st);
        out[out_step] = sg_dsp_finish(y1, st);
        out[2 * out_step] = sg_dsp_finish(y2, st);
        out[3 * out_step] = sg_dsp_finish(y3, st);
    }
}

/* A function of its own, never inlined into the walkers, with the lanes written out: inlined
 * at -O2 (the firmware's level), GCC kept the four lanes in a stack array and the loop state
 * on the stack, and the output stage cost about a third of a 1x1 layer at 40 % density. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void sg_sparse_requant_4(const int32_t *acc, const sg_requant *rq, int32_t n,
                                int8_t *out0, int32_t out_step)
{
    const sg_dsp_out_stage st = sg_dsp_out_stage_of(rq);
    const int32_t *mult = rq->mult;
    const int32_t *shift = rq->shift;
    const int32_t *const end = acc + 4 * n;
    const int full = sg_dsp_full_range(st);
    /* One call site, so that GCC inlines it; the stage by value: the int8 stores could alias
     * it and would force reloads. */
    for (; acc != end; acc += 4, ++out0, ++mult, ++shift) {
        sg_sparse_requant_lanes4(acc, *mult, *shift, st, full, out0, out_step);
    }
}
#endif

/* out0[p * out_step + i] = the output stage of acc[4 * i + p], p < 4, i < n, channel i of rq
 * (its arrays moved to the chunk's first row). */
static inline void sg_sparse_requant_rows4(const int32_t *acc, const sg_requant *rq, int32_t n,
                                           int8_t *out0, int32_t out_step)
{
#if SG_HAS_DSP
    sg_sparse_requant_4(acc, rq, n, out0, out_step);
#else
    for (int32_t i = 0; i < n; ++i, acc += 4, ++out0) {
        for (int32_t p = 0; p < 4; ++p) {
            out0[p * out_step] = sg_requant_output(acc[p], rq, i);
        }
    }
#endif
}

/* ---- unstructured: cursor += delta; acc += x[cursor] * value ---------------------------- */

/* Keeps a group of loads ahead of the arithmetic that uses them (GCC keeps instructions on
 * their side of a volatile asm): the in-order Cortex-M7 then issues the loads in pairs while the
 * earlier ones complete. Nothing to keep on the host. */
#if SG_HAS_DSP && !SG_DSP_EMULATED
#define SG_SPARSE_PIN2(a, b) __asm__ volatile("" : "+r"(a), "+r"(b))
#else
#define SG_SPARSE_PIN2(a, b) ((void)0)
#endif

#if SG_HAS_DSP
/* The cursor moved by byte 1, 2 or 3 of a delta word: UXTAB with a rotation, one instruction
 * (GCC 12 emits UBFX + ADD). */
#if SG_DSP_EMULATED
#define SG_CSR8_STEP(out, p, dd, rot) ((out) = (p) + (((dd) >> (rot)) & 0xffu))
#else
#define SG_CSR8_STEP(out, p, dd, rot) \
    __asm__("uxtab %0, %1, %2, ror #" #rot : "=r"(out) : "r"(p), "r"(dd))
#endif

/* Four entries: acc + x[c0] * v0 + x[c1] * v1 + x[c2] * v2 + x[c3] * v3, the cursor moved to
 * c3. SXTB16 extends the values as (v0, v2) and (v1, v3); SMLABB / SMLABT pick the half. The
 * four input loads are issued back to back (the M4 pipelines them), after the four cursor
 * steps. */
static inline int32_t sg_csr8_quad_dsp(const int8_t **xp, const uint8_t *d, const int8_t *v,
                                       int32_t acc)
{
    uint32_t dd;
    memcpy(&dd, d, sizeof dd);
    const int32_t vv = sg_read_s8x4(v);
    const int8_t *p0 = *xp + (dd & 0xffu);
    const int8_t *p1;
    const int8_t *p2;
    const int8_t *p3;
    SG_CSR8_STEP(p1, p0, dd, 8);
    SG_CSR8_STEP(p2, p1, dd, 16);
    SG_CSR8_STEP(p3, p2, dd, 24);
    int32_t x0 = *p0;
    int32_t x1 = *p1;
    int32_t x2 = *p2;
    int32_t x3 = *p3;
    SG_SPARSE_PIN2(x0, x1);
    SG_SPARSE_PIN2(x2, x3);
    const int32_t v02 = sg_sxtb16(vv);
    const int32_t v13 = sg_sxtb16_ror8(vv);
    *xp = p3;
    acc = sg_smlabb(x0, v02, acc);
    acc = sg_smlabt(x2, v02, acc);
    acc = sg_smlabb(x1, v13, acc);
    return sg_smlabt(x3, v13, acc);
}
#endif

static inline void sg_csr8_rows_1(const sg_csr8_s8 *w, const int8_t *x, const int32_t *bias,
                                  const sg_requant *rq, int8_t *out)
{
    const uint16_t *len = w->row_len;
    const uint8_t *d = w->delta;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    static const int32_t no_bias[SG_SPARSE_CHUNK] = {0};
    sg_requant chunk_rq = *rq;
    int32_t acc[SG_SPARSE_CHUNK];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK, rows - r0);
        const int32_t *b = bias != NULL ? bias + r0 : no_bias;
        for (int32_t *a = acc; a != acc + n; ++a) {
            int32_t s = *b++;
            const int8_t *xp = x;
            /* Entry-pointer bounds, not counters: fewer live values across the row loop. */
            const uint8_t *const quads_end = d + (*len & ~3u);
            const uint8_t *const row_end = d + *len++;
            /* Four entries per iteration: the loop overhead is a third of a one-entry body. */
            for (; d != quads_end; d += 4, v += 4) {
#if SG_HAS_DSP
                s = sg_csr8_quad_dsp(&xp, d, v, s);
#else
                const int32_t x0 = *(xp += d[0]);
                const int32_t x1 = *(xp += d[1]);
                const int32_t x2 = *(xp += d[2]);
                const int32_t x3 = *(xp += d[3]);
                s += x0 * v[0] + x1 * v[1] + x2 * v[2] + x3 * v[3];
#endif
            }
            for (; d != row_end; ++d, ++v) {
                xp += *d;
                s += (int32_t)*xp * (int32_t)*v;
            }
            *a = s;
        }
        sg_sparse_requant_rows(acc, &chunk_rq, n, out + r0);
        chunk_rq.mult += SG_SPARSE_CHUNK;
        chunk_rq.shift += SG_SPARSE_CHUNK;
    }
}

/* Pixels x0 and x1 = x0 + x1_off (the same column of the next pixel). */
static inline void sg_csr8_rows_2(const sg_csr8_s8 *wp, const int8_t *x0, int32_t x1_off,
                                  const int32_t *bias, const sg_requant *rqp, int8_t *out0,
                                  int8_t *out1)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_csr8_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_csr8_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint8_t *d = w->delta;
    const int8_t *v = w->values;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        const int8_t *xp = x0;
        for (int32_t k = w->row_len[r]; k > 0; --k) {
            xp += *d++;
            const int32_t wv = *v++;
            acc0 += (int32_t)xp[0] * wv;
            acc1 += (int32_t)xp[x1_off] * wv;
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out1[r] = sg_sparse_out(acc1, rq, r);
    }
}

/* Four pixels x0 + k * step per pass (see sg_bsr1x4_rows_4). */
static inline void sg_csr8_rows_4(const sg_csr8_s8 *w, const int8_t *x0, int32_t step,
                                  const int32_t *bias, const sg_requant *rq, int8_t *out0,
                                  int32_t out_step)
{
    const uint16_t *len = w->row_len;
    const uint8_t *d = w->delta;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const int32_t step2 = 2 * step;
    const int32_t step3 = 3 * step;
    static const int32_t no_bias[SG_SPARSE_CHUNK4] = {0};
    sg_requant chunk_rq = *rq;
    int32_t acc[4 * SG_SPARSE_CHUNK4];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK4) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK4, rows - r0);
        const int32_t *b = bias != NULL ? bias + r0 : no_bias;
        for (int32_t i = 0; i < n; ++i) {
            int32_t acc0 = b[i];
            int32_t acc1 = acc0;
            int32_t acc2 = acc0;
            int32_t acc3 = acc0;
            const int8_t *xp = x0;
            for (int32_t k = *len++; k > 0; --k) {
                xp += *d++;
                const int32_t wv = *v++;
                acc0 += (int32_t)xp[0] * wv;
                acc1 += (int32_t)xp[step] * wv;
                acc2 += (int32_t)xp[step2] * wv;
                acc3 += (int32_t)xp[step3] * wv;
            }
            acc[4 * i] = acc0;
            acc[4 * i + 1] = acc1;
            acc[4 * i + 2] = acc2;
            acc[4 * i + 3] = acc3;
        }
        sg_sparse_requant_rows4(acc, &chunk_rq, n, out0 + r0, out_step);
        chunk_rq.mult += SG_SPARSE_CHUNK4;
        chunk_rq.shift += SG_SPARSE_CHUNK4;
    }
}

#if SG_HAS_DSP
/* ---- unstructured over pixel-paired inputs (1x1 and conv on DSP cores) -------------------
 * A stored entry is one weight for one column: no pair of entries shares a word of inputs, so
 * SMLAD cannot serve them. Four pixels can: each column is widened once per call into two
 * words, (x0[c], x1[c]) and (x2[c], x3[c]), and an entry is then one doubleword load and four
 * SMLAxy against its value (bottom or top half of the SXTB16-extended value word): half the
 * loads of gathering four int8 inputs, and no per-entry sign extension. */

/* Pixel rows a + p * step (p < 4) of k taps: column c at dst[2 * c] (pixels 0, 1) and
 * dst[2 * c + 1] (pixels 2, 3), low halfword first. */
static inline void sg_csr8_widen4(const int8_t *a, int32_t step, int32_t k, int32_t *dst)
{
    const int8_t *b = a + step;
    const int8_t *c = b + step;
    const int8_t *d = c + step;
    int32_t i = 0;
    for (; i + 4 <= k; i += 4, dst += 8) {
        const int32_t xa = sg_read_s8x4(a + i);
        const int32_t xb = sg_read_s8x4(b + i);
        const int32_t xc = sg_read_s8x4(c + i);
        const int32_t xd = sg_read_s8x4(d + i);
        const int32_t a02 = sg_sxtb16(xa);
        const int32_t b02 = sg_sxtb16(xb);
        const int32_t c02 = sg_sxtb16(xc);
        const int32_t d02 = sg_sxtb16(xd);
        const int32_t a13 = sg_sxtb16_ror8(xa);
        const int32_t b13 = sg_sxtb16_ror8(xb);
        const int32_t c13 = sg_sxtb16_ror8(xc);
        const int32_t d13 = sg_sxtb16_ror8(xd);
        dst[0] = sg_pack_lo16(a02, b02);
        dst[1] = sg_pack_lo16(c02, d02);
        dst[2] = sg_pack_lo16(a13, b13);
        dst[3] = sg_pack_lo16(c13, d13);
        dst[4] = sg_pack_hi16(a02, b02);
        dst[5] = sg_pack_hi16(c02, d02);
        dst[6] = sg_pack_hi16(a13, b13);
        dst[7] = sg_pack_hi16(c13, d13);
    }
    for (; i < k; ++i, dst += 2) {
        dst[0] = sg_pack_lo16(a[i], b[i]);
        dst[1] = sg_pack_lo16(c[i], d[i]);
    }
}

/* The Cortex-M7 issues in order: both words of an entry loaded before its four SMLAxy. (On
 * the M4 the same order measured slower.) */
#if defined(SG_TUNE_CORTEX_M7)
#define SG_CSR8_PIN_M7(a, b) SG_SPARSE_PIN2(a, b)
#else
#define SG_CSR8_PIN_M7(a, b) ((void)0)
#endif

/* Four pixel-paired inputs (sg_csr8_widen4) per pass over the weights:
 * out0[p * out_step + r], p < 4. Sums of SG_SPARSE_CHUNK4 rows first, then their output
 * stage, as sg_csr8_rows_4. */
static inline void sg_csr8_rows_4w(const sg_csr8_s8 *w, const int32_t *xw, const int32_t *bias,
                                   const sg_requant *rq, int8_t *out0, int32_t out_step)
{
    const uint16_t *len = w->row_len;
    const uint8_t *d = w->delta;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    static const int32_t no_bias[SG_SPARSE_CHUNK4] = {0};
    sg_requant chunk_rq = *rq;
    int32_t acc[4 * SG_SPARSE_CHUNK4];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK4) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK4, rows - r0);
        const int32_t *b = bias != NULL ? bias + r0 : no_bias;
        for (int32_t *a = acc; a != acc + 4 * n; a += 4) {
            int32_t acc0 = *b++;
            int32_t acc1 = acc0;
            int32_t acc2 = acc0;
            int32_t acc3 = acc0;
            const int32_t *xp = xw;
            const uint8_t *const quads_end = d + (*len & ~3u);
            const uint8_t *const row_end = d + *len++;
            /* Four entries per iteration: one word of deltas, one of values (SXTB16 gives
             * (v0, v2) and (v1, v3); SMLAxB / SMLAxT pick the value's half). */
            for (; d != quads_end; d += 4, v += 4) {
                uint32_t dd;
                memcpy(&dd, d, sizeof dd);
                const int32_t vv = sg_read_s8x4(v);
                const int32_t v02 = sg_sxtb16(vv);
                const int32_t v13 = sg_sxtb16_ror8(vv);
                xp += 2 * (int32_t)(dd & 0xffu);
                int32_t x01 = xp[0];
                int32_t x23 = xp[1];
                SG_CSR8_PIN_M7(x01, x23);
                acc0 = sg_smlabb(x01, v02, acc0);
                acc1 = sg_smlatb(x01, v02, acc1);
                acc2 = sg_smlabb(x23, v02, acc2);
                acc3 = sg_smlatb(x23, v02, acc3);
                xp += 2 * (int32_t)((dd >> 8) & 0xffu);
                x01 = xp[0];
                x23 = xp[1];
                SG_CSR8_PIN_M7(x01, x23);
                acc0 = sg_smlabb(x01, v13, acc0);
                acc1 = sg_smlatb(x01, v13, acc1);
                acc2 = sg_smlabb(x23, v13, acc2);
                acc3 = sg_smlatb(x23, v13, acc3);
                xp += 2 * (int32_t)((dd >> 16) & 0xffu);
                x01 = xp[0];
                x23 = xp[1];
                SG_CSR8_PIN_M7(x01, x23);
                acc0 = sg_smlabt(x01, v02, acc0);
                acc1 = sg_smlatt(x01, v02, acc1);
                acc2 = sg_smlabt(x23, v02, acc2);
                acc3 = sg_smlatt(x23, v02, acc3);
                xp += 2 * (int32_t)(dd >> 24);
                x01 = xp[0];
                x23 = xp[1];
                SG_CSR8_PIN_M7(x01, x23);
                acc0 = sg_smlabt(x01, v13, acc0);
                acc1 = sg_smlatt(x01, v13, acc1);
                acc2 = sg_smlabt(x23, v13, acc2);
                acc3 = sg_smlatt(x23, v13, acc3);
            }
            for (; d != row_end; ++d, ++v) {
                xp += 2 * (int32_t)*d;
                const int32_t wv = *v;
                acc0 = sg_smlabb(xp[0], wv, acc0);
                acc1 = sg_smlatb(xp[0], wv, acc1);
                acc2 = sg_smlabb(xp[1], wv, acc2);
                acc3 = sg_smlatb(xp[1], wv, acc3);
            }
            a[0] = acc0;
            a[1] = acc1;
            a[2] = acc2;
            a[3] = acc3;
        }
        sg_sparse_requant_rows4(acc, &chunk_rq, n, out0 + r0, out_step);
        chunk_rq.mult += SG_SPARSE_CHUNK4;
        chunk_rq.shift += SG_SPARSE_CHUNK4;
    }
}
#endif

/* ---- block 1x4 -------------------------------------------------------------------------- */

#if SG_HAS_DSP
/* acc + x[0..3] . w[0..3]: bytes 0/2 and 1/3 of each word, sign-extended in pairs. */
static inline int32_t sg_block4_dsp(int32_t xw, int32_t ww, int32_t acc)
{
    acc = sg_smlad(sg_sxtb16(xw), sg_sxtb16(ww), acc);
    return sg_smlad(sg_sxtb16_ror8(xw), sg_sxtb16_ror8(ww), acc);
}
#endif

static inline int32_t sg_block4_c(const int8_t *xb, const int8_t *v, int32_t acc)
{
    return acc + (int32_t)xb[0] * v[0] + (int32_t)xb[1] * v[1] + (int32_t)xb[2] * v[2] +
           (int32_t)xb[3] * v[3];
}

static inline void sg_bsr1x4_rows_1(const sg_bsr1x4_s8 *w, const int8_t *x, const int32_t *bias,
                                    const sg_requant *rq, int8_t *out)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    /* No bias: zeros, so that the row loop has no test for it. */
    static const int32_t no_bias[SG_SPARSE_CHUNK] = {0};
    /* The chunk's channels: mult and shift advance with r0. */
    sg_requant chunk_rq = *rq;
    int32_t acc[SG_SPARSE_CHUNK];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK, rows - r0);
        const int32_t *b = bias != NULL ? bias + r0 : no_bias;
        for (int32_t i = 0; i < n; ++i) {
            int32_t s = b[i];
            int32_t s2 = 0;
            const uint16_t *const col_end = col + *nb++;
            /* An odd block first, then pairs: the loads group (Cortex-M4 pipelines
             * back-to-back LDRs) and the loop overhead halves. */
            if (((col_end - col) & 1) != 0) {
                const int8_t *xb = x + 4 * (int32_t)*col++;
#if SG_HAS_DSP
                s = sg_block4_dsp(sg_read_s8x4(xb), sg_read_s8x4(v), s);
#else
                s = sg_block4_c(xb, v, s);
#endif
                v += 4;
            }
            for (; col != col_end; col += 2) {
#if SG_HAS_DSP
                /* Columns, weights, then inputs, in that order: the input loads wait on the
                 * column loads, and the weight loads fill the gap (the Cortex-M7 issues in
                 * order; the M4 pipelines the six loads back to back). */
                int32_t ca = col[0];
                int32_t cc = col[1];
                SG_SPARSE_PIN2(ca, cc);
                /* The second weight word first, then the first with the pointer
                 * post-incremented: no separate add (a flag-setting ADDS costs the M7 a
                 * cycle), and no load waits on the write-back. */
                int32_t wc = sg_read_s8x4(v + 4);
                int32_t wa = sg_read_s8x4(v);
                v += 8;
                SG_SPARSE_PIN2(wa, wc);
                int32_t xwa = sg_read_s8x4(x + 4 * ca);
                int32_t xwc = sg_read_s8x4(x + 4 * cc);
                SG_SPARSE_PIN2(xwa, xwc);
                s = sg_block4_dsp(xwa, wa, s);
                s2 = sg_block4_dsp(xwc, wc, s2);
#else
                s = sg_block4_c(x + 4 * (int32_t)col[0], v, s);
                s2 = sg_block4_c(x + 4 * (int32_t)col[1], v + 4, s2);
                v += 8;
#endif
            }
            acc[i] = s + s2;
        }
        sg_sparse_requant_rows(acc, &chunk_rq, n, out + r0);
        chunk_rq.mult += SG_SPARSE_CHUNK;
        chunk_rq.shift += SG_SPARSE_CHUNK;
    }
}

#if SG_HAS_DSP
/* ---- block 1x4 over widened inputs (fc and 1x1 on DSP cores) ----------------------------
 * The inputs are widened once per call into scratch, as the dense kernels do (sg_dsp_widen,
 * offset 0: the offset is in the folded bias): each group of 4 as the halfword pairs (x0, x2),
 * (x1, x3). A block then costs one weight word, two SXTB16 and two SMLAD: half the SXTB16 of
 * the int8 walkers, which bound the Cortex-M7 (one SIMD unit). */

/* n pixel rows a + p * step (p < n) of k taps (k % 4 == 0) widened and interleaved by group:
 * group g of pixel p at dst[2 * (n * g + p)], so one pointer per block serves every pixel. */
static inline void sg_bsr1x4_widen(const int8_t *a, int32_t step, int32_t n, int32_t k,
                                   int32_t *dst)
{
    for (int32_t g = k >> 2; g > 0; --g, a += 4) {
        /* n is 4 at the four-pixel call sites: whole at -O2 too (GCC unrolls it by itself
         * only at -O3; conv 3x3 bsr1x4 at -O2 +12 % without) */
#pragma GCC unroll 4
        for (int32_t p = 0; p < n; ++p, dst += 2) {
            const int32_t xv = sg_read_s8x4(a + p * step);
            dst[0] = sg_sxtb16(xv);
            dst[1] = sg_sxtb16_ror8(xv);
        }
    }
}

/* Four widened pixels (sg_bsr1x4_widen, n = 4) per pass over the weights:
 * out0[p * out_step + r], p < 4. Sums of SG_SPARSE_CHUNK4 rows first, then their output
 * stage, as sg_bsr1x4_rows_1. */
static inline void sg_bsr1x4_rows_4w(const sg_bsr1x4_s8 *w, const int32_t *xw,
                                     const int32_t *bias, const sg_requant *rq, int8_t *out0,
                                     int32_t out_step)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    sg_requant chunk_rq = *rq;
    int32_t acc[4 * SG_SPARSE_CHUNK4];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK4) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK4, rows - r0);
        for (int32_t i = 0; i < n; ++i) {
            int32_t acc0 = sg_bias_or_zero(bias, r0 + i);
            int32_t acc1 = acc0;
            int32_t acc2 = acc0;
            int32_t acc3 = acc0;
            for (int32_t b = *nb++; b > 0; --b) {
                const int32_t *xg = xw + 8 * (int32_t)*col++;
                const int32_t ww = sg_read_s8x4(v);
                const int32_t w02 = sg_sxtb16(ww);
                const int32_t w13 = sg_sxtb16_ror8(ww);
                /* A pixel's two words back to back: the M4 pipelines the second load. */
                int32_t xe = xg[0];
                int32_t xo = xg[1];
                SG_SPARSE_PIN2(xe, xo);
                acc0 = sg_smlad(xo, w13, sg_smlad(xe, w02, acc0));
                xe = xg[2];
                xo = xg[3];
                SG_SPARSE_PIN2(xe, xo);
                acc1 = sg_smlad(xo, w13, sg_smlad(xe, w02, acc1));
                xe = xg[4];
                xo = xg[5];
                SG_SPARSE_PIN2(xe, xo);
                acc2 = sg_smlad(xo, w13, sg_smlad(xe, w02, acc2));
                xe = xg[6];
                xo = xg[7];
                SG_SPARSE_PIN2(xe, xo);
                acc3 = sg_smlad(xo, w13, sg_smlad(xe, w02, acc3));
                v += 4;
            }
            acc[4 * i] = acc0;
            acc[4 * i + 1] = acc1;
            acc[4 * i + 2] = acc2;
            acc[4 * i + 3] = acc3;
        }
        sg_sparse_requant_rows4(acc, &chunk_rq, n, out0 + r0, out_step);
        chunk_rq.mult += SG_SPARSE_CHUNK4;
        chunk_rq.shift += SG_SPARSE_CHUNK4;
    }
}
#endif

static inline void sg_bsr1x4_rows_2(const sg_bsr1x4_s8 *wp, const int8_t *x0, int32_t x1_off,
                                    const int32_t *bias, const sg_requant *rqp, int8_t *out0,
                                    int8_t *out1)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_bsr1x4_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_bsr1x4_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        for (int32_t b = w->row_blocks[r]; b > 0; --b) {
            const int8_t *xb = x0 + 4 * (int32_t)*col++;
#if SG_HAS_DSP
            /* The weights are extended once for both pixels. */
            const int32_t ww = sg_read_s8x4(v);
            const int32_t w02 = sg_sxtb16(ww);
            const int32_t w13 = sg_sxtb16_ror8(ww);
            const int32_t xa = sg_read_s8x4(xb);
            const int32_t xc = sg_read_s8x4(xb + x1_off);
            acc0 = sg_smlad(sg_sxtb16(xa), w02, acc0);
            acc0 = sg_smlad(sg_sxtb16_ror8(xa), w13, acc0);
            acc1 = sg_smlad(sg_sxtb16(xc), w02, acc1);
            acc1 = sg_smlad(sg_sxtb16_ror8(xc), w13, acc1);
#else
            acc0 = sg_block4_c(xb, v, acc0);
            acc1 = sg_block4_c(xb + x1_off, v, acc1);
#endif
            v += 4;
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out1[r] = sg_sparse_out(acc1, rq, r);
    }
}

/* Four pixels x0 + k * step (k = 0..3) per pass: the block's weights are loaded and extended
 * once for four outputs, and the row's loop overhead is shared by four requantizations. */
static inline void sg_bsr1x4_rows_4(const sg_bsr1x4_s8 *w, const int8_t *x0, int32_t step,
                                    const int32_t *bias, const sg_requant *rq, int8_t *out0,
                                    int32_t out_step)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const int32_t step2 = 2 * step;
    const int32_t step3 = 3 * step;
    static const int32_t no_bias[SG_SPARSE_CHUNK4] = {0};
    sg_requant chunk_rq = *rq;
    int32_t acc[4 * SG_SPARSE_CHUNK4];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK4) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK4, rows - r0);
        const int32_t *b = bias != NULL ? bias + r0 : no_bias;
        for (int32_t i = 0; i < n; ++i) {
            int32_t acc0 = b[i];
            int32_t acc1 = acc0;
            int32_t acc2 = acc0;
            int32_t acc3 = acc0;
            for (int32_t k = *nb++; k > 0; --k) {
                const int8_t *xb = x0 + 4 * (int32_t)*col++;
#if SG_HAS_DSP
                const int32_t ww = sg_read_s8x4(v);
                const int32_t w02 = sg_sxtb16(ww);
                const int32_t w13 = sg_sxtb16_ror8(ww);
                int32_t xw = sg_read_s8x4(xb);
                acc0 = sg_smlad(sg_sxtb16(xw), w02, acc0);
                acc0 = sg_smlad(sg_sxtb16_ror8(xw), w13, acc0);
                xw = sg_read_s8x4(xb + step);
                acc1 = sg_smlad(sg_sxtb16(xw), w02, acc1);
                acc1 = sg_smlad(sg_sxtb16_ror8(xw), w13, acc1);
                xw = sg_read_s8x4(xb + step2);
                acc2 = sg_smlad(sg_sxtb16(xw), w02, acc2);
                acc2 = sg_smlad(sg_sxtb16_ror8(xw), w13, acc2);
                xw = sg_read_s8x4(xb + step3);
                acc3 = sg_smlad(sg_sxtb16(xw), w02, acc3);
                acc3 = sg_smlad(sg_sxtb16_ror8(xw), w13, acc3);
#else
                acc0 = sg_block4_c(xb, v, acc0);
                acc1 = sg_block4_c(xb + step, v, acc1);
                acc2 = sg_block4_c(xb + step2, v, acc2);
                acc3 = sg_block4_c(xb + step3, v, acc3);
#endif
                v += 4;
            }
            acc[4 * i] = acc0;
            acc[4 * i + 1] = acc1;
            acc[4 * i + 2] = acc2;
            acc[4 * i + 3] = acc3;
        }
        sg_sparse_requant_rows4(acc, &chunk_rq, n, out0 + r0, out_step);
        chunk_rq.mult += SG_SPARSE_CHUNK4;
        chunk_rq.shift += SG_SPARSE_CHUNK4;
    }
}

#endif /* SG_SPARSE_H */
