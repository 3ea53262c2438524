/* sg_dwconv2d_s8: int8 depthwise convolution (groups = C_in) with channel multiplier ch_mult,
 * any kernel size, stride, padding and dilation.
 * Reference: compiler/slimgen/ref/conv.py dwconv2d(). */
#include "sg_kernels.h"

#include "../sg_requant.h"
#include "../sg_window.h"
#include "../mve/sg_dwconv2d_s8_mve.h"

int32_t sg_dwconv2d_s8_scratch_size(const sg_dwconv2d_s8_params *p)
{
    (void)p;
    return 0;
}

static sg_window_geometry dwconv2d_geometry(const sg_dwconv2d_s8_params *p)
{
    const sg_window_geometry g = {p->in,       p->out,      p->filter.h, p->filter.w,
                                  p->stride_h, p->stride_w, p->pad_top,  p->pad_left,
                                  p->dil_h,    p->dil_w};
    return g;
}

static sg_status dwconv2d_check(const sg_dwconv2d_s8_params *p, const int8_t *input,
                                const int8_t *output)
{
    SG_REQUIRE(p != NULL && input != NULL && output != NULL && p->weights != NULL, SG_ERR_ARG);
    const sg_window_geometry g = dwconv2d_geometry(p);
    SG_REQUIRE(sg_window_geometry_ok(&g), SG_ERR_ARG);
    SG_REQUIRE(p->ch_mult > 0 && (int64_t)p->in.c * p->ch_mult == p->out.c, SG_ERR_ARG);
    SG_REQUIRE(p->filter.n == 1 && p->filter.c == p->out.c, SG_ERR_ARG);
    SG_REQUIRE((int64_t)p->filter.h * p->filter.w * p->filter.c <= INT32_MAX, SG_ERR_ARG);
    SG_REQUIRE(sg_requant_ok(&p->rq, p->out.c), SG_ERR_ARG);
    return SG_OK;
}

/* One output pixel, all output channels. Output channel o reads input channel o / ch_mult, as
 * torch's grouped conv does; its weights are strided by C_out (HWC layout). */
static void dwconv_pixel_portable(const void *params, const int8_t *in_tap, const sg_window *win,
                                  int8_t *out_pixel)
{
    const sg_dwconv2d_s8_params *p = (const sg_dwconv2d_s8_params *)params;
    const int32_t c_out = p->out.c;
    const int32_t in_row_step = p->dil_h * p->in.w * p->in.c;
    const int32_t in_col_step = p->dil_w * p->in.c;
    const int32_t in_offset = p->rq.in_offset;

    for (int32_t o = 0; o < c_out; ++o) {
        const int8_t *in_channel = in_tap + o / p->ch_mult;
        int32_t acc = p->bias != NULL ? p->bias[o] : 0;
        for (int32_t r = 0; r < win->y.count; ++r) {
            for (int32_t c = 0; c < win->x.count; ++c) {
                const int32_t tap = (win->y.begin + r) * p->filter.w + win->x.begin + c;
                const int32_t x = in_channel[r * in_row_step + c * in_col_step];
                acc += (x + in_offset) * (int32_t)p->weights[tap * c_out + o];
            }
        }
        out_pixel[o] = sg_requant_output(acc, &p->rq, o);
    }
}

sg_status sg_dwconv2d_s8(const sg_dwconv2d_s8_params *p,
                         const int8_t *input,
                         int8_t *output,
                         sg_scratch scratch)
{
    SG_TRY(dwconv2d_check(p, input, output));
    SG_REQUIRE(sg_scratch_ok(scratch, sg_dwconv2d_s8_scratch_size(p)), SG_ERR_SCRATCH);

    const sg_window_geometry g = dwconv2d_geometry(p);
#if SG_HAS_MVE
    if (p->ch_mult == 1) {
        sg_dwconv2d_s8_mve(p, &g, input, output);
        return SG_OK;
    }
#endif
    sg_for_each_window(&g, dwconv_pixel_portable, p, input, output);
    return SG_OK;
}
