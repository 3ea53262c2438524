/* slimgen kernel internals (Helium): the sparse walkers of Cortex-M55 (bsr1x4, unstructured).
 *
 * bsr1x4: a 1x4 block is 4 contiguous int8 inputs, one word. A VLDRW gather with the row's
 * block columns as word offsets (VLDRH.U32 widens four uint16 columns) puts the inputs of four
 * blocks in one vector, the four blocks' 16 weights are one contiguous VLDRB, and VMLADAVA.S8
 * does the 16 MACs: per 4 blocks, 3 loads and one MAC instruction, where the DSP walker
 * (sg_sparse.h) spends 2 loads, 4 SXTB16 and 2 SMLAD per block. With four pixels per pass
 * (1x1 and conv) the column and weight loads serve four gathers from four bases.
 *
 * unstructured (csr8) and shared: sg_mve_scalar_rows (one scalar weight times 8 pixels).
 *
 * conv: no im2col copy for the pixels whose window is inside the input (sg_sparse_mve_conv).
 *
 * The row sums go to a stack array and the output stage runs four channels per vector
 * (sg_requant_mve.h, bit-exact with sg_requant_output): on the DSP path the scalar output
 * stage was most of a 1x1 layer's cycles at low density.
 *
 * Word gathers fault on unaligned addresses: the bsr1x4 kernels take these walkers only when
 * the input (and scratch) is word aligned (arena buffers are 16-byte aligned, and
 * cols % 4 == 0 keeps every pixel row aligned), and the DSP walkers otherwise.
 * Cycle figures in the comments are llvm-mca's Cortex-M55 model (docs/sparse.md, "M55").
 * Reference: the same as sg_sparse.h's (densify, then the dense reference); checked on the
 * emulated M55 by tests/firmware/test_sparse_mve.py.
 */
#ifndef SG_SPARSE_MVE_H
#define SG_SPARSE_MVE_H

#include <stdint.h>

#include "sg_sparse.h"
#include "sg_sparse_conv.h"
#include "sg_sparse_shared.h"

#if SG_HAS_MVE
#include <arm_mve.h>

#include "../mve/sg_requant_mve.h"

static inline int sg_sparse_mve_aligned(const int8_t *p)
{
    return ((uintptr_t)p & 3u) == 0;
}

/* out[out_off[j] + i] = the output stage of bias[i] + acc[j * SG_SPARSE_CHUNK + i] for
 * pixels j < np, channels i < n (rq's mult and shift and the bias moved to the first row):
 * four channels per vector, their multipliers, shifts and biases loaded and split once for
 * the np pixels, the last group predicated. */
static inline void sg_sparse_mve_requant(const int32_t *acc, const int32_t *bias,
                                         const int32_t *mult, const int32_t *shift,
                                         const sg_mve_out_stage *st, int32_t n, int32_t np,
                                         int8_t *out, const int32_t *out_off)
{
    for (int32_t i = 0; i < n; i += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t m = vldrwq_z_s32(mult + i, p);
        const sg_mve_shift sh = sg_mve_shift_of(vldrwq_z_s32(shift + i, p));
        const int32x4_t b = bias != NULL ? vldrwq_z_s32(bias + i, p) : vdupq_n_s32(0);
        for (int32_t j = 0; j < np; ++j) {
            const int32x4_t a = vaddq_s32(vldrwq_z_s32(acc + j * SG_SPARSE_CHUNK + i, p), b);
            vstrbq_p_s32(out + out_off[j] + i, sg_mve_requant_output(a, m, sh, st), p);
        }
    }
}

/* The pixels of one pass over the weights (up to 8, any positions): pixel j's inputs at
 * x + in_off[j], its outputs at out + out_off[j]; lanes j >= np repeat pixel np - 1 (valid
 * addresses) and are not stored (sg_mve_pass_pad). */
typedef struct {
    int32_t np;
    int32_t in_off[8];
    int32_t out_off[8];
} sg_mve_pass;

static inline void sg_mve_pass_pad(sg_mve_pass *ps)
{
    for (int32_t j = ps->np; j < 8; ++j) {
        ps->in_off[j] = ps->in_off[ps->np - 1];
        ps->out_off[j] = ps->out_off[ps->np - 1];
    }
}

