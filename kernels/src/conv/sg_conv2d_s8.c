/* sg_conv2d_s8: int8 convolution, groups = 1, any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py conv2d(). */
#include "sg_kernels.h"

#include "../sg_dot.h"
#include "../sg_window.h"
#include "sg_conv2d_check.h"

int32_t sg_conv2d_s8_scratch_size(const sg_conv2d_s8_params *p)
{
    (void)p;
    return 0;
}

/* One output pixel, all output channels: a dot product over C_in per in-input tap. */
static void conv_pixel_portable(const void *params, const int8_t *in_tap, const sg_window *win,
                                int8_t *out_pixel)
{
    const sg_conv2d_s8_params *p = (const sg_conv2d_s8_params *)params;
    const int32_t c_in = p->in.c;
    const int32_t in_row_step = p->dil_h * p->in.w * c_in;
    const int32_t in_col_step = p->dil_w * c_in;
    const int32_t filter_size = p->filter.h * p->filter.w * c_in;

    for (int32_t o = 0; o < p->out.c; ++o) {
        const int8_t *w_o = p->weights + o * filter_size;
        int32_t acc = p->bias != NULL ? p->bias[o] : 0;
        for (int32_t r = 0; r < win->y.count; ++r) {
            for (int32_t c = 0; c < win->x.count; ++c) {
                const int32_t tap = (win->y.begin + r) * p->filter.w + win->x.begin + c;
                acc += sg_dot_offset_s8(in_tap + r * in_row_step + c * in_col_step,
                                        w_o + tap * c_in, c_in, p->rq.in_offset);
            }
        }
        out_pixel[o] = sg_requant_output(acc, &p->rq, o);
    }
}

sg_status sg_conv2d_s8(const sg_conv2d_s8_params *p,
                       const int8_t *input,
                       int8_t *output,
                       sg_scratch scratch)
{
    SG_TRY(sg_conv2d_s8_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_conv2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const sg_window_geometry g = sg_conv2d_geometry(p);
    sg_for_each_window(&g, conv_pixel_portable, p, input, output);
    return SG_OK;
}
