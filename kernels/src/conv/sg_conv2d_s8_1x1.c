/* sg_conv2d_s8_1x1: pointwise convolution, an fc applied to every pixel.
 * Requires filter 1x1, stride 1, no padding, dilation 1 (else SG_ERR_UNSUPPORTED).
 * Reference: compiler/slimgen/ref/conv.py conv2d(), which it must match bit for bit.
 *
 * DSP path (SG_HAS_DSP): pixels x output channels is one matrix product. Two pixels at a time
 * are widened to halfwords (in_offset added) into scratch, then multiplied in 2 pixel x 2 channel
 * register tiles, so each weight word feeds two pixels (sg_dsp_mat_2xn in sg_dot.h). */
#include "sg_kernels.h"

#include "../sg_dot.h"
#include "sg_conv2d_check.h"

/* Two widened pixels (sg_widened_words each), then their 2 x C_out int32 sums; on every ISA so
 * a memory plan does not depend on the core; the portable path leaves it unused. */
int32_t sg_conv2d_s8_1x1_scratch_size(const sg_conv2d_s8_params *p)
{
    return sg_scratch_bytes(2 * 4 * (sg_widened_words(p->in.c) + (int64_t)p->out.c));
}

#if SG_HAS_MVE
#include "../mve/sg_conv2d_s8_1x1_mve.h"
#elif SG_HAS_DSP
static void conv_1x1_dsp(const sg_conv2d_s8_params *p, const int8_t *input, int8_t *output,
                         int32_t *xw)
{
    const int32_t pixels = p->in.h * p->in.w;
    const int32_t c_in = p->in.c;
    const int32_t c_out = p->out.c;
    int32_t *acc = xw + 2 * sg_widened_words(c_in);
    int32_t i = 0;
    for (; i + 2 <= pixels; i += 2) {
        const int8_t *a = input + i * c_in;
        sg_dsp_widen2(a, a + c_in, c_in, p->rq.in_offset, xw);
        int8_t *out = output + i * c_out;
        sg_dsp_mat_2xn(xw, p->weights, p->bias, c_in, c_out, &p->rq, out, c_out, acc);
    }
    if (i < pixels) {
        sg_dsp_widen(input + i * c_in, c_in, p->rq.in_offset, xw);
        sg_dsp_mat_1xn(xw, p->weights, p->bias, c_in, c_out, &p->rq, output + i * c_out, acc);
    }
}
#else
/* Every pixel is an fc over C_in. */
static void conv_1x1_portable(const sg_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t pixels = p->in.h * p->in.w;
    for (int32_t i = 0; i < pixels; ++i) {
        sg_fc_vector(input + i * p->in.c, p->weights, p->bias, p->in.c, p->out.c, &p->rq,
                     output + i * p->out.c);
    }
}
#endif

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

#if SG_HAS_MVE
    (void)scratch;
    sg_conv2d_s8_1x1_mve(p, input, output);
#elif SG_HAS_DSP
    conv_1x1_dsp(p, input, output, (int32_t *)scratch.buf);
#else
    (void)scratch;
    conv_1x1_portable(p, input, output);
#endif
    return SG_OK;
}
