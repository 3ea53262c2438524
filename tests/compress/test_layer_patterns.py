"""Per-layer pruning patterns (``--pattern auto``, ``--layer-pattern``): the choice rule on hand-made
costs, the structure of each layer's mask in a mixed run (magnitude and OBS), overrides and
errors, and the end-to-end promise: ``slimgen build --sparse auto`` on the result picks, for every
layer, the format that ``slimgen compress`` predicted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from slimgen import api
from slimgen.cli import main
from slimgen.compress import obs
from slimgen.compress.layer_patterns import (
    Geometry,
    candidates,
    choose_layer_patterns,
    layer_costs,
    parse_layer_patterns,
    plan,
    synthetic_weights,
)
from slimgen.compress.model import from_program, prunable_layers
from slimgen.compress.patterns import Pattern, parse_pattern
from slimgen.compress.prune import apply_masks, compute_masks, select_layers
from slimgen.errors import InputError
from slimgen.lower.sparse_format import fits
from torch import nn


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["compress", *args])
    return r.exit_code, r.output


# -- the choice rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("costs,tol,want", [
    ({"unstructured": 100, "block": 60}, 0.10, "block"),  # block clearly faster
    ({"unstructured": 100, "block": 95}, 0.10, "unstructured"),  # within 10 %: less constraining
    ({"unstructured": 100, "block": 95}, 0.0, "block"),  # no tolerance: the fastest
    ({"unstructured": 100, "2:4": 70, "block": 66}, 0.10, "2:4"),  # N:M before block
    ({"unstructured": 100, "2:4": 80, "block": 60}, 0.10, "block"),
    ({"unstructured": 50, "2:4": 50, "block": 50}, 0.10, "unstructured"),  # all dense: same cost
    ({"unstructured": 100, "1:4": 90, "block": 85}, 0.10, "1:4"),
    ({"block": 90}, 0.10, "block"),  # the only candidate
    ({"unstructured": 120, "block": 100}, 0.20, "unstructured"),  # exactly at the bound
    ({"unstructured": 121, "block": 100}, 0.20, "block"),
])
def test_the_least_constraining_pattern_within_tolerance_of_the_fastest(costs, tol, want):
    got = choose_layer_patterns({"L": costs}, tol)
    assert got["L"][0] == want
    assert got["L"][1]  # a reason is always given


def test_a_layer_without_candidates_is_left_out():
    got = choose_layer_patterns({"a": {}, "b": {"unstructured": 5}}, 0.1)
    assert list(got) == ["b"]


def test_nm_is_a_candidate_only_at_its_own_sparsity():
    g = Geometry("x", "conv2d", "sg_conv2d_s8", 16, 144, 64, 3)
    assert candidates(g, 0.5) == ["unstructured", "2:4", "block"]
    assert candidates(g, 0.75) == ["unstructured", "1:4", "block"]
    assert candidates(g, 0.6) == ["unstructured", "block"]
    assert candidates(Geometry("y", "conv2d", "sg_conv2d_s8", 16, 9, 64, 3), 0.5) == [
        "unstructured"]  # reduction length 9: no groups of 4
    assert candidates(Geometry("d", "dwconv2d", "sg_dwconv2d_s8", 16, 9, 64, 3), 0.5) == []


@pytest.mark.parametrize("pattern,fmt", [("unstructured", "unstructured"), ("block", "bsr1x4"),
                                         ("2:4", "nm2:4"), ("1:4", "nm1:4")])
def test_synthetic_masks_have_the_pattern_and_density(pattern, fmt):
    s = {"2:4": 0.5, "1:4": 0.75}.get(pattern, 0.6)
    w = synthetic_weights(24, 64, parse_pattern(pattern), s)
    assert w.dtype == np.int8 and abs(float((w == 0).mean()) - s) < 2e-3
    assert fits(w, fmt) is None
    runs = (w != 0).reshape(24, -1, 4).sum(2)
    assert ((runs > 0) & (runs < 4)).any() == (pattern != "block")
    assert np.array_equal(w, synthetic_weights(24, 64, parse_pattern(pattern), s))  # determinism


def test_layer_costs_follow_the_build_rule():
    """Per pattern: the cheapest fitting format estimated AUTO_MARGIN faster than dense, else
    dense; both masks fit csr8 and bsr1x4 (which stores partly empty blocks), the scattered
    one in many more blocks."""
    g = Geometry("fc", "fc", "sg_fc_s8", 64, 256, 1, 1)
    c = layer_costs(g, 0.6, "m4")
    assert c["core"] == "m4" and c["dense_cycles"] > 0
    assert set(c["patterns"]) == {"unstructured", "block"}
    pb, pu = c["patterns"]["block"]["formats"], c["patterns"]["unstructured"]["formats"]
    assert set(pb) == set(pu) == {"unstructured", "bsr1x4"}
    assert pb["bsr1x4"] < 0.6 * pu["bsr1x4"]
    for p in c["patterns"].values():
        ok = {f: v for f, v in p["formats"].items() if v <= 0.9 * c["dense_cycles"]}
        assert p["format"] == (min(ok, key=ok.get) if ok else "dense")
        assert p["est_cycles"] == (ok[p["format"]] if ok else c["dense_cycles"])


def test_layers_no_sparse_format_speeds_up_are_left_dense():
    """A depthwise layer (no sparse kernel) and a layer whose every pattern the build would run
    dense are not pruned: zeros there would cost accuracy and buy nothing."""
    geos = [Geometry("dw", "dwconv2d", "sg_dwconv2d_s8", 16, 9, 64, 3),
            Geometry("fc", "fc", "sg_fc_s8", 64, 256, 1, 1)]
    layers = [type("L", (), {"name": g.name})() for g in geos]
    pats, why = plan(layers, None, [], 0.1, geos, "m4", 0.1)  # 10 %: nothing pays
    assert pats == {"dw": Pattern("dense"), "fc": Pattern("dense")}
    assert "depthwise" in why["dw"]["why"] and "runs it dense" in why["fc"]["why"]
    pats, why = plan(layers, None, [("f*", Pattern("unstructured"))], 0.1, geos, "m4", 0.1)
    assert pats["fc"] == Pattern("unstructured") and why["fc"]["why"].startswith("--layer-pat")
    assert why["fc"]["build_format"] == "dense"  # the override prunes it, the build keeps dense
    pats, _ = plan(layers, None, [], 0.8, geos, "m4", 0.1)
    assert pats["fc"] != Pattern("dense") and pats["dw"] == Pattern("dense")


# -- masks of a mixed run -------------------------------------------------------------------------

class Net(nn.Module):
    """conv0 (reduction 3x3x4 = 36), a 1x1 conv (8), a conv (72), a linear after flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(4, 8, 3, padding=1)
        self.pw = nn.Conv2d(8, 8, 1)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.pw(torch.relu(self.conv0(x))))
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def _working(seed: int = 0):
    torch.manual_seed(seed)
    x = torch.randn(1, 4, 4, 4)
    gm = from_program(torch.export.export(Net().eval(), (x,)))
    return gm, prunable_layers(gm, x)


