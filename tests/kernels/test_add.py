"""sg_add_s8 against ref.eltwise.add, and ref.eltwise.add against float addition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref
from slimgen.quant.multiplier import quantize_multiplier

from tests.kernels.harness import (
    KERNEL_SETTINGS,
    SG_ERR_ARG,
    random_int8,
    random_out_stage,
    random_zero_point_offset,
    status_of,
)
from tests.kernels.strategies import seeds

LEFT_SHIFT = 20


def tflite_add_params(s1: float, s2: float, s_out: float, rng: np.random.Generator) -> dict:
    """TFLite's Prepare for int8 ADD: inputs rescaled to twice the larger input scale."""
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << LEFT_SHIFT) * s_out))
    out_offset, act_min, act_max = random_out_stage(rng)
    return {
        "left_shift": LEFT_SHIFT,
        "in1_offset": random_zero_point_offset(rng),
        "in1_mult": m1,
        "in1_shift": sh1,
        "in2_offset": random_zero_point_offset(rng),
        "in2_mult": m2,
        "in2_shift": sh2,
        "out_offset": out_offset,
        "out_mult": mo,
        "out_shift": sho,
        "act_min": act_min,
        "act_max": act_max,
    }


def raw_add_params(rng: np.random.Generator) -> dict:
    """Any parameters sg_add_s8 accepts, extremes included: exercises every rounding path."""

    def mult() -> int:
        return int(rng.choice([0, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))

    out_offset, act_min, act_max = random_out_stage(rng)
    return {
        "left_shift": int(rng.choice([0, 20, 22, int(rng.integers(0, 23))])),
        "in1_offset": random_zero_point_offset(rng),
        "in1_mult": mult(),
        "in1_shift": int(rng.integers(-31, 1)),
        "in2_offset": random_zero_point_offset(rng),
        "in2_mult": mult(),
        "in2_shift": int(rng.integers(-31, 1)),
        "out_offset": out_offset,
        "out_mult": mult(),
        "out_shift": int(rng.integers(-31, 31)),
        "act_min": act_min,
        "act_max": act_max,
    }


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


@st.composite
def add_cases(draw: st.DrawFn):
    rng = np.random.default_rng(draw(seeds()))
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 5)),
        draw(st.integers(1, 5)),
        draw(st.integers(1, 7)),
    )
    if draw(st.booleans()):
        params = tflite_add_params(*(log_uniform(rng, 1e-3, 1.0) for _ in range(3)), rng)
    else:
        params = raw_add_params(rng)
    return random_int8(rng, shape), random_int8(rng, shape), params


@KERNEL_SETTINGS
@given(add_cases())
def test_add_matches_reference(sgk, case) -> None:
    x1, x2, params = case
    np.testing.assert_array_equal(sgk.add(x1, x2, **params), ref.eltwise.add(x1, x2, **params))


@pytest.mark.parametrize("seed", range(4))
def test_add_extreme_inputs(sgk, seed: int) -> None:
    """Every int8 pair once, with extreme offsets: the largest shifted operands
    (|x + offset| = 255, << 22) the kernel admits."""
    rng = np.random.default_rng(seed)
    values = np.arange(-128, 128, dtype=np.int8)
    x1, x2 = (v.reshape(1, -1) for v in np.meshgrid(values, values))
    params = raw_add_params(rng) | {"left_shift": 22, "in1_offset": 128, "in2_offset": -127}
    np.testing.assert_array_equal(sgk.add(x1, x2, **params), ref.eltwise.add(x1, x2, **params))


@KERNEL_SETTINGS
@given(seeds())
def test_add_reference_is_within_one_step_of_float(seed: int) -> None:
    """With TFLite's parameters the integer add is the float add, quantized, to one step."""
    rng = np.random.default_rng(seed)
    s1, s2, s_out = (log_uniform(rng, 1e-3, 1.0) for _ in range(3))
    params = tflite_add_params(s1, s2, s_out, rng) | {"act_min": -128, "act_max": 127}
    x1, x2 = random_int8(rng, (1, 64)), random_int8(rng, (1, 64))
    real = s1 * (x1.astype(np.float64) + params["in1_offset"]) + s2 * (
        x2.astype(np.float64) + params["in2_offset"]
    )
    expected = np.clip(np.round(real / s_out) + params["out_offset"], -128, 127)
    got = ref.eltwise.add(x1, x2, **params).astype(np.float64)
    assert np.abs(got - expected).max() <= 1


REJECTED = {
    "size_0": {"size": 0},
    "left_shift_23": {"left_shift": 23},
    "in1_shift_positive": {"in1_shift": 1},
    "in2_mult_negative": {"in2_mult": -5},
    "out_shift_31": {"out_shift": 31},
    "in1_offset_129": {"in1_offset": 129},
    "out_offset_-129": {"out_offset": -129},
    "act_min_above_act_max": {"act_min": 1, "act_max": 0},
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_add_rejects_bad_arguments(sgk, name: str) -> None:
    rng = np.random.default_rng(0)
    x = random_int8(rng, (1, 4))
    params = tflite_add_params(0.1, 0.2, 0.3, rng)
    assert status_of(sgk.add, x, x, **params, overrides=REJECTED[name]) == SG_ERR_ARG


@pytest.mark.parametrize("shifts", [(-1, -1, -1), (-31, -1, -31), (-1, -31, -20), (-7, -9, -1),
                                    (0, 0, 0), (0, -1, -19), (-3, 0, 0)])
@pytest.mark.parametrize("mults", [((1 << 31) - 1,) * 3, (0, 1 << 30, (1 << 31) - 1),
                                   (1 << 30, (1 << 31) - 1, 1 << 30)])
def test_add_extremes_where_the_dsp_path_runs(sgk, shifts, mults) -> None:
    """Every int8 pair once where the dsp-emulated build takes its SMMULR path (left_shift <= 21,
    every shift <= 0) at its edges: left_shift 21, extreme offsets, rs = 0, 1 and 31, mult 0 and
    2^31 - 1 (both inputs at shift 0 and full multipliers: the largest sum the path admits)."""
    values = np.arange(-128, 128, dtype=np.int8)
    x1, x2 = (v.reshape(1, -1) for v in np.meshgrid(values, values))
    for offsets, act in (((128, -127), (-128, 127)), ((-127, 128), (-20, 90))):
        params = {"left_shift": 21, "in1_offset": offsets[0], "in1_mult": mults[0],
                  "in1_shift": shifts[0], "in2_offset": offsets[1], "in2_mult": mults[1],
                  "in2_shift": shifts[1], "out_offset": -7, "out_mult": mults[2],
                  "out_shift": shifts[2], "act_min": act[0], "act_max": act[1]}
        np.testing.assert_array_equal(sgk.add(x1, x2, **params),
                                      ref.eltwise.add(x1, x2, **params))
