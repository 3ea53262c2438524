/* slimgen kernel internals: the row walkers of the shared-value sparse kernels (sg_shared_s8).
 *
 * One byte per entry (sg_kernels.h): code = e & mask, and the cursor moves by e >> code_bits,
 * or by e itself when the code is 0 (an escape, whose codebook value is 0). The select of the
 * advance is branch-free (an IT block on Thumb-2), so escapes cost as much as any entry and
 * no more: a long gap is bridged 240 columns per escape byte (4-bit codes).
 *
 * As in sg_sparse.h, the bias has the input offset folded in, so the loops touch only stored
 * entries, and the _2 / _4 walkers share one decoding of each entry between 2 / 4 pixels.
 * There is no separate DSP loop: an entry's product is one int8 input times one int8 codebook
 * value, which MLA does as fast as SMLABB, and the decode (mask, shift, select) has no SIMD
 * form; only the output stage (sg_sparse_out) differs on DSP cores.
 */
#ifndef SG_SPARSE_SHARED_H
#define SG_SPARSE_SHARED_H

#include "sg_sparse.h"

static inline int sg_shared_ok(const sg_shared_s8 *w)
{
    return w->rows > 0 && w->cols > 0 && w->code_bits >= 1 && w->code_bits <= 4 &&
           w->codebook != NULL && w->row_len != NULL && w->entry != NULL;
}

/* Moves the cursor for entry e and returns its code. */
static inline uint32_t sg_shared_step(const int8_t **xp, uint32_t e, uint32_t mask,
                                      uint32_t bits)
{
    const uint32_t c = e & mask;
    *xp += c != 0u ? e >> bits : e;
    return c;
}

static inline void sg_shared_rows_1(const sg_shared_s8 *wp, const int8_t *x, const int32_t *bias,
                                    const sg_requant *rqp, int8_t *out)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint32_t bits = (uint32_t)w->code_bits;
    const uint32_t mask = (1u << bits) - 1u;
    const int8_t *cb = w->codebook;
    const uint8_t *e = w->entry;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc = sg_bias_or_zero(bias, r);
        const int8_t *xp = x;
        int32_t k = w->row_len[r];
        /* Two entries per iteration: the loop overhead halves, and the two products' loads
         * can issue back to back. */
        for (; k >= 2; k -= 2) {
            const uint32_t c0 = sg_shared_step(&xp, e[0], mask, bits);
            const int32_t x0 = *xp;
            const uint32_t c1 = sg_shared_step(&xp, e[1], mask, bits);
            const int32_t x1 = *xp;
            acc += x0 * cb[c0] + x1 * cb[c1];
            e += 2;
        }
        if (k > 0) {
            const uint32_t c = sg_shared_step(&xp, *e++, mask, bits);
            acc += (int32_t)*xp * cb[c];
        }
        out[r] = sg_sparse_out(acc, rq, r);
    }
}

/* Pixels x0 and x1 = x0 + x1_off (the same column of the next pixel). */
static inline void sg_shared_rows_2(const sg_shared_s8 *wp, const int8_t *x0, int32_t x1_off,
                                    const int32_t *bias, const sg_requant *rqp, int8_t *out0,
                                    int8_t *out1)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint32_t bits = (uint32_t)w->code_bits;
    const uint32_t mask = (1u << bits) - 1u;
    const int8_t *cb = w->codebook;
    const uint8_t *e = w->entry;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        const int8_t *xp = x0;
        for (int32_t k = w->row_len[r]; k > 0; --k) {
            const int32_t v = cb[sg_shared_step(&xp, *e++, mask, bits)];
            acc0 += (int32_t)xp[0] * v;
            acc1 += (int32_t)xp[x1_off] * v;
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out1[r] = sg_sparse_out(acc1, rq, r);
    }
}

/* Four pixels x0 + k * step (k = 0..3) per pass: one decoding per four products. */
static inline void sg_shared_rows_4(const sg_shared_s8 *wp, const int8_t *x0, int32_t step,
                                    const int32_t *bias, const sg_requant *rqp, int8_t *out0,
                                    int32_t out_step)
{
    /* By value: the int8 output stores may alias anything, and would force reloads. */
    const sg_shared_s8 wl = *wp;
    const sg_requant rql = *rqp;
    const sg_shared_s8 *w = &wl;
    const sg_requant *rq = &rql;
    const uint32_t bits = (uint32_t)w->code_bits;
    const uint32_t mask = (1u << bits) - 1u;
    const int8_t *cb = w->codebook;
    const uint8_t *e = w->entry;
    const int32_t step2 = 2 * step;
    const int32_t step3 = 3 * step;
    for (int32_t r = 0; r < w->rows; ++r) {
        int32_t acc0 = sg_bias_or_zero(bias, r);
        int32_t acc1 = acc0;
        int32_t acc2 = acc0;
        int32_t acc3 = acc0;
        const int8_t *xp = x0;
        for (int32_t k = w->row_len[r]; k > 0; --k) {
            const int32_t v = cb[sg_shared_step(&xp, *e++, mask, bits)];
            acc0 += (int32_t)xp[0] * v;
            acc1 += (int32_t)xp[step] * v;
            acc2 += (int32_t)xp[step2] * v;
            acc3 += (int32_t)xp[step3] * v;
        }
        out0[r] = sg_sparse_out(acc0, rq, r);
        out0[out_step + r] = sg_sparse_out(acc1, rq, r);
        out0[2 * out_step + r] = sg_sparse_out(acc2, rq, r);
        out0[3 * out_step + r] = sg_sparse_out(acc3, rq, r);
    }
}

#endif /* SG_SPARSE_SHARED_H */