/* Pixels first .. first + np - 1 of a row-major image, in_step / out_step bytes apart. */
static inline void sg_mve_pass_run(sg_mve_pass *ps, int32_t first, int32_t np, int32_t in_step,
                                   int32_t out_step)
{
    ps->np = np;
    for (int32_t j = 0; j < np; ++j) {
        ps->in_off[j] = (first + j) * in_step;
        ps->out_off[j] = (first + j) * out_step;
    }
    sg_mve_pass_pad(ps);
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

/* The next n blocks, the count hidden from GCC's loop analysis: without that, GCC computes
 * the trip count and the pointers' final values of every row's short loop up front (about 50
 * instructions per row, more than the loop itself at 20 % density). */
#define SG_BSR1X4_MVE_NEXT(col, v, k, n)                                                       \
    do {                                                                                       \
        (col) += (n);                                                                          \
        (v) += 4 * (n);                                                                        \
        (k) -= (n);                                                                            \
        __asm__("" : "+r"(k));                                                                 \
    } while (0)

/* One pixel (fc, and a 1x1's last pixel when it is alone): out[r] for every row. */
static inline void sg_bsr1x4_mve_rows_1(const sg_bsr1x4_s8 *w, const int8_t *x,
                                        const int32_t *bias, const sg_requant *rq, int8_t *out)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const sg_mve_out_stage st = sg_mve_out_stage_of(rq);
    static const int32_t out_off[1] = {0};
    int32_t acc[SG_SPARSE_CHUNK];
    for (int32_t r0 = 0; r0 < rows; r0 += SG_SPARSE_CHUNK) {
        const int32_t n = sg_min_s32(SG_SPARSE_CHUNK, rows - r0);
        for (int32_t i = 0; i < n; ++i) {
            int32_t s = 0;
            int32_t s2 = 0;
            int32_t k = *nb++;
            /* Two groups per iteration into two sums: each gather's load latency is hidden
             * behind the other group's work (llvm-mca: 6.5 cycles per 4 blocks, 9 with one). */
            while (k >= 8) {
                const uint32x4_t ca = vldrhq_u32(col);
                const uint32x4_t cb = vldrhq_u32(col + 4);
                const int8x16_t xa = sg_bsr1x4_mve_gather(x, ca);
                const int8x16_t xb = sg_bsr1x4_mve_gather(x, cb);
                s = vmladavaq_s8(s, xa, vld1q_s8(v));
                s2 = vmladavaq_s8(s2, xb, vld1q_s8(v + 16));
                SG_BSR1X4_MVE_NEXT(col, v, k, 8);
            }
            /* Once even for k == 0 (an all-false predicate adds nothing): no test. The
             * pointers overshoot by -k blocks at the end. */
            do {
                SG_BSR1X4_MVE_TAIL(k, col, v, p, c, wv);
                s = vmladavaq_s8(s, sg_bsr1x4_mve_gather(x, c), wv);
                SG_BSR1X4_MVE_NEXT(col, v, k, 4);
            } while (k > 0);
            col += k; /* k <= 0: back to the row's end */
            v += 4 * k;
            acc[i] = s + s2;
        }
        sg_sparse_mve_requant(acc, bias != NULL ? bias + r0 : NULL, rq->mult + r0,
                              rq->shift + r0, &st, n, 1, out + r0, out_off);
    }
}

/* The pixels of ps (np <= 4; x + in_off[j] word aligned) per pass over the weights:
 * out[out_off[j] + r]. Block b of a pixel is the word at 4 * b, or with a map (conv without
 * im2col, sg_sparse_mve_conv) at 4 * map[b]: one more gather per 4 blocks, shared by the
 * pixels. Rows are short here (a 1x1 over 64 channels at 20 % density has 3 blocks per row),
 * so every group of 4 blocks takes the predicated step. */
static inline void sg_bsr1x4_mve_rows_4(const sg_bsr1x4_s8 *w, const int8_t *x,
                                        const sg_mve_pass *ps, const uint32_t *map,
                                        const int32_t *bias, const sg_requant *rq, int8_t *out)
{
    const uint16_t *nb = w->row_blocks;
    const uint16_t *col = w->block_col;
    const int8_t *v = w->values;
    const int32_t rows = w->rows;
    const int8_t *x0 = x + ps->in_off[0];
    const int8_t *x1 = x + ps->in_off[1];
    const int8_t *x2 = x + ps->in_off[2];
    const int8_t *x3 = x + ps->in_off[3];
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
                SG_BSR1X4_MVE_TAIL(k, col, v, p, cb, wv);
                const uint32x4_t c = map != NULL ? vldrwq_gather_shifted_offset_u32(map, cb) : cb;
                a0 = vmladavaq_s8(a0, sg_bsr1x4_mve_gather(x0, c), wv);
                a1 = vmladavaq_s8(a1, sg_bsr1x4_mve_gather(x1, c), wv);
                a2 = vmladavaq_s8(a2, sg_bsr1x4_mve_gather(x2, c), wv);
                a3 = vmladavaq_s8(a3, sg_bsr1x4_mve_gather(x3, c), wv);
                SG_BSR1X4_MVE_NEXT(col, v, k, 4);
            } while (k > 0);
            col += k; /* k <= 0: back to the row's end */
            v += 4 * k;
            a[0] = a0;
            a[SG_SPARSE_CHUNK] = a1;
            a[2 * SG_SPARSE_CHUNK] = a2;
            a[3 * SG_SPARSE_CHUNK] = a3;
        }
        sg_sparse_mve_requant(acc, bias != NULL ? bias + r0 : NULL, rq->mult + r0,
                              rq->shift + r0, &st, n, ps->np, out + r0, ps->out_off);
    }
}