def _slimgen_rows(lyr) -> torch.Tensor:
    """The weight in slimgen's layout, independently of Layer.rows: OHWI / NHWC columns."""
    w = lyr.weight.detach()
    if w.dim() == 4:
        return w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)
    return w.reshape(12, 8, 16).permute(0, 2, 1).reshape(12, -1)  # torch c*16+p -> p*8+c


MIXED = {"conv0": "unstructured", "pw": "1:4", "conv": "block", "fc": "2:4"}


def _check_structure(layers, pats: dict[str, str], sparsity: float) -> None:
    for lyr in layers:
        rows = _slimgen_rows(lyr) != 0
        p = parse_pattern(pats[lyr.name])
        if p.kind == "block":  # whole runs of 4 along slimgen's reduction order
            runs = rows.reshape(rows.shape[0], -1, 4).sum(2)
            assert ((runs == 0) | (runs == 4)).all(), lyr.name
            assert abs(float((runs == 0).float().mean()) - sparsity) < 0.02, lyr.name
        elif p.kind == "n:m":
            groups = rows.reshape(rows.shape[0], -1, p.m).sum(2)
            assert (groups <= p.n).all(), lyr.name
        else:
            assert abs(float((~rows).float().mean()) - sparsity) < 0.02, lyr.name
            runs = rows.reshape(rows.shape[0], -1, 4).sum(2)
            assert ((runs > 0) & (runs < 4)).any(), lyr.name  # not accidentally blocks


def test_mixed_magnitude_masks_have_each_layers_structure():
    _, layers = _working()
    pats = {k: parse_pattern(v) for k, v in MIXED.items()}
    apply_masks(layers, compute_masks(layers, pats, 0.6))
    _check_structure(layers, MIXED, 0.6)


