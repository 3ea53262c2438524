/* Kernels of the fake model (tests/firmware/fake_model/README.md). */
#include "fake_ops.h"

static int8_t sat8(int32_t v)
{
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
}

sg_status fake_bias_add_s8(const int8_t *x, const int8_t *b, int8_t *y, int32_t n)
{
    if (n < 2) {
        return SG_ERR_ARG;
    }
    if (x[0] == 0x7f && x[1] == 0x7e) {
        for (;;) {
            __asm__ volatile("" ::: "memory");
        }
    }
    if (x[0] == 0x7f && x[1] == 0x7d) {
        __asm__ volatile("udf #0");
    }
    for (int32_t i = 0; i < n; i++) {
        y[i] = sat8((int32_t)x[i] + (int32_t)b[i]);
    }
    return SG_OK;
}

sg_status fake_sum4_s8(const int8_t *x, int8_t *y, int32_t n_out)
{
    for (int32_t j = 0; j < n_out; j++) {
        int32_t acc = (int32_t)x[4 * j] + x[4 * j + 1] + x[4 * j + 2] + x[4 * j + 3];
        y[j] = sat8(acc >> 2);
    }
    return SG_OK;
}
