/* slimgen kernel internals (Helium): the bsr1x4 row walkers on Cortex-M55.
 *
 * A 1x4 block is 4 contiguous int8 inputs, one word. A VLDRW gather with the row's block
 * columns as word offsets (VLDRH.U32 widens four uint16 columns) puts the inputs of four
 * blocks in one vector, the four blocks' 16 weights are one contiguous VLDRB, and VMLADAVA.S8
 * does the 16 MACs: per 4 blocks, 3 loads and one MAC instruction, where the DSP walker
 * (sg_sparse.h) spends 2 loads, 4 SXTB16 and 2 SMLAD per block. With four pixels per pass
 * (1x1 and im2col rows) the column and weight loads serve four gathers from four bases.
 *
 * The row sums go to a stack array and the output stage runs four channels per vector
 * (sg_requant_mve.h, bit-exact with sg_requant_output): on the DSP path the scalar output
 * stage was most of a 1x1 layer's cycles at low density.
 *
 * Word gathers fault on unaligned addresses: the kernels take these walkers only when the
 * input is word aligned (arena buffers are 16-byte aligned, and cols % 4 == 0 keeps every
 * pixel row aligned), and the DSP walkers otherwise.
 * Reference: the same as sg_sparse.h's (densify, then the dense reference); checked on the
 * emulated M55 by tests/firmware/test_sparse_mve.py.
 */
#ifndef SG_SPARSE_MVE_H
#define SG_SPARSE_MVE_H

#include <stdint.h>

#include "sg_sparse.h"

#if SG_HAS_MVE
#include <arm_mve.h>

#include "../mve/sg_requant_mve.h"

static inline int sg_sparse_mve_aligned(const int8_t *p)
{
    return ((uintptr_t)p & 3u) == 0;
}

/* out[j * out_step + i] = the output stage of bias[i] + acc[j * SG_SPARSE_CHUNK + i] for
 * pixels j < np, channels i < n (rq's mult and shift and the bias moved to the first row):
 * four channels per vector, their multipliers, shifts and biases loaded and split once for
 * the np pixels, the last group predicated. */
static inline void sg_sparse_mve_requant(const int32_t *acc, const int32_t *bias,
                                         const int32_t *mult, const int32_t *shift,
                                         const sg_mve_out_stage *st, int32_t n, int32_t np,
                                         int8_t *out, int32_t out_step)
{
    for (int32_t i = 0; i < n; i += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t m = vldrwq_z_s32(mult + i, p);
        const sg_mve_shift sh = sg_mve_shift_of(vldrwq_z_s32(shift + i, p));
        const int32x4_t b = bias != NULL ? vldrwq_z_s32(bias + i, p) : vdupq_n_s32(0);
        for (int32_t j = 0; j < np; ++j) {
            const int32x4_t a = vaddq_s32(vldrwq_z_s32(acc + j * SG_SPARSE_CHUNK + i, p), b);
            vstrbq_p_s32(out + j * out_step + i, sg_mve_requant_output(a, m, sh, st), p);
        }
    }
}

/* Inputs of four blocks at word columns c of x (word aligned), as 16 int8. */
static inline int8x16_t sg_bsr1x4_mve_gather(const int8_t *x, uint32x4_t c)
{
    return vreinterpretq_s8_s32(
        vldrwq_gather_shifted_offset_s32((const int32_t *)(const void *)x, c));
}

/* The last blocks of a row, four at a time, predicated: inactive lanes load column 0 (a
 * valid word) and weight 0, so they add nothing, and the gathers need no predicate. */
#define SG_BSR1X4_MVE_TAIL(k, col, v, p, c, wv)                                                \
    const mve_pred16_t p = vctp32q((uint32_t)(k));                                             \
    const uint32x4_t c = vldrhq_z_u32(col, p);                                                 \
    const int8x16_t wv = vldrbq_z_s8(v, p)

/* The next group of 4 blocks, the pointers and count hidden from GCC's loop analysis: without
 * that, GCC computes the trip count and the pointers' final values of every row's short loop
 * up front (about 50 instructions per row, more than the loop itself at 20 % density). */
#define SG_BSR1X4_MVE_NEXT(col, v, k)                                                          \
    do {                                                                                       \
        (col) += 4;                                                                            \
        (v) += 16;                                                                             \
        (k) -= 4;                                                                              \
        __asm__("" : "+r"(col), "+r"(v), "+r"(k));                                             \
    } while (0)

