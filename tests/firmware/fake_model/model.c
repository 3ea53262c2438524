/* Hand-written stand-in for slimgen output (tests/firmware/fake_model). */
#include "model.h"

#include "fake_common.h"
#include "fake_ops.h"

#ifndef SG_LAYER_BEGIN
#define SG_LAYER_BEGIN(i) /* nothing */
#endif
#ifndef SG_LAYER_END
#define SG_LAYER_END(i) /* nothing */
#endif

extern const int8_t fake_L0_b[16];

sg_status fake_run(const int8_t *input, int8_t *output, uint8_t *arena)
{
    /* L0 bias_add 16 -> 16 */
    SG_LAYER_BEGIN(0);
    SG_TRY(fake_bias_add_s8(input, fake_L0_b, (int8_t *)(arena + 0), 16));
    SG_LAYER_END(0);
    /* L1 sum4 16 -> 4 */
    SG_LAYER_BEGIN(1);
    SG_TRY(fake_sum4_s8((const int8_t *)(arena + 0), output, 4));
    SG_LAYER_END(1);
    return SG_OK;
}
