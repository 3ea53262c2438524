"""sg_transpose_nhwc_nchw_s8 against ref.layout.transpose_nhwc_nchw."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref

from tests.kernels.harness import KERNEL_SETTINGS, SG_ERR_ARG, random_int8, status_of
from tests.kernels.strategies import seeds

shapes = st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 9), st.integers(1, 9))


@KERNEL_SETTINGS
@given(shapes, seeds())
def test_transpose_matches_reference(sgk, shape, seed: int) -> None:
    x = random_int8(np.random.default_rng(seed), shape)
    np.testing.assert_array_equal(sgk.transpose_nhwc_nchw(x), ref.layout.transpose_nhwc_nchw(x))


@KERNEL_SETTINGS
@given(shapes, seeds())
def test_transpose_reference_is_nchw_flattening(shape, seed: int) -> None:
    """Element (h, w, c) lands at c * H * W + h * W + w, what torch's flatten of NCHW reads."""
    x = random_int8(np.random.default_rng(seed), shape)
    n, h, w, c = shape
    out = ref.layout.transpose_nhwc_nchw(x)
    for b, y, z, ch in itertools.product(range(n), range(h), range(w), range(c)):
        assert out[b, ch * h * w + y * w + z] == x[b, y, z, ch]


@pytest.mark.parametrize(
    "overrides",
    [{"in": {"n": 2}}, {"in": {"c": 0}}, {"in": {"w": -1}}],
    ids=["batch_2", "no_channels", "negative_width"],
)
def test_transpose_rejects_bad_arguments(sgk, overrides) -> None:
    x = np.zeros((1, 2, 3, 4), np.int8)
    assert status_of(sgk.transpose_nhwc_nchw, x, overrides=overrides) == SG_ERR_ARG
