"""sg_dwconv2d_s8 against ref.conv.dwconv2d, and ref.conv.dwconv2d against plain loops."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slimgen import ref
from slimgen.ref.requant import Requant

from tests.kernels.harness import (
    KERNEL_SETTINGS,
    SG_ERR_ARG,
    SG_ERR_SCRATCH,
    SG_ERR_UNSUPPORTED,
    random_bias,
    random_int8,
    random_requant,
    status_of,
)
from tests.kernels.strategies import Window, conv_window, conv_windows, seeds


@dataclass
class DwCase:
    x: np.ndarray  # (N, H, W, C_in)
    w: np.ndarray  # (K_h, K_w, C_out)
    bias: np.ndarray | None
    rq: Requant
    ch_mult: int
    win: Window

    def reference(self) -> np.ndarray:
        return ref.conv.dwconv2d(
            self.x, self.w, self.bias, self.rq, ch_mult=self.ch_mult, **self.win.conv_geometry
        )

    def run(self, sgk, **call_options) -> np.ndarray:
        return sgk.dwconv2d(
            self.x,
            self.w,
            self.bias,
            self.rq,
            ch_mult=self.ch_mult,
            **self.win.conv_geometry,
            **call_options,
        )


def make_case(win: Window, c_in: int, ch_mult: int, seed: int, batch: int = 1) -> DwCase:
    rng = np.random.default_rng(seed)
    c_out = c_in * ch_mult
    typical_acc = np.sqrt(win.kernel[0] * win.kernel[1]) * 100 * 73
    x = random_int8(rng, (batch, *win.in_hw, c_in))
    w = random_int8(rng, (*win.kernel, c_out), lo=-127)
    return DwCase(
        x,
        w,
        random_bias(rng, c_out, typical_acc),
        random_requant(rng, c_out, typical_acc),
        ch_mult,
        win,
    )


def dsp_friendly(case: DwCase) -> DwCase:
    shift = np.clip(case.rq.shift, -22, -1).astype(np.int32)
    mult = np.where(case.rq.mult == 0, 1 << 30, case.rq.mult).astype(np.int32)
    case.rq = Requant(mult=mult, shift=shift, in_offset=case.rq.in_offset,
                      out_offset=case.rq.out_offset, act_min=case.rq.act_min,
                      act_max=case.rq.act_max)
    return case


@st.composite
def dw_cases(draw: st.DrawFn, max_in: int = 9) -> DwCase:
    """Half of them with every shift in the DSP output stage's range (dsp_friendly), so the
    dsp-emulated build runs its DSP path on those and its portable fallback on the rest."""
    win = draw(conv_windows(max_in=max_in))
    case = make_case(
        win,
        draw(st.integers(1, 9)),
        draw(st.integers(1, 3)),
        draw(seeds()),
        batch=draw(st.integers(1, 2)),
    )
    return dsp_friendly(case) if draw(st.booleans()) else case


@KERNEL_SETTINGS
@given(dw_cases())
def test_dwconv2d_matches_reference(sgk, case: DwCase) -> None:
    np.testing.assert_array_equal(case.run(sgk), case.reference())


EDGE_CASES = {
    "3x3_stride_2_odd_width": lambda: make_case(
        conv_window((7, 7), (3, 3), (2, 2), (1, 1, 1, 1)), 8, 1, 1
    ),
    "ch_mult_3_c_in_1": lambda: make_case(conv_window((5, 4), (3, 2), pad=(1, 0, 1, 1)), 1, 3, 2),
    "ch_mult_2_odd_channels": lambda: make_case(conv_window((6, 5), (2, 3), (1, 2)), 5, 2, 3),
    "padding_larger_than_kernel": lambda: make_case(
        conv_window((2, 3), (2, 2), pad=(3, 4, 5, 3)), 3, 1, 4
    ),
    "dilation_beyond_input": lambda: make_case(
        conv_window((3, 4), (3, 3), pad=(2, 2, 2, 2), dilation=(3, 2)), 2, 2, 5
    ),
    "window_misses_input": lambda: make_case(conv_window((2, 2), (1, 1), out_hw=(4, 5)), 3, 1, 6),
    "stride_larger_than_kernel": lambda: make_case(conv_window((9, 9), (2, 1), (4, 3)), 4, 1, 7),
    "dsp_5x5_ch_mult_2": lambda: dsp_friendly(
        make_case(conv_window((9, 8), (5, 5), pad=(2, 2, 2, 2)), 3, 2, 8)),
    "dsp_dilated_odd_width": lambda: dsp_friendly(
        make_case(conv_window((9, 9), (3, 4), (2, 1), (1, 2, 1, 1), (2, 3)), 5, 1, 9)),
    "dsp_global_mean_7x7": lambda: dsp_friendly(make_case(conv_window((7, 7), (7, 7)), 6, 1, 10)),
    "dsp_1x1_kernel_stride_3": lambda: dsp_friendly(
        make_case(conv_window((7, 8), (1, 1), (3, 3)), 4, 3, 11)),
    "dsp_window_misses_input": lambda: dsp_friendly(
        make_case(conv_window((2, 2), (2, 2), pad=(3, 3, 3, 3)), 2, 1, 12)),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_dwconv2d_edge_cases(sgk, name: str) -> None:
    case = EDGE_CASES[name]()
    np.testing.assert_array_equal(case.run(sgk), case.reference())


def dwconv2d_direct(case: DwCase) -> np.ndarray:
    """The definition in sg_kernels.h, one multiply-add at a time."""
    (n, h, w, _), (kh, kw, c_out) = case.x.shape, case.w.shape
    (sh, sw), (dh, dw), (top, left) = case.win.stride, case.win.dilation, case.win.pad[:2]
    ho, wo = case.win.out_hw
    acc = np.zeros((n, ho, wo, c_out), np.int64)
    for b, oy, ox, o in itertools.product(range(n), range(ho), range(wo), range(c_out)):
        total = int(case.bias[o]) if case.bias is not None else 0
        for ky, kx in itertools.product(range(kh), range(kw)):
            iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
            if 0 <= iy < h and 0 <= ix < w:
                x = int(case.x[b, iy, ix, o // case.ch_mult]) + case.rq.in_offset
                total += x * int(case.w[ky, kx, o])
        acc[b, oy, ox, o] = total
    return ref.requant.finish(acc, case.rq)


@settings(KERNEL_SETTINGS, max_examples=min(40, KERNEL_SETTINGS.max_examples))
@given(dw_cases(max_in=5))
def test_dwconv2d_reference_matches_direct_loops(case: DwCase) -> None:
    """The vectorized reference (np.repeat for ch_mult, zero padding) equals the header's
    definition, checked in plain Python on small shapes."""
    np.testing.assert_array_equal(case.reference(), dwconv2d_direct(case))


REJECTED = {
    "batch_2": {"in": {"n": 2}},
    "ch_mult_0": {"ch_mult": 0},
    "ch_mult_mismatch": {"ch_mult": 3},
    "filter_n_not_1": {"filter": {"n": 2}},
    "filter_c_mismatch": {"filter": {"c": 5}},
    "zero_stride": {"stride_h": 0},
    "negative_pad": {"pad_left": -2},
    "out_offset_128": {"rq": {"out_offset": 128}},
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_dwconv2d_rejects_bad_arguments(sgk, name: str) -> None:
    case = make_case(conv_window((4, 4), (3, 3), pad=(1, 1, 1, 1)), 3, 2, seed=0)
    assert status_of(case.run, sgk, overrides=REJECTED[name]) == SG_ERR_ARG


# ---- sg_dwconv2d_s8_3x3: 3x3, dilation 1, ch_mult 1 ------------------------------------------
# Its DSP path (the dsp-emulated build) runs when every shift is in [-22, -1] and |bias| leaves
# headroom (sg_dw_fast_ok); other layers take the portable loop. dsp_friendly() makes a case
# take the DSP path, so both are exercised on every build.

DW3X3 = "sg_dwconv2d_s8_3x3"


def make_3x3_case(in_hw, stride=(1, 1), pad=(1, 1, 1, 1), channels=8, seed=0, *,
                  friendly=True, out_hw=None) -> DwCase:
    case = make_case(conv_window(in_hw, (3, 3), stride, pad, out_hw=out_hw), channels, 1, seed)
    return dsp_friendly(case) if friendly else case


@st.composite
def dw3x3_cases(draw: st.DrawFn) -> DwCase:
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pad = tuple(draw(st.integers(0, 3)) for _ in range(4))
    case = make_3x3_case((h, w), stride, pad, draw(st.integers(1, 12)), draw(seeds()),
                         friendly=draw(st.booleans()))
    return case


@KERNEL_SETTINGS
@given(dw3x3_cases())
def test_dwconv2d_3x3_matches_reference(sgk, case: DwCase) -> None:
    np.testing.assert_array_equal(case.run(sgk, fn=DW3X3), case.reference())


def _saturating(case: DwCase, in_offset: int, out_offset: int, act=(-128, 127)) -> DwCase:
    case.rq = Requant(mult=case.rq.mult, shift=case.rq.shift, in_offset=in_offset,
                      out_offset=out_offset, act_min=act[0], act_max=act[1])
    case.x[...] = -128 if in_offset == 128 else 127
    return case


DW3X3_EDGE_CASES = {
    **{f"channels_{c}": (lambda c=c: make_3x3_case((6, 5), channels=c, seed=c))
       for c in (1, 3, 4, 5, 64, 67)},
    "kws_25x5_64": lambda: make_3x3_case((25, 5), channels=64, seed=11),
    # planes above 1024 halfwords: one plane at a time instead of two channels together
    "large_plane_odd_channels": lambda: make_3x3_case((40, 33), channels=3, seed=26),
    "large_plane_stride_2": lambda: make_3x3_case((64, 63), (2, 2), channels=2, seed=27),
    "stride_2_odd_size": lambda: make_3x3_case((7, 9), (2, 2), seed=12),
    "stride_2_tf_same_pad": lambda: make_3x3_case((8, 8), (2, 2), (0, 0, 1, 1), seed=13),
    "stride_2_1_mixed": lambda: make_3x3_case((5, 6), (2, 1), (1, 0, 1, 2), seed=14),
    "asymmetric_pad": lambda: make_3x3_case((5, 7), pad=(0, 2, 2, 0), seed=15),
    "one_pixel_image": lambda: make_3x3_case((1, 1), seed=16),
    "one_pixel_no_pad": lambda: make_3x3_case((1, 1), pad=(0, 0, 0, 0), seed=17, out_hw=(1, 1)),
    "one_row": lambda: make_3x3_case((1, 9), seed=18),
    "no_padding": lambda: make_3x3_case((6, 6), pad=(0, 0, 0, 0), seed=19),
    "padding_larger_than_kernel": lambda: make_3x3_case((3, 3), pad=(4, 5, 4, 3), seed=20),
    "window_misses_input": lambda: make_3x3_case((2, 2), pad=(0, 0, 5, 5), seed=21),
    "in_offset_128_extremes": lambda: _saturating(make_3x3_case((4, 5), seed=22), 128, 127),
    "in_offset_-127_extremes": lambda: _saturating(make_3x3_case((4, 5), seed=23), -127, -128),
    "relu_clamp": lambda: _saturating(make_3x3_case((4, 5), seed=24), 5, -3, act=(-3, 90)),
    "portable_fallback_shift_0": lambda: make_3x3_case((5, 5), seed=25, friendly=False),
}


@pytest.mark.parametrize("fn", [DW3X3, "sg_dwconv2d_s8"])
@pytest.mark.parametrize("name", sorted(DW3X3_EDGE_CASES))
def test_dwconv2d_3x3_edge_cases(sgk, name: str, fn: str) -> None:
    case = DW3X3_EDGE_CASES[name]()
    np.testing.assert_array_equal(case.run(sgk, fn=fn), case.reference())


@pytest.mark.parametrize("shift,bias", [(0, 0), (-23, 0), (-8, (1 << 30) - 255 * 128 * 9),
                                         (-8, -(1 << 30) + 255 * 128 * 9)])
def test_dwconv2d_3x3_outside_fast_output_stage(sgk, shift: int, bias: int) -> None:
    """Shifts outside [-22, -1] or a bias without headroom for 2 * acc take the portable loop
    (and the fast stage's limits are exactly where sg_dw_fast_ok puts them)."""
    case = make_3x3_case((5, 6), channels=6, seed=30)
    shifts = case.rq.shift.copy()
    shifts[2] = shift
    # mult 2^20 keeps outputs inside int8 with the large bias
    case.rq = dataclasses.replace(case.rq, shift=shifts, mult=np.full(6, 1 << 20, np.int32))
    case.bias = np.full(6, bias, np.int32)
    np.testing.assert_array_equal(case.run(sgk, fn=DW3X3), case.reference())


def test_dwconv2d_3x3_scratch_size_matches_python(sgk) -> None:
    from slimgen.lower.kernels import dw3x3_scratch

    rng = np.random.default_rng(7)
    for _ in range(200):
        oh, ow, sh, sw = (int(v) for v in rng.integers(1, 40, size=4))
        win = Window((oh * sh, ow * sw), (3, 3), (sh, sw), (1, 1, 1, 1), (1, 1), (oh, ow))
        case = make_case(win, 2, 1, 0)
        keep: list = []
        p = sgk.ffi.new("sg_dwconv2d_s8_params *", sgk._window_params(
            keep, case.x, case.w, case.bias, case.rq, {"n": 1, "h": 3, "w": 3, "c": 2},
            **win.conv_geometry))
        assert sgk.lib.sg_dwconv2d_s8_3x3_scratch_size(p) == dw3x3_scratch(oh, ow, sh, sw)


@pytest.mark.parametrize("what", ["ch_mult_2", "dilation_2", "kernel_2x3"])
def test_dwconv2d_3x3_rejects_other_shapes(sgk, what: str) -> None:
    case = {
        "ch_mult_2": lambda: make_case(conv_window((5, 5), (3, 3), pad=(1, 1, 1, 1)), 3, 2, 0),
        "dilation_2": lambda: make_case(conv_window((5, 5), (3, 3), dilation=(2, 1)), 3, 1, 0),
        "kernel_2x3": lambda: make_case(conv_window((5, 5), (2, 3)), 3, 1, 0),
    }[what]()
    assert status_of(case.run, sgk, fn=DW3X3) == SG_ERR_UNSUPPORTED


def test_dwconv2d_3x3_rejects_short_scratch(sgk) -> None:
    case = make_3x3_case((5, 5), channels=3)
    assert status_of(case.run, sgk, fn=DW3X3, scratch_size=8) == SG_ERR_SCRATCH


def test_dwconv2d_scratch_size_matches_python(sgk) -> None:
    from slimgen.lower.kernels import dw_scratch

    rng = np.random.default_rng(8)
    for _ in range(200):
        kh, kw, oh, ow, sh, sw, dh, dw = (int(v) for v in rng.integers(1, 9, size=8))
        in_hw = ((oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1)
        win = Window(in_hw, (kh, kw), (sh, sw), (0, 0, 0, 0), (dh, dw), (oh, ow))
        case = make_case(win, 2, 1, 0)
        keep: list = []
        p = sgk.ffi.new("sg_dwconv2d_s8_params *", sgk._window_params(
            keep, case.x, case.w, case.bias, case.rq, {"n": 1, "h": kh, "w": kw, "c": 2},
            **win.conv_geometry))
        p.ch_mult = 1
        assert sgk.lib.sg_dwconv2d_s8_scratch_size(p) == dw_scratch((kh, kw), (oh, ow), (sh, sw),
                                                                   (dh, dw))
