"""The one rounding, checked three ways: sg_requantize (C, through cffi), ref.requant (numpy) and
the Python big-int definitions below, written from gemmlowp's and TFLite's formulas."""

from __future__ import annotations

import itertools
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from slimgen import paths
from slimgen.build.host import compile_shared
from slimgen.ref import requant as rq

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

SHIM = """
#include <stdint.h>
#include "sg_requant.h"

void sg_test_requantize(const int32_t *acc, const int32_t *mult, const int32_t *shift,
                        int32_t *out, int32_t n);
void sg_test_srdhm(const int32_t *a, const int32_t *b, int32_t *out, int32_t n);
void sg_test_rdbp(const int32_t *x, const int32_t *exponent, int32_t *out, int32_t n);

void sg_test_requantize(const int32_t *acc, const int32_t *mult, const int32_t *shift,
                        int32_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) out[i] = sg_requantize(acc[i], mult[i], shift[i]);
}
void sg_test_srdhm(const int32_t *a, const int32_t *b, int32_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) out[i] = sg_srdhm(a[i], b[i]);
}
void sg_test_rdbp(const int32_t *x, const int32_t *exponent, int32_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) out[i] = sg_rounding_divide_by_pot(x[i], exponent[i]);
}
"""
CDEF = """
void sg_test_requantize(const int32_t *, const int32_t *, const int32_t *, int32_t *, int32_t);
void sg_test_srdhm(const int32_t *, const int32_t *, int32_t *, int32_t);
void sg_test_rdbp(const int32_t *, const int32_t *, int32_t *, int32_t);
"""


class CRequant:
    """sg_requant.h's static inline functions, exported by a small shim, over int32 arrays."""

    def __init__(self, build_dir: Path) -> None:
        import cffi

        src = build_dir / "sg_requant_shim.c"
        if not src.is_file() or src.read_text() != SHIM:
            src.write_text(SHIM)
        kernels = paths.kernels_dir()
        sanitize = os.environ.get("SLIMGEN_SANITIZE") == "1"
        so = compile_shared(
            [src],
            build_dir / f"sg_requant_shim{'_san' if sanitize else ''}.so",
            include_dirs=[kernels / "include", kernels / "src"],
            sanitize=sanitize,
        )
        self.ffi = cffi.FFI()
        self.ffi.cdef(CDEF)
        self.lib = self.ffi.dlopen(str(so))

    def _run(self, fn, *arrays) -> np.ndarray:
        ins = [
            np.ascontiguousarray(np.broadcast_arrays(*arrays)[i], np.int32)
            for i in range(len(arrays))
        ]
        out = np.zeros(ins[0].shape, np.int32)
        ptrs = [self.ffi.from_buffer("int32_t[]", a) for a in ins]
        fn(*ptrs, self.ffi.from_buffer("int32_t[]", out), out.size)
        return out.astype(np.int64)

    def requantize(self, acc, mult, shift) -> np.ndarray:
        return self._run(self.lib.sg_test_requantize, acc, mult, shift)

    def srdhm(self, a, b) -> np.ndarray:
        return self._run(self.lib.sg_test_srdhm, a, b)

    def rdbp(self, x, exponent) -> np.ndarray:
        return self._run(self.lib.sg_test_rdbp, x, exponent)


@pytest.fixture(scope="module")
def c_requant(request: pytest.FixtureRequest) -> CRequant:
    from tests.kernels.conftest import kernel_build_dir

    folder = kernel_build_dir(request.config) / "requant-shim"
    folder.mkdir(exist_ok=True)
    return CRequant(folder)


# ---- the definitions, in Python integers (no overflow, no numpy) ----


