"""sg_conv2d_s8_1x1 against ref.conv.conv2d: the specialization must equal the general kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.kernels.harness import KERNEL_SETTINGS, SG_ERR_ARG, SG_ERR_UNSUPPORTED, status_of
from tests.kernels.strategies import Window, seeds
from tests.kernels.test_conv2d import ConvCase, make_case


def pointwise(h: int, w: int) -> Window:
    return Window((h, w), (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), (h, w))


@st.composite
def pointwise_cases(draw: st.DrawFn) -> ConvCase:
    win = pointwise(draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    return make_case(
        win,
        draw(st.integers(1, 19)),
        draw(st.integers(1, 9)),
        draw(seeds()),
        batch=draw(st.integers(1, 2)),
    )


def run_1x1(sgk, case: ConvCase, **call_options) -> np.ndarray:
    return case.run(sgk, fn="sg_conv2d_s8_1x1", **call_options)


@KERNEL_SETTINGS
@given(pointwise_cases())
def test_conv2d_1x1_matches_reference(sgk, case: ConvCase) -> None:
    np.testing.assert_array_equal(run_1x1(sgk, case), case.reference())


@pytest.mark.parametrize("h, w, c_in, c_out", [(1, 1, 1, 1), (3, 5, 17, 3), (2, 2, 64, 33)])
def test_conv2d_1x1_edge_shapes(sgk, h: int, w: int, c_in: int, c_out: int) -> None:
    case = make_case(pointwise(h, w), c_in, c_out, seed=h * 100 + c_in)
    np.testing.assert_array_equal(run_1x1(sgk, case), case.reference())


UNSPECIALIZED = {
    "kernel_3x1": (Window((3, 3), (3, 1), (1, 1), (0, 0, 0, 0), (1, 1), (1, 3)), {}),
    "stride_2": (pointwise(3, 3), {"stride_w": 2}),
    "padded": (pointwise(3, 3), {"pad_top": 1}),
    "dilated": (pointwise(3, 3), {"dil_h": 2}),
}


@pytest.mark.parametrize("name", sorted(UNSPECIALIZED))
def test_conv2d_1x1_refuses_what_it_does_not_specialize(sgk, name: str) -> None:
    """Outside its predicate the specialization says so (the selector picked the wrong kernel)
    instead of computing something else; the general kernel accepts the same params."""
    win, overrides = UNSPECIALIZED[name]
    case = make_case(win, 2, 2, seed=0)
    assert status_of(run_1x1, sgk, case, overrides=overrides) == SG_ERR_UNSUPPORTED
    assert status_of(case.run, sgk, overrides=overrides) == 0


@pytest.mark.parametrize(
    "overrides",
    [{"in": {"n": 2}}, {"out": {"h": 2}}, {"filter": {"c": 3}}],
    ids=["batch_2", "out_h_mismatch", "filter_c_mismatch"],
)
def test_conv2d_1x1_rejects_bad_arguments(sgk, overrides) -> None:
    case = make_case(pointwise(3, 3), 2, 2, seed=0)
    assert status_of(run_1x1, sgk, case, overrides=overrides) == SG_ERR_ARG
