"""sg_fc_s8 against ref.fc.fc, and ref.fc.fc against plain loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
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
from tests.kernels.strategies import seeds


@dataclass
class FcCase:
    x: np.ndarray  # (N, K)
    w: np.ndarray  # (O, K)
    bias: np.ndarray | None
    rq: Requant

    def reference(self) -> np.ndarray:
        return ref.fc.fc(self.x, self.w, self.bias, self.rq)


def make_case(k: int, out_features: int, seed: int, batch: int = 1) -> FcCase:
    rng = np.random.default_rng(seed)
    typical_acc = np.sqrt(k) * 100 * 73
    return FcCase(
        random_int8(rng, (batch, k)),
        random_int8(rng, (out_features, k), lo=-127),
        random_bias(rng, out_features, typical_acc),
        random_requant(rng, out_features, typical_acc),
    )


@st.composite
def fc_cases(draw: st.DrawFn, max_k: int = 300) -> FcCase:
    return make_case(
        draw(st.integers(1, max_k)),
        draw(st.integers(1, 40)),
        draw(seeds()),
        batch=draw(st.integers(1, 3)),
    )


@KERNEL_SETTINGS
@given(fc_cases())
def test_fc_matches_reference(sgk, case: FcCase) -> None:
    np.testing.assert_array_equal(sgk.fc(case.x, case.w, case.bias, case.rq), case.reference())


def _extreme_case() -> FcCase:
    """All products at +-(255 * 127) and a bias that puts the accumulator exactly on INT32_MIN."""
    k = 1000
    case = make_case(k, 2, seed=3)
    case.x[:] = 127
    case.w[:] = -127
    case.bias = np.full(2, -(1 << 31) + k * 255 * 127, np.int32)
    case.rq = Requant(
        mult=np.array([(1 << 31) - 1, 1 << 30]),
        shift=np.array([0, 30]),
        in_offset=128,
        out_offset=-128,
        act_min=-128,
        act_max=127,
    )
    return case


EDGE_CASES = {
    "k_1": lambda: make_case(1, 3, 1),
    "k_not_multiple_of_4": lambda: make_case(13, 7, 2),
    "long_k": lambda: make_case(4099, 5, 4),
    "accumulator_at_int32_min": _extreme_case,
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_fc_edge_cases(sgk, name: str) -> None:
    case = EDGE_CASES[name]()
    np.testing.assert_array_equal(sgk.fc(case.x, case.w, case.bias, case.rq), case.reference())


@KERNEL_SETTINGS
@given(fc_cases(max_k=20))
def test_fc_reference_matches_direct_loops(case: FcCase) -> None:
    """The float64 matmul in ref.fc is exact: compare with integer loops."""
    n, k = case.x.shape
    acc = np.zeros((n, case.w.shape[0]), np.int64)
    for b in range(n):
        for o in range(case.w.shape[0]):
            total = int(case.bias[o]) if case.bias is not None else 0
            for i in range(k):
                total += (int(case.x[b, i]) + case.rq.in_offset) * int(case.w[o, i])
            acc[b, o] = total
    np.testing.assert_array_equal(case.reference(), ref.requant.finish(acc, case.rq))


def test_fc_reference_refuses_possible_accumulator_overflow() -> None:
    case = _extreme_case()
    case.bias = case.bias - 1
    with pytest.raises(OverflowError, match="accumulator"):
        case.reference()


@pytest.mark.parametrize(
    "overrides",
    [{"in_features": 0}, {"out_features": -1}, {"weights": None}, {"rq": {"act_max": 128}}],
    ids=["no_inputs", "negative_outputs", "null_weights", "act_max_128"],
)
def test_fc_rejects_bad_arguments(sgk, overrides) -> None:
    case = make_case(8, 4, seed=0)
    if "weights" in overrides:
        overrides = {"weights": sgk.ffi.NULL}
    assert status_of(sgk.fc, case.x, case.w, case.bias, case.rq, overrides=overrides) == SG_ERR_ARG


def test_fc_rejects_short_scratch(sgk) -> None:
    case = make_case(8, 4, seed=0)
    assert status_of(sgk.fc, case.x, case.w, case.bias, case.rq, scratch_size=-4) == SG_ERR_SCRATCH
