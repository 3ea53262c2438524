"""--sparse selection: auto keeps dense where sparse does not pay, forced formats fall back to
dense (with the reason) where the weights do not fit, and the cost table is the fitted one."""

from __future__ import annotations

import numpy as np
import pytest
from slimgen.errors import InputError
from slimgen.lower import cost
from slimgen.lower.kernels import select_kernels, weight_matrix
from slimgen.lower.sparse_select import choose_sparse, core_of, parse_mode
from slimgen.profile.kernelbench import SHAPES, Shape
from slimgen.profile.sparsebench import pruned_case


def _choose(shape, fmt_pattern: str, density: float, mode: str, core: str = "m4"):
    case = pruned_case(shape, fmt_pattern, density)
    kernels = select_kernels(case.graph)
    decision = choose_sparse(case.graph, kernels, mode, core)[shape.name]
    return decision, kernels[shape.name]


def test_auto_keeps_dense_weights_dense_and_takes_sparse_when_it_pays() -> None:
    d, spec = _choose(SHAPES["fc640"], "dense", 1.0, "auto")
    assert d["format"] == "dense" and not spec.sparse and d["reason"].startswith("dense")
    d, spec = _choose(SHAPES["fc640"], "unstructured", 0.05, "auto")
    assert d["format"] == "unstructured" and spec.name == "sg_fc_s8_csr8"
    d, spec = _choose(SHAPES["pw1x1"], "bsr1x4", 0.1, "auto")
    assert d["format"] == "bsr1x4" and spec.name == "sg_conv2d_s8_1x1_bsr1x4"
    chosen = min(d["candidates"], key=lambda c: c["est_cycles"])
    assert chosen["format"] == d["format"] and chosen["model"] == "fitted:m4"


def test_forced_format_falls_back_to_dense_when_weights_do_not_fit() -> None:
    d, spec = _choose(SHAPES["fc640"], "unstructured", 0.3, "nm2:4")
    assert d["format"] == "dense" and "cannot hold" in d["reason"] and not spec.sparse
    odd = Shape("odd", "fc", 1, 1, 30, 8, 1, 0)  # 30 columns: no 1x4 blocks
    d, _ = _choose(odd, "unstructured", 0.3, "bsr1x4")
    assert d["format"] == "dense" and "bsr1x4" in d["refused"]
    d, spec = _choose(SHAPES["fc640"], "dense", 1.0, "unstructured")  # forced even if slower
    assert d["format"] == "unstructured" and spec.sparse == "unstructured"


def test_off_changes_nothing_and_modes_are_checked() -> None:
    case = pruned_case(SHAPES["fc640"], "unstructured", 0.05)
    kernels = select_kernels(case.graph)
    assert choose_sparse(case.graph, kernels, "off", "m4") == {}
    assert kernels["fc640"].name == "sg_fc_s8"
    assert parse_mode(" NM2:4 ") == "nm2:4"
    with pytest.raises(InputError, match="unknown --sparse"):
        parse_mode("csr")
    assert core_of("cortex-m7") == "m7" and core_of("host") == "m4"


def test_estimates_follow_the_model() -> None:
    """cycles = fixed + passes * (per_row * rows + per_unit * units), passes = groups of 4
    pixels for sparse 1x1 (2 for N:4) and pixels for dense 1x1; unknown cores use the analytic
    table."""
    w = np.zeros((16, 64), np.int8)
    w[:, ::8] = 3
    e = cost.estimate("sg_conv2d_s8_1x1_bsr1x4", "bsr1x4", w, 25, "m3")
    fixed, per_row, per_unit, _ = cost.ANALYTIC["pw:bsr1x4"]
    assert e.source == "analytic" and e.units == 16 * 8
    assert e.cycles == round(fixed + 7 * (per_row * 16 + per_unit * 16 * 8))  # 25 px / 4
    assert e.weight_bytes == 2 * 16 + 6 * 16 * 8
    assert set(cost.fitted_table()) >= {"m4", "m7", "m33"}


def test_auto_keeps_dense_on_a_near_tie(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sparse kernel estimated faster, but by less than AUTO_MARGIN, is not taken by auto
    (the cost model's error on real layers is that large); forced formats still take it."""
    from slimgen.lower import sparse_select

    case = pruned_case(SHAPES["fc640"], "bsr1x4", 0.1)
    d = choose_sparse(case.graph, select_kernels(case.graph), "auto", "m4")["fc640"]
    dense = next(c for c in d["candidates"] if c["format"] == "dense")["est_cycles"]
    best = min(c["est_cycles"] for c in d["candidates"])
    assert d["format"] == "bsr1x4" and best < dense
    monkeypatch.setattr(sparse_select, "AUTO_MARGIN", 1.0 - best / dense + 0.01)
    kernels = select_kernels(case.graph)
    d = choose_sparse(case.graph, kernels, "auto", "m4")["fc640"]
    assert d["format"] == "dense" and not kernels["fc640"].sparse and "by more than" in d["reason"]
    d, spec = _choose(SHAPES["fc640"], "bsr1x4", 0.1, "bsr1x4")
    assert d["format"] == "bsr1x4" and spec.sparse == "bsr1x4"


def test_repruned_in_blocks_says_what_block_pruning_would_cost() -> None:
    """Unstructured weights: the decision carries the bsr1x4 estimate for as many non-zeros in
    whole 1x4 blocks (cheaper than any kernel on the scattered weights); block weights: none."""
    d, _ = _choose(SHAPES["fc640"], "unstructured", 0.3, "auto")
    rep = d["repruned"]
    assert rep["pattern"] == "block" and rep["kernel"] == "sg_fc_s8_bsr1x4"
    assert rep["est_cycles"] < min(c["est_cycles"] for c in d["candidates"])
    nonzeros = int(np.count_nonzero(weight_matrix(pruned_case(SHAPES["fc640"], "unstructured",
                                                              0.3).graph.nodes[0])))
    w = np.zeros((128 * 160, 4), np.int8)
    w[: -(-nonzeros // 4)] = 1  # as many whole blocks, anywhere: the fc cost counts blocks
    expected = cost.estimate("sg_fc_s8_bsr1x4", "bsr1x4", w.reshape(128, 640), 1, "m4").cycles
    assert rep["est_cycles"] == expected
    d, _ = _choose(SHAPES["pw1x1"], "bsr1x4", 0.2, "auto")
    assert "repruned" not in d
    d, _ = _choose(SHAPES["fc640"], "dense", 1.0, "auto")
    assert "repruned" not in d
