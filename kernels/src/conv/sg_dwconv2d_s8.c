/* sg_dwconv2d_s8: int8 depthwise convolution (groups = C_in) with channel multiplier ch_mult,
 * any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py dwconv2d(). */
#include "sg_kernels.h"

#include "../mve/sg_dwconv2d_s8_mve.h"
#include "sg_dwconv2d_common.h"

int32_t sg_dwconv2d_s8_scratch_size(const sg_dwconv2d_s8_params *p)
{
    (void)p;
    return 0;
}

sg_status sg_dwconv2d_s8(const sg_dwconv2d_s8_params *p,
                         const int8_t *input,
                         int8_t *output,
                         sg_scratch scratch)
{
    SG_TRY(sg_dwconv2d_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_dwconv2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

#if SG_HAS_MVE
    if (p->ch_mult == 1) {
        const sg_window_geometry g = sg_dwconv2d_geometry(p);
        sg_dwconv2d_s8_mve(p, &g, input, output);
        return SG_OK;
    }
#endif
    sg_dw_portable(p, 0, input, output);
    return SG_OK;
}
