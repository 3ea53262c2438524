/* sg_conv2d_s8_1x1: pointwise convolution, an fc applied to every pixel.
 * Requires filter 1x1, stride 1, no padding, dilation 1 (else SG_ERR_UNSUPPORTED).
 * Reference: compiler/slimgen/ref/conv.py conv2d(), which it must match bit for bit. */
#include "sg_kernels.h"

#include "../sg_dot.h"
#include "sg_conv2d_check.h"

int32_t sg_conv2d_s8_1x1_scratch_size(const sg_conv2d_s8_params *p)
{
    (void)p;
    return 0;
}

sg_status sg_conv2d_s8_1x1(const sg_conv2d_s8_params *p,
                           const int8_t *input,
                           int8_t *output,
                           sg_scratch scratch)
{
    SG_TRY(sg_conv2d_s8_check(p, input, output));
    SG_REQUIRE(p->filter.h == 1 && p->filter.w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                   p->pad_top == 0 && p->pad_left == 0 && p->dil_h == 1 && p->dil_w == 1,
               SG_ERR_UNSUPPORTED);
    SG_REQUIRE(p->out.h == p->in.h && p->out.w == p->in.w, SG_ERR_ARG);
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_1x1_scratch_size(p)), SG_ERR_SCRATCH);

    const int32_t pixels = p->in.h * p->in.w;
    for (int32_t i = 0; i < pixels; ++i) {
        sg_fc_vector(input + i * p->in.c, p->weights, p->bias, p->in.c, p->out.c, &p->rq,
                     output + i * p->out.c);
    }
    return SG_OK;
}
