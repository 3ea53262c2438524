/* Hand-written stand-in for slimgen output (tests/firmware/spin_model). */
#include "model.h"

#include "spin_ops.h"

#ifndef SG_LAYER_BEGIN
#define SG_LAYER_BEGIN(i) /* nothing */
#endif
#ifndef SG_LAYER_END
#define SG_LAYER_END(i) /* nothing */
#endif

sg_status spin_run(const int8_t *input, int8_t *output, uint8_t *arena)
{
    (void)arena;
    /* L0 spin n0 */
    SG_LAYER_BEGIN(0);
    spin_s8(input, 0);
    SG_LAYER_END(0);
    /* L1 spin n1 */
    SG_LAYER_BEGIN(1);
    spin_s8(input, 1);
    SG_LAYER_END(1);
    for (int32_t i = 0; i < SPIN_OUTPUT_BYTES; i++) {
        output[i] = (int8_t)(input[i] ^ 0x5a);
    }
    return SG_OK;
}
