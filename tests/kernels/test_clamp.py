"""sg_clamp_s8 against ref.eltwise.clamp."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref

from tests.kernels.harness import KERNEL_SETTINGS, SG_ERR_ARG, random_int8, status_of
from tests.kernels.strategies import seeds


@KERNEL_SETTINGS
@given(st.integers(1, 300), st.integers(-128, 127), st.integers(-128, 127), seeds())
def test_clamp_matches_reference(sgk, size: int, a: int, b: int, seed: int) -> None:
    act_min, act_max = min(a, b), max(a, b)
    x = random_int8(np.random.default_rng(seed), (2, size))
    np.testing.assert_array_equal(
        sgk.clamp(x, act_min, act_max), ref.eltwise.clamp(x, act_min, act_max)
    )


@pytest.mark.parametrize("act_min, act_max", [(-128, 127), (0, 127), (-128, -128), (127, 127)])
def test_clamp_every_value(sgk, act_min: int, act_max: int) -> None:
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, -1)
    expected = np.minimum(np.maximum(np.arange(-128, 128), act_min), act_max)
    np.testing.assert_array_equal(sgk.clamp(x, act_min, act_max)[0], expected)
    np.testing.assert_array_equal(ref.eltwise.clamp(x, act_min, act_max)[0], expected)


@pytest.mark.parametrize(
    "overrides",
    [{"size": 0}, {"act_min": 3, "act_max": 2}, {"act_max": 128}, {"act_min": -129}],
    ids=["size_0", "inverted", "act_max_128", "act_min_-129"],
)
def test_clamp_rejects_bad_arguments(sgk, overrides) -> None:
    x = np.zeros((1, 4), np.int8)
    assert status_of(sgk.clamp, x, -128, 127, overrides=overrides) == SG_ERR_ARG
