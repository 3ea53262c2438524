"""quantize_multiplier, preprocess_softmax_scaling and calculate_input_radius: TFLite's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from slimgen.quant.multiplier import (
    calculate_input_radius,
    preprocess_softmax_scaling,
    quantize_multiplier,
)
from slimgen.ref.requant import requantize


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.75, (3 << 29, 0)),
        (2.0**-32, (1 << 30, -31)),  # the smallest shift kept
        (2.0**-33, (0, 0)),  # would need shift -32: every result rounds to 0 anyway
        (2.0**29, (1 << 30, 30)),  # the largest shift allowed
        (1.0 - 2.0**-40, (1 << 30, 1)),  # mantissa rounds to 2^31: renormalized
        (0.5 + 2.0**-32, ((1 << 30) + 1, 0)),  # 2^30 + 0.5: ties away from zero (std::round)...
        (0.5 + 5 * 2.0**-32, ((1 << 30) + 3, 0)),  # ...2^30 + 2.5: where Python's round() gives +2
    ],
)
def test_quantize_multiplier_edges(real: float, expected: tuple[int, int]) -> None:
    assert quantize_multiplier(real) == expected


@pytest.mark.parametrize("real", [2.0**30, 1e12, -0.5, math.inf, math.nan])
def test_quantize_multiplier_refuses(real: float) -> None:
    with pytest.raises(ValueError):
        quantize_multiplier(real)


def test_quantize_multiplier_round_trip_accuracy() -> None:
    """mult * 2^(shift - 31) is within half a Q31 step of the real value: relative 2^-31."""
    rng = np.random.default_rng(0)
    for real in np.exp(rng.uniform(np.log(2.0**-31), np.log(2.0**29), 5000)):
        mult, shift = quantize_multiplier(float(real))
        assert 1 << 30 <= mult < 1 << 31 and -31 <= shift <= 30
        assert abs(mult * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


def test_quantized_multiplier_requantizes_like_the_real_scale() -> None:
    """Through requantize, the pair scales an accumulator like the real number, to within one
    step (double rounding can add half a step to the half of the final rounding)."""
    rng = np.random.default_rng(1)
    for real in np.exp(rng.uniform(np.log(1e-6), np.log(8.0), 300)):
        mult, shift = quantize_multiplier(float(real))
        acc = rng.integers(-(1 << 20), 1 << 20, 200)
        got = requantize(acc, mult, shift)
        assert np.abs(got - acc * real).max() <= 1.0


def test_preprocess_softmax_scaling() -> None:
    assert preprocess_softmax_scaling(1.0, 0.1) == (1717986918, 23)
    # beta * scale * 2^26 above 2^31 - 1 is capped; shift 31 saturates like current TFLite.
    assert preprocess_softmax_scaling(1.0, 1000.0) == ((1 << 31) - 1, 30)
    assert preprocess_softmax_scaling(2.0, 0.05) == preprocess_softmax_scaling(1.0, 0.1)
    with pytest.raises(ValueError):
        preprocess_softmax_scaling(1.0, 1e-9)  # multiplier below one


@pytest.mark.parametrize("left_shift, radius", [(0, 31 << 26), (23, 248), (26, 31), (30, 1)])
def test_calculate_input_radius(left_shift: int, radius: int) -> None:
    assert calculate_input_radius(5, left_shift) == radius


@pytest.mark.parametrize("scale", [1e-3, 0.02, 0.1, 0.5, 4.0, 40.0])
def test_softmax_radius_keeps_scaled_differences_in_int32(scale: float) -> None:
    """diff_min = -radius is what lets the kernel shift every kept difference left in int32."""
    _, left_shift = preprocess_softmax_scaling(1.0, scale)
    radius = calculate_input_radius(5, left_shift)
    assert radius << left_shift <= 31 << 26 < 2**31
    assert radius <= (2**31 - 1) >> left_shift