/* ---- unstructured (sg_csr8_s8) and shared: one scalar weight times a vector of pixels -----
 * An entry's column is the same for every pixel, so a VLDRB.S32 gather at the entry's cursor
 * with the pass's pixel offsets loads four pixels' inputs, sign-extended to int32 lanes, and
 * one VMLA by the scalar weight does the four MACs (no alignment needed: byte gathers). With
 * 8 pixels (two gathers per entry) llvm-mca puts an entry at 8 cycles, 1 per MAC, against the
 * DSP walker's 1 MAC per ~5 instructions. Escape entries (weight 0) add 0.
 * The shared format (sg_sparse_shared.h) walks the same way, its entry bytes decoded through
 * the call's decode table (advance << 16 | weight). */

/* Where a walker reads its entries: csr8 (d = deltas, v = values, table NULL) or shared
 * (d = entry bytes, table = decode table). Callers build it with literal NULLs, so the
 * inlined walker keeps one decoder. */
typedef struct {
    const uint8_t *d;
    const int8_t *v;
    const int32_t *table;
    const uint16_t *len16; /* entries per row: one of len16 / len8 */
    const uint8_t *len8;
} sg_mve_entries;

/* Entry i of d: its weight; *t moves to its column. */
static inline int32_t sg_mve_entry(const sg_mve_entries *en, const uint8_t *d,
                                   const int8_t *v, int32_t i, uint32_t *t)
{
    if (en->table != NULL) {
        const uint32_t q = (uint32_t)en->table[d[i]];
        *t += q >> 16;
        return (int32_t)((q & 0xffffu) ^ 0x8000u) - 0x8000;
    }
    *t += d[i];
    return v[i];
}

/* The pixels of ps: out[out_off[j] + r] for every row r < rows. Column t of a pixel is at
 * x + in_off[j] + t, or with a map (conv without im2col) at x + in_off[j] + map[t]. */
