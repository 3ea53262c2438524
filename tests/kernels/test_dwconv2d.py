"""sg_dwconv2d_s8 against ref.conv.dwconv2d, and ref.conv.dwconv2d against plain loops."""

from __future__ import annotations

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


@st.composite
def dw_cases(draw: st.DrawFn, max_in: int = 9) -> DwCase:
    win = draw(conv_windows(max_in=max_in))
    return make_case(
        win,
        draw(st.integers(1, 9)),
        draw(st.integers(1, 3)),
        draw(seeds()),
        batch=draw(st.integers(1, 2)),
    )


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
