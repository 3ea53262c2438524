"""sg_conv2d_s8 against ref.conv.conv2d, and ref.conv.conv2d against plain loops."""

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
    SG_ERR_SCRATCH,
    random_bias,
    random_int8,
    random_requant,
    status_of,
)
from tests.kernels.strategies import Window, conv_window, conv_windows, seeds


@dataclass
class ConvCase:
    x: np.ndarray  # (N, H, W, C_in)
    w: np.ndarray  # OHWI
    bias: np.ndarray | None
    rq: Requant
    win: Window

    def reference(self) -> np.ndarray:
        return ref.conv.conv2d(self.x, self.w, self.bias, self.rq, **self.win.conv_geometry)

    def run(self, sgk, fn: str = "sg_conv2d_s8", **call_options) -> np.ndarray:
        return sgk.conv2d(
            self.x, self.w, self.bias, self.rq, fn=fn, **self.win.conv_geometry, **call_options
        )


def make_case(win: Window, c_in: int, c_out: int, seed: int, batch: int = 1) -> ConvCase:
    rng = np.random.default_rng(seed)
    taps = win.kernel[0] * win.kernel[1] * c_in
    typical_acc = np.sqrt(taps) * 100 * 73
    x = random_int8(rng, (batch, *win.in_hw, c_in))
    w = random_int8(rng, (c_out, *win.kernel, c_in), lo=-127)
    return ConvCase(
        x, w, random_bias(rng, c_out, typical_acc), random_requant(rng, c_out, typical_acc), win
    )


@st.composite
def conv_cases(draw: st.DrawFn, max_in: int = 9) -> ConvCase:
    win = draw(conv_windows(max_in=max_in))
    return make_case(
        win,
        draw(st.integers(1, 7)),
        draw(st.integers(1, 7)),
        draw(seeds()),
        batch=draw(st.integers(1, 2)),
    )


@KERNEL_SETTINGS
@given(conv_cases())
def test_conv2d_matches_reference(sgk, case: ConvCase) -> None:
    out = case.run(sgk)
    np.testing.assert_array_equal(out, case.reference())


def _saturating_case() -> ConvCase:
    """Every product at its maximum, 255 * 127, and the bias chosen so the accumulator lands
    exactly on INT32_MAX: the C's int32 accumulator at its limit."""
    case = make_case(conv_window((3, 3), (3, 3)), 5, 2, seed=7)
    case.x[:] = 127
    case.w[:] = 127
    taps = 3 * 3 * 5
    case.bias = np.full(2, (1 << 31) - 1 - taps * 255 * 127, np.int32)
    case.rq = Requant(
        mult=np.array([(1 << 31) - 1, 1 << 30]),
        shift=np.array([-31, -24]),
        in_offset=128,
        out_offset=127,
        act_min=-128,
        act_max=127,
    )
    return case


def _with_rq(case: ConvCase, **fields) -> ConvCase:
    c = case.rq.channels
    values = {
        "mult": case.rq.mult,
        "shift": case.rq.shift,
        "in_offset": case.rq.in_offset,
        "out_offset": case.rq.out_offset,
        "act_min": case.rq.act_min,
        "act_max": case.rq.act_max,
    }
    values.update({k: np.full(c, v) if k in ("mult", "shift") else v for k, v in fields.items()})
    case.rq = Requant(**values)
    return case