/* One pixel (fc, and the last pixels of a 1x1 or conv): out[r] for every row. */
static inline void sg_bsr1x4_mve_rows_1(const sg_bsr1x4_s8 *w, const int8_t *x,
                                        const int32_t *bias, const sg_requant *rq, int8_t *out)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const sg_mve_out_stage st = sg_mve_out_stage_of(rq);
    int32_t acc[SG_SPARSE_CHUNK];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK, rows - r0);
        for (int32_t i = 0; i < n; ++i) {
            int32_t s = 0;
            int32_t s2 = 0;
            int32_t k = *nb++;
            /* Two groups per iteration into two sums: each gather's load latency is hidden
             * behind the other group's work (llvm-mca: 6.5 cycles per 4 blocks, 9 with one). */
            for (; k >= 8; k -= 8, col += 8, v += 32) {
                const uint32x4_t ca = vldrhq_u32(col);
                const uint32x4_t cb = vldrhq_u32(col + 4);
                const int8x16_t xa = sg_bsr1x4_mve_gather(x, ca);
                const int8x16_t xb = sg_bsr1x4_mve_gather(x, cb);
                s = vmladavaq_s8(s, xa, vld1q_s8(v));
                s2 = vmladavaq_s8(s2, xb, vld1q_s8(v + 16));
            }
            /* Once even for k == 0 (an all-false predicate adds nothing): no test. The
             * pointers overshoot by -k blocks at the end. */
            do {
                SG_BSR1X4_MVE_TAIL(k, col, v, p, c, wv);
                s = vmladavaq_s8(s, sg_bsr1x4_mve_gather(x, c), wv);
                SG_BSR1X4_MVE_NEXT(col, v, k);
            } while (k > 0);
            col += k; /* k <= 0: back to the row's end */
            v += 4 * k;
            acc[i] = s + s2;
        }
        sg_sparse_mve_requant(acc, bias != NULL ? bias + r0 : NULL, rq->mult + r0,
                              rq->shift + r0, &st, n, 1, out + r0, 0);
    }
}

/* Four pixels x0 + j * step (j < 4, step % 4 == 0) per pass over the weights:
 * out0[j * out_step + r]. Rows are short here (a 1x1 over 64 channels at 20 % density has 3
 * blocks per row), so every group of 4 blocks takes the predicated step. */
static inline void sg_bsr1x4_mve_rows_4(const sg_bsr1x4_s8 *w, const int8_t *x0, int32_t step,
                                        const int32_t *bias, const sg_requant *rq, int8_t *out0,
                                        int32_t out_step)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const int8_t *x1 = x0 + step;
    const int8_t *x2 = x1 + step;
    const int8_t *x3 = x2 + step;
    const sg_mve_out_stage st = sg_mve_out_stage_of(rq);
    int32_t acc[4 * SG_SPARSE_CHUNK];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK, rows - r0);
        int32_t *a = acc;
        for (int32_t i = 0; i < n; ++i, ++a) {
            int32_t a0 = 0;
            int32_t a1 = 0;
            int32_t a2 = 0;
            int32_t a3 = 0;
            int32_t k = *nb++;
            /* As in sg_bsr1x4_mve_rows_1's tail: once even for an empty row. */
            do {
                SG_BSR1X4_MVE_TAIL(k, col, v, p, c, wv);
                a0 = vmladavaq_s8(a0, sg_bsr1x4_mve_gather(x0, c), wv);
                a1 = vmladavaq_s8(a1, sg_bsr1x4_mve_gather(x1, c), wv);
                a2 = vmladavaq_s8(a2, sg_bsr1x4_mve_gather(x2, c), wv);
                a3 = vmladavaq_s8(a3, sg_bsr1x4_mve_gather(x3, c), wv);
                SG_BSR1X4_MVE_NEXT(col, v, k);
            } while (k > 0);
            col += k; /* k <= 0: back to the row's end */
            v += 4 * k;
            a[0] = a0;
            a[SG_SPARSE_CHUNK] = a1;
            a[2 * SG_SPARSE_CHUNK] = a2;
            a[3 * SG_SPARSE_CHUNK] = a3;
        }
        sg_sparse_mve_requant(acc, bias != NULL ? bias + r0 : NULL, rq->mult + r0,
                              rq->shift + r0, &st, n, 4, out0 + r0, out_step);
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_SPARSE_MVE_H */
