"""`slimgen build`'s summary: per sparse-candidate layer its density and the estimated speedup
of the chosen kernel, and a total over the candidate layers (from report.json's candidates)."""

from __future__ import annotations

from pathlib import Path

from slimgen import cli


def _layer(name: str, fmt: str, density: float, dense: int, chosen: int | None,
           blocks: int | None = None) -> dict:
    cands = [{"format": "dense", "est_cycles": dense}]
    if chosen is not None:
        cands.append({"format": "unstructured", "est_cycles": chosen})
    sp = {"format": fmt, "density": density, "core": "m4", "candidates": cands}
    if blocks is not None:
        sp["repruned"] = {"pattern": "block", "est_cycles": blocks}
    return {"name": name, "op": "conv2d", "kernel": "k", "output_shape": [2, 2, 4], "macs": 64,
            "weight_bytes": 10, "sparse": sp}


REPORT = {"name": "net", "total_macs": 192, "weight_bytes": 30, "arena_bytes": 64,
          "arena_peak_layer": "L0",
          "layers": [_layer("L0", "unstructured", 0.34, 1200, 1000, blocks=600),
                     _layer("L1", "dense", 0.41, 800, 900),
                     {"name": "L2", "op": "avgpool", "kernel": "p", "output_shape": [1, 1, 4],
                      "macs": 0, "weight_bytes": 0}]}


def test_sparse_cells_say_density_and_estimated_speedup() -> None:
    assert cli._sparse_cell(REPORT["layers"][0]["sparse"]) == "34% 1.20x"
    assert cli._sparse_cell(REPORT["layers"][1]["sparse"]) == "41% dense"
    assert cli._sparse_cell(None) == ""


def test_sparse_total_counts_dense_choices_at_their_dense_cost() -> None:
    assert cli._sparse_est(REPORT["layers"][:2]) == (2000, 1800, 1400)
    # a layer whose block estimate is above its chosen kernel's counts at the chosen one
    worse = _layer("L3", "unstructured", 0.3, 1200, 1000, blocks=1100)
    assert cli._sparse_est([worse]) == (1200, 1000, 1000)


def test_summary_prints_the_sparse_line(capsys, monkeypatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(cli, "_console", lambda: Console(width=200, force_terminal=False))
    cli._print_build_summary(REPORT, Path("out"))
    text = capsys.readouterr().out
    assert "density / est. speedup" in text
    assert "sparse: 1 of 2 candidate layers sparse" in text
    assert "2,000 dense -> 1,800 (1.11x" in text
    # L0 in blocks 600 + L1 (stays dense) 800: 1,400 < 0.9 * 1,800
    assert "1x4 blocks (slimgen compress --pattern block) would estimate 1,400 cycles" in text
    assert "--pattern auto --target cortex-m4' picks each layer's pattern" in " ".join(text.split())


def test_narrow_console_keeps_whole_kernel_names(capsys, monkeypatch) -> None:
    """Piped output is 80 columns wide: the kernel's format suffix must not be cut off."""
    from rich.console import Console

    monkeypatch.setattr(cli, "_console", lambda: Console(width=80, force_terminal=False))
    rep = dict(REPORT, layers=[dict(lyr, kernel="sg_conv2d_s8_unstructured")
                               for lyr in REPORT["layers"][:2]])
    cli._print_build_summary(rep, Path("out"))
    lines = capsys.readouterr().out.splitlines()
    assert sum("sg_conv2d_s8_unstructured" in line for line in lines) == 2
