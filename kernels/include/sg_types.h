/* slimgen kernel library: shared types.
 *
 * cffi-clean: only stdint, include guards, typedefs and prototypes. The host test harness drops
 * every preprocessor line and feeds the rest to cffi's cdef.
 */
#ifndef SG_TYPES_H
#define SG_TYPES_H

#include <stdint.h>

typedef enum {
    SG_OK = 0,
    SG_ERR_ARG = -1,         /* a documented precondition on params or shapes failed */
    SG_ERR_SCRATCH = -2,     /* scratch.size < sg_<kernel>_scratch_size(p) */
    SG_ERR_UNSUPPORTED = -3  /* params outside this specialization */
} sg_status;

/* Activations are NHWC; conv filters are OHWI (n = C_out, c = C_in). */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} sg_dims;

/* Caller-owned scratch memory; size in bytes; buf 4-byte aligned. */
typedef struct {
    void *buf;
    int32_t size;
} sg_scratch;

/* Output requantization, the TFLite / CMSIS-NN int8 contract.
 * out = clamp(requantize(acc, mult[c], shift[c]) + out_offset, act_min, act_max)
 * with acc = sum((x + in_offset) * w) + bias. */
typedef struct {
    const int32_t *mult;  /* [C_out] Q31 multipliers, range [0, 2^31) */
    const int32_t *shift; /* [C_out] range [-31, 30]; > 0 = left shift */
    int32_t in_offset;    /* = -zero_point(input), range [-127, 128] */
    int32_t out_offset;   /* = +zero_point(output), range [-128, 127] */
    int32_t act_min;      /* clamp in the output int8 domain (fused ReLU / ReLU6 / clamp) */
    int32_t act_max;
} sg_requant;

#endif /* SG_TYPES_H */
