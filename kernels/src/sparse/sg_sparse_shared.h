/* slimgen kernel internals: the row walkers of the shared-value sparse kernels (sg_shared_s8).
 *
 * One byte per entry (sg_kernels.h): code = e & mask, and the cursor moves by e >> code_bits,
 * or by e itself when the code is 0 (an escape, whose codebook value is 0). Decoding that per
 * entry costs a mask, a select of the shift and a codebook load; instead each call first
 * fills a decode table in scratch, one word per possible entry byte: bits 0..15 the weight,
 * bits 16..31 the cursor advance. An entry is then one table load, one add of the word's top
 * half (ADD with LSR #16 on Arm) and one multiply-accumulate of the gathered input by its
 * bottom half (SMLABB on DSP cores), with no branch for escapes. The table costs 1 KB of
 * scratch and 256 stores per call.
 *
 * As in sg_sparse.h, the bias has the input offset folded in, so the loops touch only stored
 * entries, and the _2 / _4 walkers share one decoding of each entry between 2 / 4 pixels.
 */
#ifndef SG_SPARSE_SHARED_H
#define SG_SPARSE_SHARED_H

#include "sg_sparse.h"

/* Words of the decode table (one per entry byte); the kernels' scratch starts with it. */
#define SG_SHARED_TABLE_WORDS 256
#define SG_SHARED_TABLE_BYTES (4 * SG_SHARED_TABLE_WORDS)

static inline int sg_shared_ok(const sg_shared_s8 *w)
{
    return w->rows > 0 && w->cols > 0 && w->code_bits >= 1 && w->code_bits <= 4 &&
           w->codebook != NULL && (w->row_len8 == NULL) != (w->row_len == NULL) &&
           w->entry != NULL;
}

static inline int32_t sg_shared_row_len(const sg_shared_s8 *w, int32_t r)
{
    return w->row_len8 != NULL ? (int32_t)w->row_len8[r] : (int32_t)w->row_len[r];
}

/* table[e] = advance << 16 | (uint16_t)weight for every entry byte e = delta << bits | code,
 * filled in entry order: per delta field, the escape (code 0: advance e, weight 0), then one
 * word per code, so a word costs about one store (the fill is a fixed cost of every call). */
static inline void sg_shared_table(const sg_shared_s8 *w, int32_t *table)
{
    const uint32_t bits = (uint32_t)w->code_bits;
    const uint32_t codes = 1u << bits;
    uint32_t weight[16];
    for (uint32_t c = 0; c < codes; ++c) {
        weight[c] = (uint32_t)(int32_t)w->codebook[c] & 0xffffu;
    }
    int32_t *t = table;
    for (uint32_t d = 0; d < ((uint32_t)SG_SHARED_TABLE_WORDS >> bits); ++d) {
        *t++ = sg_arch_s32((d << bits) << 16);
        const uint32_t advance = d << 16;
        for (uint32_t c = 1; c < codes; ++c) {
            *t++ = sg_arch_s32(advance | weight[c]);
        }
    }
}

/* acc + x * (the weight in t's bottom half). */
static inline int32_t sg_shared_mac(int32_t x, int32_t t, int32_t acc)
{
#if SG_HAS_DSP
    return sg_smlabb(x, t, acc);
#else
    return acc + x * ((int32_t)(((uint32_t)t & 0xffffu) ^ 0x8000u) - 0x8000);
#endif
}

static inline void sg_shared_rows_1(const sg_shared_s8 *wp, const int32_t *table,
                                    const int8_t *x, const int32_t *bias, const sg_requant *rqp,
                                    int8_t *out)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint8_t *e = w->entry;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc = sg_bias_or_zero(bias, r);
        /* A column index, not a pointer: one ADD (of the word's top half) and one indexed
         * load per entry. */
        uint32_t col = 0;
        int32_t k = sg_shared_row_len(w, r);
        /* Four entries per word load: byte extracts are cheaper than byte loads, and the loop
         * overhead is shared by four entries. */
        for (; k >= 4; k -= 4) {
            uint32_t ew;
            memcpy(&ew, e, sizeof ew);
            const int32_t t0 = table[ew & 0xffu];
            const int32_t t1 = table[(ew >> 8) & 0xffu];
            const int32_t t2 = table[(ew >> 16) & 0xffu];
            const int32_t t3 = table[ew >> 24];
            col += (uint32_t)t0 >> 16;
            acc = sg_shared_mac(x[col], t0, acc);
            col += (uint32_t)t1 >> 16;
            acc = sg_shared_mac(x[col], t1, acc);
            col += (uint32_t)t2 >> 16;
            acc = sg_shared_mac(x[col], t2, acc);
            col += (uint32_t)t3 >> 16;
            acc = sg_shared_mac(x[col], t3, acc);
            e += 4;
        }
        for (; k > 0; --k) {
            const int32_t t = table[*e++];
            col += (uint32_t)t >> 16;
            acc = sg_shared_mac(x[col], t, acc);
        }
        out[r] = sg_sparse_out(acc, rq, r);
    }
}

/* Pixels x0 and x1 = x0 + x1_off (the same column of the next pixel). */
static inline void sg_shared_rows_2(const sg_shared_s8 *wp, const int32_t *table,
                                    const int8_t *x0, int32_t x1_off, const int32_t *bias,
                                    const sg_requant *rqp, int8_t *out0, int8_t *out1)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint8_t *e = w->entry;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        const int8_t *x1 = x0 + x1_off;
        uint32_t col = 0;
        for (int32_t k = sg_shared_row_len(w, r); k > 0; --k) {
            const int32_t t = table[*e++];
            col += (uint32_t)t >> 16;
            acc0 = sg_shared_mac(x0[col], t, acc0);
            acc1 = sg_shared_mac(x1[col], t, acc1);
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out1[r] = sg_sparse_out(acc1, rq, r);
    }
}

/* Four pixels x0 + k * step (k = 0..3) per pass: one decoding per four products. */
static inline void sg_shared_rows_4(const sg_shared_s8 *wp, const int32_t *table,
                                    const int8_t *x0, int32_t step, const int32_t *bias,
                                    const sg_requant *rqp, int8_t *out0, int32_t out_step)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint8_t *e = w->entry;
    const int32_t step2 = 2 * step;
    const int32_t step3 = 3 * step;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        int32_t acc2 = acc0;
        int32_t acc3 = acc0;
        const int8_t *xp = x0;
        for (int32_t k = sg_shared_row_len(w, r); k > 0; --k) {
            const int32_t t = table[*e++];
            xp += (uint32_t)t >> 16;
            acc0 = sg_shared_mac(xp[0], t, acc0);
            acc1 = sg_shared_mac(xp[step], t, acc1);
            acc2 = sg_shared_mac(xp[step2], t, acc2);
            acc3 = sg_shared_mac(xp[step3], t, acc3);
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out0[out_step + r] = sg_sparse_out(acc1, rq, r);
        out0[2 * out_step + r] = sg_sparse_out(acc2, rq, r);
        out0[3 * out_step + r] = sg_sparse_out(acc3, rq, r);
    }
}

#endif /* SG_SPARSE_SHARED_H */