def test_one_pattern_per_layer_map_is_the_single_pattern_path():
    _, a = _working()
    _, b = _working()
    ma = compute_masks(a, parse_pattern("block"), 0.7, "global")
    mb = compute_masks(b, {lyr.name: Pattern("block") for lyr in b}, 0.7, "global")
    assert all(torch.equal(ma[k], mb[k]) for k in ma)
    with pytest.raises(ValueError, match="one pattern"):
        compute_masks(b, {k: parse_pattern(v) for k, v in MIXED.items()}, 0.6, "global")


def test_mixed_obs_masks_have_each_layers_structure():
    gm, layers = _working()
    torch.manual_seed(1)
    batches = [torch.randn(64, 4, 4, 4)]
    pats = {k: parse_pattern(v) for k, v in MIXED.items()}
    masks, stats = obs.prune(gm, layers, pats, 0.6, batches)
    _check_structure(layers, MIXED, 0.6)
    for lyr in layers:  # the weights are the masked ones
        assert torch.equal(lyr.weight.detach() != 0, masks[lyr.name].bool() &
                           (lyr.weight.detach() != 0)), lyr.name
    assert {s.name: s.pruned for s in stats}["fc"] == 12 * 128 // 2
    with pytest.raises(ValueError, match="one pattern"):
        obs.prune(gm, layers, pats, 0.6, batches, scope="global")


def test_select_layers_skips_depthwise_per_layer_pattern():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 4, 4)
    m = nn.Sequential(nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 8, 1))
    gm = from_program(torch.export.export(m.eval(), (x,)))
    layers = prunable_layers(gm, x)
    chosen, skipped = select_layers(layers, [], {"0": Pattern("block"), "1": Pattern("block")})
    assert [lyr.name for lyr in chosen] == ["1"] and "depthwise" in skipped["0"]
    chosen, _ = select_layers(layers, [], {"0": Pattern("unstructured"), "1": Pattern("block")})
    assert [lyr.name for lyr in chosen] == ["0", "1"]


# -- overrides and errors -------------------------------------------------------------------------

def test_layer_pattern_wildcards_and_unknown_names():
    names = ["features.0", "features.3", "classifier"]
    got = parse_layer_patterns(["features.*=block", "classifier=2:4"], names)
    assert got == [("features.*", Pattern("block")), ("classifier", Pattern("n:m", 2, 4))]
    with pytest.raises(InputError, match="nope matches no layer.*features.0, features.3"):
        parse_layer_patterns(["nope=block"], names)
    with pytest.raises(InputError, match="not NAME=PATTERN"):
        parse_layer_patterns(["classifier"], names)
    with pytest.raises(InputError, match="unknown pruning pattern"):
        parse_layer_patterns(["classifier=3:2"], names)
    with pytest.raises(InputError, match="channel pruning removes channels"):
        parse_layer_patterns(["classifier=channel"], names)


@pytest.mark.parametrize("args,words", [
    (["--pattern", "auto", "--sparsity", "0.5"], ["needs --target"]),
    (["--pattern", "auto", "--target", "cortex-m9", "--sparsity", "0.5"],
     ["--target cortex-m9 is unknown", "cortex-m4"]),
    (["--pattern", "auto", "--target", "cortex-m4"], ["needs --sparsity"]),
    (["--pattern", "auto", "--target", "cortex-m4", "--sparsity", "0.5",
      "--pattern-tolerance", "1.5"], ["--pattern-tolerance 1.5"]),
    (["--layer-pattern", "classifier=block"], ["no pruning was asked"]),
    (["--sparsity", "0.5", "--layer-pattern", "nope=block"],
     ["nope matches no layer", "features.0, features.3, classifier"]),
    (["--sparsity", "0.5", "--layer-pattern", "features.0=block"],
     ["features.0 (9)", "multiple of 4"]),
    (["--sparsity", "0.5", "--scope", "global", "--layer-pattern", "classifier=block"],
     ["--scope global ranks all layers", "classifier: block"]),
    (["--pattern", "channel", "--sparsity", "0.5", "--layer-pattern", "classifier=block"],
     ["does not combine with --pattern channel"]),
    (["--pattern", "auto", "--target", "cortex-m4", "--sparsity", "0.05", "--exclude",
      "features.0"],
     ["no layer runs faster on m4 at sparsity 0.05"]),
])
def test_bad_per_layer_requests_are_refused_before_training(digits_cnn, digits_npz, tmp_path,
                                                             args, words):
    code, out = run(str(digits_cnn), "--data", str(digits_npz), "-o", str(tmp_path / "x.pt2"),
                    "--epochs", "0", *args)
    assert code == 2, out
    for w in words:
        assert w in " ".join(out.split()), out
    assert not (tmp_path / "x.pt2").exists()


