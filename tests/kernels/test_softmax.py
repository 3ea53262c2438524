"""sg_softmax_s8 against ref.softmax.softmax, and ref.softmax.softmax against float softmax."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref
from slimgen.quant.multiplier import calculate_input_radius, preprocess_softmax_scaling
from slimgen.ref import softmax as ref_softmax

from tests.kernels.harness import KERNEL_SETTINGS, SG_ERR_ARG, random_int8, status_of
from tests.kernels.strategies import seeds


def softmax_params(input_scale: float) -> dict[str, int]:
    """What the compiler derives for an int8 softmax input of this scale (beta = 1)."""
    mult, left_shift = preprocess_softmax_scaling(1.0, input_scale, 5)
    return {
        "mult": mult,
        "left_shift": left_shift,
        "diff_min": -calculate_input_radius(5, left_shift),
    }


def make_input(rng: np.random.Generator, rows: int, depth: int) -> np.ndarray:
    """Mostly spread values; sometimes a narrow band (many near-equal logits) or a constant row."""
    kind = rng.integers(0, 3)
    if kind == 0:
        return random_int8(rng, (rows, depth))
    if kind == 1:
        lo = int(rng.integers(-128, 120))
        return random_int8(rng, (rows, depth), lo=lo, hi=lo + int(rng.integers(0, 8)))
    return np.full((rows, depth), int(rng.integers(-128, 128)), np.int8)


@st.composite
def softmax_cases(draw: st.DrawFn):
    rng = np.random.default_rng(draw(seeds()))
    depth = draw(st.one_of(st.integers(1, 40), st.integers(41, ref_softmax.MAX_DEPTH)))
    input_scale = float(np.exp(rng.uniform(np.log(1e-3), np.log(40.0))))
    return make_input(rng, draw(st.integers(1, 2)), depth), softmax_params(input_scale)


@KERNEL_SETTINGS
@given(softmax_cases())
def test_softmax_matches_reference(sgk, case) -> None:
    x, params = case
    np.testing.assert_array_equal(sgk.softmax(x, **params), ref.softmax.softmax(x, **params))


def test_softmax_many_rows_in_one_call(sgk) -> None:
    """rows > 1 steps through the rows; the harness otherwise calls one row at a time."""
    rng = np.random.default_rng(5)
    x = random_int8(rng, (7, 33))
    params = softmax_params(0.05)
    out = sgk.softmax(x.reshape(1, -1), **params, overrides={"rows": 7, "depth": 33})
    np.testing.assert_array_equal(out.reshape(7, 33), ref.softmax.softmax(x, **params))


EDGE_CASES = {
    "depth_1": (np.array([[5]], np.int8), 0.1),
    "one_hot": (np.array([[-128] * 9 + [127]], np.int8), 0.1),
    "max_depth_equal_values": (np.zeros((1, ref_softmax.MAX_DEPTH), np.int8), 0.1),
    "512_equal_values": (np.full((1, 512), 7, np.int8), 0.02),
    "511_equal_values": (np.full((1, 511), -3, np.int8), 0.02),
    "input_scale_large": (np.array([[0, 1, -1, 3]], np.int8), 1000.0),
    "input_scale_tiny": (np.arange(-128, 128, 16, dtype=np.int8).reshape(1, -1), 1e-6),
    "full_int8_range": (np.arange(-128, 128, dtype=np.int8).reshape(1, -1), 0.0625),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_softmax_edge_cases(sgk, name: str) -> None:
    """Includes rows of 512+ equal values, whose output exponent exceeds 31: TFLite shifts by it
    (undefined), slimgen rounds the probability to 0 as exact arithmetic does."""
    x, input_scale = EDGE_CASES[name]
    params = softmax_params(input_scale)
    np.testing.assert_array_equal(sgk.softmax(x, **params), ref.softmax.softmax(x, **params))


def test_softmax_fixed_point_constants_are_derived() -> None:
    """Each constant in the C and the reference is round(2^fraction_bits * its real value)."""
    assert ref_softmax.EXP_MINUS_POW2 == tuple(
        round(2**31 * math.exp(-(2.0**k))) for k in range(-2, 5)
    )
    assert ref_softmax.EXP_MINUS_ONE_EIGHTH == round(2**31 * math.exp(-1 / 8))
    assert ref_softmax.ONE_THIRD == round(2**31 / 3)
    assert ref_softmax.CONSTANT_48_OVER_17 == round(2**29 * 48 / 17)
    assert ref_softmax.CONSTANT_NEG_32_OVER_17 == round(2**29 * -32 / 17)


@KERNEL_SETTINGS
@given(seeds(), st.integers(1, 100), st.floats(0.01, 1.0))
def test_softmax_reference_is_close_to_float(seed: int, depth: int, input_scale: float) -> None:
    """Sanity of the algorithm, not bit-exactness: the int8 result is the float softmax of the
    dequantized input, quantized to scale 1/256 and zero point -128, within one step (it is
    exact in all but ~0.1% of random rows)."""
    x = random_int8(np.random.default_rng(seed), (1, depth))
    real = x.astype(np.float64) * input_scale
    p = np.exp(real - real.max())
    p /= p.sum()
    expected = np.clip(np.round(p * 256) - 128, -128, 127)
    got = ref.softmax.softmax(x, **softmax_params(input_scale)).astype(np.float64)
    assert np.abs(got - expected).max() <= 1


REJECTED = {
    "rows_0": {"rows": 0},
    "depth_0": {"depth": 0},
    "depth_4096": {"depth": 4096},
    "left_shift_31": {"left_shift": 31},
    "negative_mult": {"mult": -1},
    "positive_diff_min": {"diff_min": 1},
    "diff_min_overflows_shift": {"left_shift": 23, "diff_min": -256},
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_softmax_rejects_bad_arguments(sgk, name: str) -> None:
    x = np.zeros((1, 4096), np.int8)
    params = softmax_params(0.1)
    assert status_of(sgk.softmax, x, **params, overrides=REJECTED[name]) == SG_ERR_ARG
