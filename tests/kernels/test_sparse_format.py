"""Sparse packers: densify(pack(w)) == w for every format, and the encodings' documented edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen.lower import sparse_format as sf

from tests.kernels.harness import KERNEL_SETTINGS
from tests.kernels.strategies import seeds


def random_sparse(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    """Random int8 weights with about ``density`` non-zeros, an all-zero row and a fully dense
    row mixed in (when there are enough rows), never the value 0 among the kept ones."""
    w = rng.integers(-128, 128, size=(rows, cols)).astype(np.int8)
    w[w == 0] = 1
    w[rng.random((rows, cols)) >= density] = 0
    if rows >= 3:
        w[rng.integers(rows)] = 0
        w[rng.integers(rows)] = rng.choice([-128, 127, 5], size=cols)
    return w


def random_nm(rng: np.random.Generator, rows: int, cols: int, n: int, density: float):
    """Weights where every group of 4 columns holds at most n non-zeros."""
    w = random_sparse(rng, rows, cols, 1.0)
    groups = -(-cols // 4)
    for r in range(rows):
        for g in range(groups):
            lo, hi = 4 * g, min(4 * g + 4, cols)
            keep = rng.permutation(hi - lo)[: int(rng.integers(0, n + 1))]
            drop = np.setdiff1d(np.arange(hi - lo), keep)
            w[r, lo + drop] = 0
            if rng.random() > density:
                w[r, lo:hi] = 0
    return w


@st.composite
def matrices(draw: st.DrawFn, multiple_of: int = 1):
    rows = draw(st.integers(1, 9))
    cols = draw(st.integers(1, 700 // multiple_of)) * multiple_of
    density = draw(st.sampled_from([0.0, 0.003, 0.05, 0.2, 0.5, 1.0]))
    return random_sparse(np.random.default_rng(draw(seeds())), rows, cols, density)


@KERNEL_SETTINGS
@given(matrices())
def test_unstructured_roundtrip(w) -> None:
    p = sf.pack_csr8(w)
    np.testing.assert_array_equal(sf.densify(p), w)
    assert p.row_len.sum() == p.entries
    # escapes are exactly the entries with delta 255, each with value 0
    esc = p.delta == sf.ESCAPE
    assert not p.values[esc].any()
    assert np.count_nonzero(p.values) == np.count_nonzero(w)


@KERNEL_SETTINGS
@given(matrices(multiple_of=4))
def test_bsr1x4_roundtrip(w) -> None:
    p = sf.pack_bsr1x4(w)
    np.testing.assert_array_equal(sf.densify(p), w)
    assert p.blocks == int(np.any(w.reshape(w.shape[0], -1, 4) != 0, axis=2).sum())


@KERNEL_SETTINGS
@given(st.integers(1, 9), st.integers(1, 300), st.sampled_from([1, 2]),
       st.sampled_from([0.0, 0.3, 1.0]), seeds())
def test_nm_roundtrip(rows, cols, n, density, seed) -> None:
    w = random_nm(np.random.default_rng(seed), rows, cols, n, density)
    p = sf.pack_nm(w, n)
    np.testing.assert_array_equal(sf.densify(p), w)
    groups = -(-cols // 4)
    entries = groups if n == 2 else -(-groups // 2)
    assert p.entries == entries and p.offset.size == rows * entries
    assert p.values.size == rows * 4 * -(-entries // 2)
    assert int(p.offset.max(initial=0)) < 16 * p.table_entry_bytes // 4  # within a block
    assert sf.nm_table_bytes(cols, n) == entries * p.table_entry_bytes


def test_unstructured_escape_encoding() -> None:
    """Gaps of 254, 255, 509, 510 and a first column past 255: the escape rule, by hand."""
    w = np.zeros((1, 1200), np.int8)
    cols = [300, 554, 809, 1318 - 200, 1119]  # gaps: 300, 254, 255, 309, 1
    w[0, cols] = [1, 2, 3, 4, 5]
    p = sf.pack_csr8(w)
    assert p.delta.tolist() == [255, 45, 254, 255, 0, 255, 54, 1]
    assert p.values.tolist() == [0, 1, 2, 0, 3, 0, 4, 5]
    np.testing.assert_array_equal(sf.densify(p), w)


def test_unstructured_gap_of_exactly_510_then_end() -> None:
    w = np.zeros((2, 511), np.int8)
    w[0, 510] = -7  # two escapes, then delta 0
    p = sf.pack_csr8(w)
    assert p.row_len.tolist() == [3, 0]
    assert p.delta.tolist() == [255, 255, 0]
    np.testing.assert_array_equal(sf.densify(p), w)


def test_nm_partial_last_group_fillers_stay_inside() -> None:
    """cols = 5: the last group holds one column; 2:4 fillers are zero weights (past cols
    there, where the table holds 0)."""
    w = np.array([[0, 3, 0, 4, 0], [0, 0, 0, 0, 9]], np.int8)
    p = sf.pack_nm(w, 2)
    np.testing.assert_array_equal(sf.densify(p), w)
    # row 0: group 0 -> pair (1, 3) = word 4; group 1 -> filler pair (0, 1) = word 0 of
    # entry 1 (6 words on); row 1: (0, 1), then 9 at (0, 1)
    assert p.offset.tolist() == [4, 6, 0, 6]
    assert p.values.tolist() == [3, 0, 4, 0, 0, 9, 0, 0]


def test_nm_pair_table_encoding() -> None:
    """By hand: 2:4 words 01 02 03 12 13 23, word indexes within a block of 16 entries; 1:4
    word 4i + j of a pair of groups, an odd last group paired with nothing."""
    w = np.zeros((1, 68), np.int8)
    w[0, [2, 3, 4, 7, 9, 16, 17, 66]] = [1, 2, 3, 4, 5, 6, 7, 8]
    p = sf.pack_nm(w, 2)
    # groups: (2,3) -> 5; (0,3) -> 2; (1,x) -> (0,1) = 0 with 5 on the high half; empty;
    # (0,1) -> 0; empty x 11; group 16 (next block): (2, x) -> (0, 2) = 1, 8 on the high half
    assert p.offset.tolist() == [5, 6 + 2, 12, 18, 24] + [6 * e for e in range(5, 16)] + [1]
    assert p.values.tolist()[:12] == [1, 3, 2, 4, 0, 0, 5, 0, 6, 0, 7, 0]
    assert p.values.tolist()[-4:] == [0, 0, 8, 0]
    np.testing.assert_array_equal(sf.densify(p), w)
    w1 = np.zeros((1, 20), np.int8)
    w1[0, [3, 5, 16]] = [1, 2, 3]
    p1 = sf.pack_nm(w1, 1)
    # entries: groups (0, 1) -> (3, 1) = word 13; (2, 3) -> word 0; (4, -) -> word 0
    assert p1.offset.tolist() == [13, 16, 32]
    assert p1.values.tolist() == [1, 0, 2, 0, 3, 0, 0, 0]
    np.testing.assert_array_equal(sf.densify(p1), w1)


def test_bsr1x4_refuses_ragged_reduction() -> None:
    with pytest.raises(sf.SparseFormatError, match="multiple of 4"):
        sf.pack_bsr1x4(np.ones((2, 6), np.int8))


def test_nm_refuses_too_dense_group() -> None:
    w = np.zeros((2, 8), np.int8)
    w[1, 4:7] = 1
    with pytest.raises(sf.SparseFormatError, match="row 1, columns 4..7 hold 3"):
        sf.pack_nm(w, 2)
    with pytest.raises(sf.SparseFormatError, match="1:4 and 2:4 only"):
        sf.pack_nm(w, 3)


def test_unstructured_refuses_rows_beyond_uint16() -> None:
    with pytest.raises(sf.SparseFormatError, match="uint16"):
        sf.pack_csr8(np.ones((1, 70000), np.int8))


def test_fold_input_offset_sums_all_weights() -> None:
    w = np.array([[1, 0, -3], [0, 0, 0]], np.int8)
    np.testing.assert_array_equal(sf.fold_input_offset([10, -5], w, 128), [10 - 256, -5])
    np.testing.assert_array_equal(sf.fold_input_offset(None, w, -1), [2, 0])
    with pytest.raises(OverflowError):
        sf.fold_input_offset([2**31 - 100], np.full((1, 4), 127, np.int8), 0)


def test_bytes_per_nonzero_unstructured() -> None:
    """8-bit deltas: 2 bytes per non-zero plus 2 per row and rare escapes (documented bound)."""
    w = random_sparse(np.random.default_rng(0), 128, 640, 0.2)
    p = sf.pack_csr8(w)
    per_nz = p.nbytes / np.count_nonzero(w)
    assert 2.0 < per_nz < 2.05
