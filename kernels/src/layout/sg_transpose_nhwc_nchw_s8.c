/* sg_transpose_nhwc_nchw_s8: NHWC -> NCHW, for a torch flatten whose consumer expects channel-major
 * order. Reference: compiler/slimgen/ref/layout.py transpose_nhwc_nchw(). */
#include "sg_kernels.h"

#include "../sg_common.h"

int32_t sg_transpose_nhwc_nchw_s8_scratch_size(const sg_transpose_nhwc_nchw_s8_params *p)
{
    (void)p;
    return 0;
}

sg_status sg_transpose_nhwc_nchw_s8(const sg_transpose_nhwc_nchw_s8_params *p,
                                    const int8_t *input,
                                    int8_t *output,
                                    sg_scratch scratch)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL, SG_ERR_ARG);
    SG_REQUIRE(sg_dims_ok(&p->in), SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_transpose_nhwc_nchw_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t pixels = p->in.h * p->in.w;
    const int32_t channels = p->in.c;
    for (int32_t c = 0; c < channels; ++c) {
        const int8_t *src = input + c;
        for (int32_t i = 0; i < pixels; ++i) {
            *output++ = src[i * channels];
        }
    }
    return SG_OK;
}
