"""sg_avgpool2d_s8 against ref.pool.avgpool2d, and ref.pool.avgpool2d against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref

from tests.kernels.harness import KERNEL_SETTINGS, SG_ERR_ARG, status_of
from tests.kernels.strategies import Window, seeds, torch_pool_windows
from tests.kernels.test_maxpool2d import (
    EDGE_WINDOWS,
    PoolCase,
    make_case,
    pool_cases,
    pool_window,
    torch_nchw,
)


def reference(case: PoolCase) -> np.ndarray:
    return ref.pool.avgpool2d(case.x, **case.common, **case.avg_options)


@KERNEL_SETTINGS
@given(pool_cases())
def test_avgpool2d_matches_reference(sgk, case: PoolCase) -> None:
    np.testing.assert_array_equal(case.run(sgk, "sg_avgpool2d_s8"), reference(case))


@pytest.mark.parametrize("name", sorted(EDGE_WINDOWS))
@pytest.mark.parametrize("count_include_pad, pad_value", [(0, 0), (1, -128), (1, 127)])
def test_avgpool2d_edge_cases(sgk, name: str, count_include_pad: int, pad_value: int) -> None:
    case = make_case(EDGE_WINDOWS[name], 3, seed=pad_value & 0xFF)
    case.count_include_pad, case.pad_value = count_include_pad, pad_value
    np.testing.assert_array_equal(case.run(sgk, "sg_avgpool2d_s8"), reference(case))


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1, 1, 0, 0], 1),
        ([-1, -1, 0, 0], -1),
        ([3, 2, 0, 0], 1),
        ([-3, -2, 0, 0], -1),
        ([-128, -128, -128, -127], -128),
        ([127, 127, 127, 126], 127),
        ([1, -1, 0, 0], 0),
    ],
)
def test_avgpool2d_rounds_half_away_from_zero(sgk, values: list[int], expected: int) -> None:
    """TFLite's rounding: sum / count with halves away from zero (0.5 -> 1, -0.5 -> -1)."""
    x = np.array(values, np.int8).reshape(1, 2, 2, 1)
    case = PoolCase(x, pool_window((2, 2), (2, 2), (2, 2)), -128, 127)
    assert case.run(sgk, "sg_avgpool2d_s8").item() == expected
    assert reference(case).item() == expected


def round_half_away(v: np.ndarray) -> np.ndarray:
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


@KERNEL_SETTINGS
@given(torch_pool_windows(), st.integers(0, 1), seeds())
def test_avgpool2d_reference_matches_torch(win: Window, count_include_pad: int, seed: int):
    """With zero point 0 the padding torch adds (0.0) is pad_value, and averages of integers in
    float64 are exact enough to round: torch's AvgPool2d, including its count_include_pad window
    clipping under ceil_mode, is an independent oracle."""
    case = make_case(win, 3, seed)
    case.count_include_pad, case.pad_value = count_include_pad, 0
    ceil = win.out_hw != pool_window(win.in_hw, win.kernel, win.stride, win.pad).out_hw
    avg = F.avg_pool2d(
        torch_nchw(case.x),
        win.kernel,
        win.stride,
        win.pad[:2],
        ceil_mode=ceil,
        count_include_pad=bool(count_include_pad),
    )
    expected = np.clip(round_half_away(avg.permute(0, 2, 3, 1).numpy()), case.act_min, case.act_max)
    np.testing.assert_array_equal(reference(case), expected)


@pytest.mark.parametrize(
    "overrides",
    [{"count_include_pad": 2}, {"pad_value": 128}],
    ids=["count_include_pad_2", "pad_value_128"],
)
def test_avgpool2d_rejects_bad_arguments(sgk, overrides) -> None:
    case = make_case(pool_window((6, 6), (3, 3), (1, 1), (1, 1, 1, 1)), 3, seed=0)
    assert status_of(case.run, sgk, "sg_avgpool2d_s8", overrides=overrides) == SG_ERR_ARG


def test_avgpool2d_rejects_windows_above_2_pow_22_taps(sgk) -> None:
    """A consistent global pool, but 2049 x 2048 > 2^22 taps could overflow the int32 sum."""
    x = np.zeros((1, 2049, 2048, 1), np.int8)
    case = PoolCase(x, pool_window((2049, 2048), (2049, 2048), (1, 1)), -128, 127)
    assert status_of(case.run, sgk, "sg_avgpool2d_s8") == SG_ERR_ARG
    smaller = PoolCase(x[:, :2048], pool_window((2048, 2048), (2048, 2048), (1, 1)), -128, 127)
    assert status_of(smaller.run, sgk, "sg_avgpool2d_s8") == 0