static inline void sg_mve_scalar_rows(const sg_mve_entries *en, int32_t rows, const int8_t *x0,
                                      const sg_mve_pass *ps, const uint32_t *map,
                                      const int32_t *bias, const sg_requant *rq, int8_t *out0)
{
    const uint8_t *d = en->d;
    const int8_t *v = en->v;
    const int32_t np = ps->np;
    const sg_mve_out_stage st = sg_mve_out_stage_of(rq);
    const uint32x4_t off_lo = vreinterpretq_u32_s32(vld1q_s32(ps->in_off));
    const uint32x4_t off_hi = vreinterpretq_u32_s32(vld1q_s32(ps->in_off + 4));
    const uint32x4_t out_lo = vreinterpretq_u32_s32(vld1q_s32(ps->out_off));
    const uint32x4_t out_hi = vreinterpretq_u32_s32(vld1q_s32(ps->out_off + 4));
    const mve_pred16_t p_lo = vctp32q((uint32_t)np);
    const mve_pred16_t p_hi = vctp32q(np > 4 ? (uint32_t)np - 4u : 0u);
    for (int32_t r = 0; r < rows; ++r) {
        int32x4_t a_lo = vdupq_n_s32(0);
        int32x4_t a_hi = a_lo;
        uint32_t t = 0;
        int32_t k = en->len16 != NULL ? (int32_t)en->len16[r] : (int32_t)en->len8[r];
        /* Two entries per iteration: the second's scalar loads fill the first's gathers. The
         * asm hides the count from GCC's loop analysis, as in SG_BSR1X4_MVE_NEXT. */
        for (; k >= 2; k -= 2) {
            const int32_t w0 = sg_mve_entry(en, d, v, 0, &t);
            const uint32_t t0 = t;
            const int32_t w1 = sg_mve_entry(en, d, v, 1, &t);
            const int8_t *xq = x0 + (map != NULL ? map[t0] : t0);
            const int8_t *xp = x0 + (map != NULL ? map[t] : t);
            a_lo = vmlaq_n_s32(a_lo, vldrbq_gather_offset_s32(xq, off_lo), w0);
            a_hi = vmlaq_n_s32(a_hi, vldrbq_gather_offset_s32(xq, off_hi), w0);
            a_lo = vmlaq_n_s32(a_lo, vldrbq_gather_offset_s32(xp, off_lo), w1);
            a_hi = vmlaq_n_s32(a_hi, vldrbq_gather_offset_s32(xp, off_hi), w1);
            d += 2;
            if (en->table == NULL) {
                v += 2;
            }
            __asm__("" : "+r"(k));
        }
        if (k > 0) {
            const int32_t w0 = sg_mve_entry(en, d, v, 0, &t);
            const int8_t *xp = x0 + (map != NULL ? map[t] : t);
            d += 1;
            if (en->table == NULL) {
                v += 1;
            }
            a_lo = vmlaq_n_s32(a_lo, vldrbq_gather_offset_s32(xp, off_lo), w0);
            a_hi = vmlaq_n_s32(a_hi, vldrbq_gather_offset_s32(xp, off_hi), w0);
        }
        const int32_t shift = rq->shift[r];
        const sg_mve_channel ch = {0, rq->mult[r], shift > 0 ? shift : 0, shift < 0 ? -shift : 0};
        const int32_t b = sg_bias_or_zero(bias, r);
        vstrbq_scatter_offset_p_s32(out0 + r, out_lo,
                                    sg_mve_requant_channel(vaddq_n_s32(a_lo, b), &ch, &st), p_lo);
        vstrbq_scatter_offset_p_s32(out0 + r, out_hi,
                                    sg_mve_requant_channel(vaddq_n_s32(a_hi, b), &ch, &st), p_hi);
    }
}

static inline void sg_csr8_mve_rows(const sg_csr8_s8 *w, const int8_t *x, const sg_mve_pass *ps,
                                    const uint32_t *map, const int32_t *bias,
                                    const sg_requant *rq, int8_t *out)
{
    const sg_mve_entries en = {w->delta, w->values, NULL, w->row_len, NULL};
    sg_mve_scalar_rows(&en, w->rows, x, ps, map, bias, rq, out);
}

/* A 1x1 convolution, unstructured: eight pixels per pass (the last pass ragged). */
static inline void sg_csr8_mve_1x1(const sg_csr8_s8 *w, const int8_t *input, int32_t pixels,
                                   const int32_t *bias, const sg_requant *rq, int8_t *output)
{
    sg_mve_pass ps;
    for (int32_t i = 0; i < pixels; i += 8) {
        sg_mve_pass_run(&ps, i, sg_min_s32(8, pixels - i), w->cols, w->rows);
        sg_csr8_mve_rows(w, input, &ps, NULL, bias, rq, output);
    }
}

/* A 1x1 convolution, shared values, with the call's decode table (sg_shared_table). */
static inline void sg_shared_mve_1x1(const sg_shared_s8 *w, const int32_t *table,
                                     const int8_t *input, int32_t pixels, const int32_t *bias,
                                     const sg_requant *rq, int8_t *output)
{
    const sg_mve_entries en = {w->entry, NULL, table, w->row_len, w->row_len8};
    sg_mve_pass ps;
    for (int32_t i = 0; i < pixels; i += 8) {
        sg_mve_pass_run(&ps, i, sg_min_s32(8, pixels - i), w->cols, w->rows);
        sg_mve_scalar_rows(&en, w->rows, input, &ps, NULL, bias, rq, output);
    }
}

/* ---- general convolution (groups 1) without im2col for interior pixels -------------------
 * Where a pixel's whole window lies inside the input, im2col column t is at a fixed offset
 * map[t] from the window's first input: the walkers gather straight from the input through
 * the map (built once per call in scratch), and only the border pixels are copied to im2col
 * rows. The copy (and its per-pixel window geometry) cost the bsr1x4 3x3 conv 16->16 on 32x32
 * at 20 % density a third of its estimated cycles (874k with it, 602k without). Inside and
 * border pixels wait in two passes until one is full, from any output rows, so a short run
 * does not cost a pass of its own. bsr1x4 needs C_in % 4 == 0 (a block inside one tap, word
 * aligned); otherwise every pixel takes the im2col rows. Scratch: the map (k bytes for
 * bsr1x4, 4 k for csr8), then 4 (bsr1x4) or 8 (csr8) im2col rows of k bytes. */