def test_uniform_layer_pattern_equals_the_global_pattern(digits_cnn, digits_npz, tmp_path):
    """--layer-pattern '*=block' is --pattern block, weight for weight."""
    common = [str(digits_cnn), "--data", str(digits_npz), "--sparsity", "0.5", "--epochs", "0",
              "--exclude", "features.0", "-q"]
    assert run(*common, "-o", str(tmp_path / "a.pt2"), "--pattern", "block")[0] == 0
    assert run(*common, "-o", str(tmp_path / "b.pt2"), "--layer-pattern", "*=block")[0] == 0
    wa, wb = (dict(torch.export.load(str(tmp_path / f)).state_dict) for f in ("a.pt2", "b.pt2"))
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


# -- end to end: compress predicts, build agrees ------------------------------------------------

def _build_formats(model: Path, calib: np.ndarray) -> dict[str, str]:
    """Per torch layer, the format ``slimgen build --sparse auto --target cortex-m4`` picks."""
    g = api.import_model(model, None, "t")
    c = api.compile_graph(g, api.to_ir_layout(calib, g),
                          api.BuildOptions(sparse="auto", target="cortex-m4"))
    nodes = {n.name: n for n in c.quant_graph.nodes}
    return {nodes[k].origin.split(" ")[0]: v["format"] for k, v in c.sparse.items()}


@pytest.mark.parametrize("extra,sparsity", [
    ([], "0.5"),
    (["--prune-method", "obs", "--obs-samples", "64", "--layer-pattern", "classifier=1:4"],
     "0.75"),
])
def test_build_picks_the_format_compress_predicted(digits_cnn, digits_npz, tmp_path, extra,
                                                   sparsity):
    out = tmp_path / "auto.pt2"
    code, log = run(str(digits_cnn), "--data", str(digits_npz), "-o", str(out), "--pattern",
                    "auto", "--target", "cortex-m4", "--sparsity", sparsity, "--epochs", "0",
                    *extra)
    assert code == 0, log
    assert "per-layer patterns at sparsity" in log and "est. cycles on m4" in log
    rep = json.loads((tmp_path / "auto.report.json").read_text())
    plan = rep["stages"][-1]["layer_patterns"]
    assert plan["core"] == "m4" and rep["stages"][-1]["stage"].startswith("pruned auto")
    layers = plan["layers"]
    for r in layers.values():  # why: every candidate's estimate, and dense's
        assert r["dense_cycles"] > 0 and r["pattern"] in r["patterns"]
        assert all(c["est_cycles"] > 0 for c in r["patterns"].values())
    if extra:
        assert layers["classifier"]["pattern"] == "1:4"
        assert layers["classifier"]["why"].startswith("--layer-pattern")
    # the patterns differ between layers (else this would not test per-layer masks)
    assert len({r["pattern"] for r in layers.values()}) > 1, layers
    predicted = {n: r["build_format"] for n, r in layers.items()}
    got = _build_formats(out, np.load(digits_npz)["x_train"][:64])
    assert {n: got.get(n, "dense") for n in predicted} == predicted
    w = dict(torch.export.load(str(out)).state_dict)
    for n, r in layers.items():  # and the saved weights have each layer's pattern
        rows = w[f"{n}.weight"]
        if rows.dim() == 4:  # OHWI rows
            rows = rows.permute(0, 2, 3, 1).reshape(rows.shape[0], -1)
        else:  # the classifier reads NHWC columns of 4x4 pixels x 32 channels
            rows = rows.reshape(10, 32, 16).permute(0, 2, 1).reshape(10, -1)
        p = parse_pattern(r["pattern"])
        runs = (rows != 0).reshape(rows.shape[0], -1, p.group or 1).sum(2)
        if p.kind == "n:m":
            assert (runs <= p.n).all(), n
        elif p.kind == "block":
            assert ((runs == 0) | (runs == 4)).all(), n