def srdhm_bigint(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul as written there: a sign-dependent nudge and a
    division truncating toward zero."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    num = ab + nudge
    quotient = abs(num) // (1 << 31)
    return quotient if num >= 0 else -quotient


def rdbp_bigint(x: int, exponent: int) -> int:
    """x / 2^exponent to nearest, ties away from zero, by exact rational arithmetic."""
    q = Fraction(x, 1 << exponent)
    return int(q + Fraction(1, 2)) if q >= 0 else -int(-q + Fraction(1, 2))


def requantize_bigint(acc: int, mult: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier; the left shift wraps modulo 2^32 as the C does."""
    left, right = max(shift, 0), max(-shift, 0)
    scaled = ((acc << left) - INT32_MIN) % (1 << 32) + INT32_MIN
    return rdbp_bigint(srdhm_bigint(scaled, mult), right)


def check_three_ways(c_requant: CRequant, acc, mult, shift) -> None:
    acc, mult, shift = (np.asarray(v, np.int64) for v in np.broadcast_arrays(acc, mult, shift))
    expected = np.array(
        [
            requantize_bigint(int(a), int(m), int(s))
            for a, m, s in zip(acc.ravel(), mult.ravel(), shift.ravel())
        ],
        np.int64,
    )
    np.testing.assert_array_equal(rq.requantize(acc, mult, shift).ravel(), expected)
    np.testing.assert_array_equal(c_requant.requantize(acc, mult, shift).ravel(), expected)


EDGE_ACC = [
    INT32_MIN,
    INT32_MIN + 1,
    -(1 << 30),
    -12345,
    -1,
    0,
    1,
    77,
    1 << 24,
    INT32_MAX - 1,
    INT32_MAX,
]
EDGE_MULT = [0, 1, 1 << 30, (1 << 30) + 1, 1518500250, (1 << 31) - 2, (1 << 31) - 1]
EDGE_SHIFT = [-31, -30, -17, -1, 0, 1, 7, 29, 30]


def test_requantize_edge_grid(c_requant: CRequant) -> None:
    """Every combination of the edge values: shift -31 and 30, mult 0 and near 2^31,
    acc at the int32 bounds (where the left shift wraps)."""
    grid = np.array(list(itertools.product(EDGE_ACC, EDGE_MULT, EDGE_SHIFT)), np.int64)
    check_three_ways(c_requant, grid[:, 0], grid[:, 1], grid[:, 2])


@pytest.mark.parametrize("seed", range(3))
def test_requantize_random(c_requant: CRequant, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 4000
    magnitude = rng.integers(0, 32, n)  # accumulators of every bit length, not just huge ones
    acc = rng.integers(-(1 << 31), 1 << 31, n) >> (31 - magnitude)
    mult = rng.integers(0, 1 << 31, n)
    shift = rng.integers(-31, 31, n)
    check_three_ways(c_requant, acc, mult, shift)


def test_requantize_broadcasts_per_channel() -> None:
    acc = np.arange(-600, 600, 7).reshape(-1, 4)
    mult = np.array([1 << 30, 1 << 29, 1518500250, (1 << 31) - 1])
    shift = np.array([-3, 0, 2, -31])
    expected = [
        [requantize_bigint(int(a), int(m), int(s)) for a, m, s in zip(row, mult, shift)]
        for row in acc
    ]
    np.testing.assert_array_equal(rq.requantize(acc, mult, shift), expected)


def test_srdhm_saturation_and_ties(c_requant: CRequant) -> None:
    """(INT32_MIN, INT32_MIN) is the one saturating pair; a * b = (2k + 1) * 2^30 are exact
    ties, rounded up (towards +infinity) on both signs."""
    pairs = [
        (INT32_MIN, INT32_MIN),
        (INT32_MIN, INT32_MAX),
        (INT32_MAX, INT32_MAX),
        (INT32_MIN, 1),
        (1 << 30, 1),
        (-(1 << 30), 1),
        (3 << 29, 2),
        (-(3 << 29), 2),
        (1 << 30, -3),
        (INT32_MIN, -1),
        (0, INT32_MIN),
    ]
    a, b = (np.array(v, np.int64) for v in zip(*pairs))
    expected = [srdhm_bigint(int(x), int(y)) for x, y in pairs]
    assert expected[:2] == [INT32_MAX, -INT32_MAX]
    assert expected[4:8] == [1, 0, 2, -1]
    np.testing.assert_array_equal(rq.saturating_rounding_doubling_high_mul(a, b), expected)
    np.testing.assert_array_equal(c_requant.srdhm(a, b), expected)


def test_rounding_divide_by_pot_ties_and_extremes(c_requant: CRequant) -> None:
    """Halves go away from zero; exponent 31 (mask 2^31 - 1, built without overflow) works at
    both int32 bounds."""
    cases = [
        (5, 1),
        (-5, 1),
        (3, 1),
        (-3, 1),
        (6, 2),
        (-6, 2),
        (INT32_MIN, 31),
        (INT32_MAX, 31),
        (1 << 30, 31),
        (-(1 << 30), 31),
        ((1 << 30) + 1, 31),
        (INT32_MIN, 0),
        (INT32_MAX, 0),
        (-1, 31),
        (INT32_MIN, 1),
    ]
    x, e = (np.array(v, np.int64) for v in zip(*cases))
    expected = [rdbp_bigint(int(v), int(k)) for v, k in cases]
    assert expected[:6] == [3, -3, 2, -2, 2, -2]
    assert expected[6:11] == [-1, 1, 1, -1, 1]
    np.testing.assert_array_equal(rq.rounding_divide_by_pot(x, e), expected)
    np.testing.assert_array_equal(c_requant.rdbp(x, e), expected)


def test_random_srdhm_and_rdbp(c_requant: CRequant) -> None:
    rng = np.random.default_rng(11)
    a, b = rng.integers(INT32_MIN, INT32_MAX + 1, (2, 3000))
    expected = [srdhm_bigint(int(x), int(y)) for x, y in zip(a, b)]
    np.testing.assert_array_equal(rq.saturating_rounding_doubling_high_mul(a, b), expected)
    np.testing.assert_array_equal(c_requant.srdhm(a, b), expected)
    x, e = rng.integers(INT32_MIN, INT32_MAX + 1, 3000), rng.integers(0, 32, 3000)
    expected = [rdbp_bigint(int(v), int(k)) for v, k in zip(x, e)]
    np.testing.assert_array_equal(rq.rounding_divide_by_pot(x, e), expected)
    np.testing.assert_array_equal(c_requant.rdbp(x, e), expected)


def test_numpy_refuses_values_the_c_cannot_hold() -> None:
    with pytest.raises(OverflowError):
        rq.requantize(1 << 31, 1 << 30, 0)
    with pytest.raises(ValueError, match="shift"):
        rq.requantize(1, 1 << 30, 31)


@pytest.mark.parametrize(
    "acc, out_offset, expected", [(INT32_MAX, 127, 100), (INT32_MIN, -128, -100)]
)
def test_finish_adds_offset_and_clamps_without_overflow(
    acc: int, out_offset: int, expected: int
) -> None:
    """requantize(INT32_MAX or INT32_MIN, 2^31 - 1, 0) is within 2 of the int32 bound: adding
    out_offset in int32 would overflow (the C clamps first, against shifted bounds); the result
    is simply the clamp bound."""
    r = rq.Requant(
        mult=np.array([(1 << 31) - 1]),
        shift=np.array([0]),
        in_offset=0,
        out_offset=out_offset,
        act_min=-100,
        act_max=100,
    )
    assert abs(int(rq.requantize(acc, r.mult, r.shift)[0])) >= INT32_MAX - 1
    assert rq.finish(np.array([[acc]]), r).item() == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"shift": [31]},
        {"mult": [-1]},
        {"in_offset": 129},
        {"out_offset": 128},
        {"act_min": 5, "act_max": 4},
        {"mult": [1, 2]},
    ],
)
def test_requant_validates_fields(fields: dict) -> None:
    values = {
        "mult": [1 << 30],
        "shift": [0],
        "in_offset": 0,
        "out_offset": 0,
        "act_min": -128,
        "act_max": 127,
    }
    values.update(fields)
    with pytest.raises(ValueError):
        rq.Requant(**{k: np.array(v) if k in ("mult", "shift") else v for k, v in values.items()})