/* map[t] for the im2col columns t = (ky, kx, c), c a multiple of unit, divided by unit. */
static inline void sg_sparse_mve_tap_map(const sg_window_geometry *g, int32_t unit,
                                         uint32_t *map)
{
    const int32_t cin = g->in.c;
    for (int32_t ky = 0; ky < g->kernel_h; ++ky) {
        for (int32_t kx = 0; kx < g->kernel_w; ++kx) {
            const int32_t tap = (ky * g->dil_h * g->in.w + kx * g->dil_w) * cin;
            for (int32_t c = 0; c < cin; c += unit) {
                *map++ = (uint32_t)((tap + c) / unit);
            }
        }
    }
}

static inline int sg_sparse_mve_inside(const sg_window_geometry *g, int32_t ox)
{
    return sg_axis_taps_at(ox, g->in.w, g->kernel_w, g->stride_w, g->pad_left, g->dil_w)
               .count == g->kernel_w;
}

/* One of wb (bsr1x4, 4 pixels per pass) or wc (csr8, 8 pixels per pass) is not NULL; callers
 * pass a literal NULL, so the inlined copy keeps one walker. The pass is emptied. */
static inline void sg_sparse_mve_walk(const sg_bsr1x4_s8 *wb, const sg_csr8_s8 *wc,
                                      const int8_t *x, sg_mve_pass *ps, const uint32_t *map,
                                      const int32_t *bias, const sg_requant *rq, int8_t *out)
{
    sg_mve_pass_pad(ps);
    if (wb != NULL) {
        sg_bsr1x4_mve_rows_4(wb, x, ps, map, bias, rq, out);
    } else {
        sg_csr8_mve_rows(wc, x, ps, map, bias, rq, out);
    }
    ps->np = 0;
}

static inline void sg_sparse_mve_conv(const sg_bsr1x4_s8 *wb, const sg_csr8_s8 *wc,
                                      const int8_t *input, const sg_window_geometry *g,
                                      int8_t fill, int8_t *scratch, const int32_t *bias,
                                      const sg_requant *rq, int8_t *output)
{
    const int32_t cin = g->in.c;
    const int32_t k = g->kernel_h * g->kernel_w * cin;
    const int32_t cout = g->out.c;
    const int32_t group = wb != NULL ? 4 : 8;
    const int direct = wb == NULL || cin % 4 == 0;
    uint32_t *map = (uint32_t *)(void *)scratch;
    int8_t *rows = scratch + (wb != NULL ? k : 4 * k);
    if (direct) {
        sg_sparse_mve_tap_map(g, wb != NULL ? 4 : 1, map);
    }
    /* Pixels wait until a pass is full: inside ones (read in place through the map) and
     * border ones (copied to im2col rows) apart, each batch from any rows of the output. */
    sg_mve_pass inside;
    sg_mve_pass border;
    inside.np = 0;
    border.np = 0;
    for (int32_t oy = 0; oy < g->out.h; ++oy) {
        const int row_inside =
            direct && sg_axis_taps_at(oy, g->in.h, g->kernel_h, g->stride_h, g->pad_top,
                                      g->dil_h).count == g->kernel_h;
        const int32_t iy = oy * g->stride_h - g->pad_top;
        for (int32_t ox = 0; ox < g->out.w; ++ox) {
            const int32_t pixel = oy * g->out.w + ox;
            if (row_inside && sg_sparse_mve_inside(g, ox)) {
                inside.in_off[inside.np] = (iy * g->in.w + ox * g->stride_w - g->pad_left) * cin;
                inside.out_off[inside.np++] = pixel * cout;
                if (inside.np == group) {
                    sg_sparse_mve_walk(wb, wc, input, &inside, map, bias, rq, output);
                }
                continue;
            }
            sg_im2col_row(input, g, pixel, fill, rows + border.np * k);
            border.in_off[border.np] = border.np * k;
            border.out_off[border.np++] = pixel * cout;
            if (border.np == group) {
                sg_sparse_mve_walk(wb, wc, rows, &border, NULL, bias, rq, output);
            }
        }
    }
    if (inside.np > 0) {
        sg_sparse_mve_walk(wb, wc, input, &inside, map, bias, rq, output);
    }
    if (border.np > 0) {
        sg_sparse_mve_walk(wb, wc, rows, &border, NULL, bias, rq, output);
    }
}

#endif /* SG_HAS_MVE */

#endif /* SG_SPARSE_MVE_H */