EDGE_CASES = {
    "padding_larger_than_kernel": lambda: make_case(
        conv_window((3, 4), (2, 2), pad=(4, 3, 4, 5)), 3, 4, 1
    ),
    "stride_larger_than_kernel": lambda: make_case(
        conv_window((9, 8), (1, 2), stride=(3, 4)), 2, 3, 2
    ),
    "window_misses_input": lambda: make_case(conv_window((2, 2), (1, 1), out_hw=(5, 4)), 1, 2, 3),
    "dilated_beyond_input": lambda: make_case(
        conv_window((3, 3), (3, 2), pad=(1, 1, 1, 1), dilation=(3, 4)), 2, 2, 4
    ),
    "c_in_1_c_out_1": lambda: make_case(conv_window((5, 7), (3, 1)), 1, 1, 5),
    "odd_channels": lambda: make_case(
        conv_window((4, 5), (2, 3), stride=(2, 1), pad=(1, 0, 0, 2)), 7, 5, 6
    ),
    "zero_points_-128_127": lambda: _with_rq(
        make_case(conv_window((4, 4), (3, 3), pad=(1, 1, 1, 1)), 3, 3, 8),
        in_offset=128,
        out_offset=127,
    ),
    "zero_points_127_-128": lambda: _with_rq(
        make_case(conv_window((4, 4), (3, 3), pad=(1, 1, 1, 1)), 3, 3, 9),
        in_offset=-127,
        out_offset=-128,
    ),
    "shift_-31": lambda: _with_rq(make_case(conv_window((3, 3), (3, 3)), 4, 3, 10), shift=-31),
    "shift_30": lambda: _with_rq(make_case(conv_window((3, 3), (3, 3)), 4, 3, 11), shift=30),
    "mult_2^31-1": lambda: _with_rq(
        make_case(conv_window((3, 3), (3, 3)), 4, 3, 12), mult=(1 << 31) - 1
    ),
    "mult_0": lambda: _with_rq(make_case(conv_window((3, 3), (3, 3)), 4, 3, 13), mult=0),
    "accumulator_at_int32_max": _saturating_case,
    "relu6_like_clamp": lambda: _with_rq(
        make_case(conv_window((5, 5), (3, 3)), 3, 4, 14), act_min=-20, act_max=40, out_offset=-20
    ),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_conv2d_edge_cases(sgk, name: str) -> None:
    case = EDGE_CASES[name]()
    out = case.run(sgk)
    np.testing.assert_array_equal(out, case.reference())


def conv2d_direct(case: ConvCase) -> np.ndarray:
    """The definition in sg_kernels.h, one multiply-add at a time."""
    (n, h, w, c_in), (c_out, kh, kw, _) = case.x.shape, case.w.shape
    (sh, sw), (dh, dw), (top, left) = case.win.stride, case.win.dilation, case.win.pad[:2]
    ho, wo = case.win.out_hw
    acc = np.zeros((n, ho, wo, c_out), np.int64)
    for b, oy, ox, o in itertools.product(range(n), range(ho), range(wo), range(c_out)):
        total = int(case.bias[o]) if case.bias is not None else 0
        for ky, kx, i in itertools.product(range(kh), range(kw), range(c_in)):
            iy, ix = oy * sh - top + ky * dh, ox * sw - left + kx * dw
            if 0 <= iy < h and 0 <= ix < w:
                x = int(case.x[b, iy, ix, i]) + case.rq.in_offset
                total += x * int(case.w[o, ky, kx, i])
        acc[b, oy, ox, o] = total
    return ref.requant.finish(acc, case.rq)


@settings(KERNEL_SETTINGS, max_examples=min(40, KERNEL_SETTINGS.max_examples))
@given(conv_cases(max_in=5))
def test_conv2d_reference_matches_direct_loops(case: ConvCase) -> None:
    """The vectorized reference (padding by zeros, im2col, float64 matmul) is the spec only if it
    equals the header's definition, checked here in plain Python on small shapes."""
    np.testing.assert_array_equal(case.reference(), conv2d_direct(case))


REJECTED = {
    "batch_2": {"in": {"n": 2}},
    "filter_c_mismatch": {"filter": {"c": 4}},
    "out_c_mismatch": {"out": {"c": 3}},
    "zero_height": {"in": {"h": 0}},
    "zero_stride": {"stride_w": 0},
    "zero_dilation": {"dil_h": 0},
    "negative_pad": {"pad_top": -1},
    "in_offset_129": {"rq": {"in_offset": 129}},
    "act_min_above_act_max": {"rq": {"act_min": 5, "act_max": 4}},
    "null_weights": {"weights": None},
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_conv2d_rejects_bad_arguments(sgk, name: str) -> None:
    case = make_case(conv_window((4, 4), (3, 3), pad=(1, 1, 1, 1)), 3, 2, seed=0)
    overrides = {k: (sgk.ffi.NULL if v is None else v) for k, v in REJECTED[name].items()}
    assert status_of(case.run, sgk, overrides=overrides) == SG_ERR_ARG


def test_conv2d_rejects_short_scratch(sgk) -> None:
    case = make_case(conv_window((4, 4), (3, 3)), 3, 2, seed=0)
    assert status_of(case.run, sgk, scratch_size=-1) == SG_ERR_SCRATCH


@pytest.mark.parametrize("field, value", [("shift", 31), ("shift", -32), ("mult", -1)])
def test_conv2d_rejects_out_of_range_requant(sgk, field: str, value: int) -> None:
    """Shifts outside [-31, 30] would be undefined shifts in C; the kernel refuses them, even in
    the last channel only. (Requant() refuses them too, so the bad array bypasses it; the local
    `bad` keeps the buffer alive across the call.)"""
    case = make_case(conv_window((3, 3), (1, 1)), 2, 3, seed=0)
    bad = np.array(getattr(case.rq, field), np.int32)
    bad[2] = value
    overrides = {"rq": {field: sgk.ffi.from_buffer("int32_t[]", bad)}}
    assert status_of(case.run, sgk, overrides=overrides) == SG_ERR_ARG
