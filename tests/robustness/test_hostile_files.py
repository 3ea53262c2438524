"""Files crafted to attack slimgen: a .pt2 that runs code when torch loads it, and build folders
whose graph files or report lie. Each is refused with a clean error, and no planted code runs.

The fuzzers in test_fuzz.py explore the same surfaces at random; the cases here are the shapes of
attack that random mutation would take too long to find.
"""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from slimgen import api
from slimgen.errors import InputError

from tests.e2e.test_cli import Tiny
from tests.pipeline import random_inputs, write_npz
from tests.robustness.conftest import SHAPE, assert_clean_error, assert_nothing_written, cli


class _Plant:
    """Unpickling this creates the file ``path``: proof that code from the model ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _rewrite(src: Path, dest: Path, edit) -> Path:
    """Copy the zip ``src`` to ``dest``, passing every member through ``edit(name, bytes)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info.filename)))
    return dest


def _pickled_weight(marker: Path):
    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("model_weights_config.json"):
            cfg = json.loads(data)
            cfg["config"]["conv.weight"]["use_pickle"] = True
            return json.dumps(cfg).encode()
        if name.endswith("weights/weight_0"):
            return pickle.dumps(_Plant(marker), protocol=2)
        return data
    return edit


def _pickled_sample_inputs(marker: Path):
    def edit(name: str, data: bytes) -> bytes:
        return pickle.dumps(_Plant(marker), protocol=2) if name.endswith(
            "sample_inputs/model.pt") else data
    return edit


@pytest.mark.parametrize("attack", [_pickled_weight, _pickled_sample_inputs])
def test_pt2_with_planted_pickle_does_not_run(tiny, tmp_path, attack):
    """torch.export.load unpickles these parts with weights_only=False; slimgen must not let it
    without --trust-pickle (regression: both attacks created the marker file before the fix)."""
    _, pt2, calib = tiny
    marker = tmp_path / "PLANTED"
    evil = _rewrite(pt2, tmp_path / "evil.pt2", attack(marker))
    r = cli("build", evil, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "pickled Python objects", "arbitrary code", "--trust-pickle")
    assert not marker.exists(), "code from the model file ran"
    assert_nothing_written(tmp_path / "o")
    r = cli("analyze", evil)
    assert r.exit_code == 2 and not marker.exists(), r.stderr


def test_trusted_pt2_with_pickled_weight_still_loads(tiny, tmp_path):
    """--trust-pickle restores torch's own behaviour (here: a plain tensor in a pickle)."""
    _, pt2, calib = tiny
    buf = tmp_path / "w.pt"
    torch.save(Tiny().eval().conv.weight, buf)

    def edit(name: str, data: bytes) -> bytes:
        if name.endswith("model_weights_config.json"):
            cfg = json.loads(data)
            cfg["config"]["conv.weight"]["use_pickle"] = True
            return json.dumps(cfg).encode()
        return buf.read_bytes() if name.endswith("weights/weight_0") else data

    ok = _rewrite(pt2, tmp_path / "ok.pt2", edit)
    # A tensor saved by torch.save passes the weights-only unpickler: no trust needed.
    r = cli("build", ok, "--calib", calib, "-o", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.stderr


# -- hostile build folders -----------------------------------------------------------------

def _edit_json(out: Path, rel: str, edit) -> None:
    p = out / rel
    p.write_text(json.dumps(edit(json.loads(p.read_text()))))


def _first_conv_rq(doc):
    return doc["nodes"][0]["attrs"]["rq"]


HOSTILE = {
    "not-a-dict": ("slimgen/quant.json", lambda d: [1, 2, 3]),
    "negative-value-index": ("slimgen/quant.json",
                             lambda d: d | {"outputs": [-1]}),
    "value-index-past-end": ("slimgen/quant.json",
                             lambda d: d | {"inputs": [10 ** 6]}),
    "huge-shape": ("slimgen/quant.json",
                   lambda d: {**d, "values": [{**d["values"][0], "shape": [10 ** 6, 10 ** 6]}]
                              + d["values"][1:]}),
    "string-shape": ("slimgen/quant.json",
                     lambda d: {**d, "values": [{**d["values"][0], "shape": "abc"}]
                                + d["values"][1:]}),
    "object-dtype-constant": ("slimgen/quant.json",
                              lambda d: (_first_conv_rq(d)["mult"].update(dtype="O"), d)[1]),
    "constant-past-blob": ("slimgen/quant.json",
                           lambda d: (_first_conv_rq(d)["mult"].update(__nd__=10 ** 9), d)[1]),
    "unknown-attrs-class": ("slimgen/quant.json",
                            lambda d: (d["nodes"][0]["attrs"].update(__dc__="os.system"), d)[1]),
    "bad-attr-field": ("slimgen/quant.json",
                       lambda d: (d["nodes"][0]["attrs"].update(evil=1), d)[1]),
    "wrong-stage": ("slimgen/quant.json", lambda d: d | {"stage": "float"}),
    # Found by a random fuzz run: a string where the node's input list belongs.
    "node-inputs-not-a-list": ("slimgen/quant.json",
                               lambda d: (d["nodes"][0].update(inputs=""), d)[1]),
    "node-without-inputs": ("slimgen/quant.json",
                            lambda d: (d["nodes"][0].update(inputs=[]), d)[1]),
    "deep-nesting": ("slimgen/quant.json", "deep-nesting"),
    "report-name-path": ("report.json", lambda r: r | {"name": "../../../tmp/evil"}),
    "report-arena-too-small": ("report.json", lambda r: r | {"arena_bytes": 1}),
    "report-arena-huge": ("report.json", lambda r: r | {"arena_bytes": 10 ** 15}),
    "report-output-bytes": ("report.json",
                            lambda r: (r["output"].update(bytes=10 ** 9), r)[1]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_build_folder_is_refused(built, tmp_path, case):
    out = tmp_path / "o"
    shutil.copytree(built, out)
    rel, edit = HOSTILE[case]
    if edit == "deep-nesting":
        (out / rel).write_text("[" * 100000 + "]" * 100000)  # json.loads: RecursionError
    else:
        _edit_json(out, rel, edit)
    inputs = write_npz(tmp_path / "t.npz", x=random_inputs(SHAPE, 2, 0))
    r = cli("verify", out, "--inputs", inputs, "--json")
    assert_clean_error(r, "damaged", "rebuild")


def test_graph_that_loads_but_cannot_run(built, tmp_path):
    """A graph that passes every structural check, but whose Linear reads the conv's
    weights: only running it shows the shapes disagree."""
    out = tmp_path / "o"
    shutil.copytree(built, out)
    _edit_json(out, "slimgen/quant.json",
               lambda d: (d["nodes"][1].update(inputs=[3, 1, 5]), d)[1])
    x = random_inputs(SHAPE, 2, 0)
    with pytest.raises(InputError, match="cannot be run|damaged"):
        api.verify(out, write_npz(tmp_path / "t.npz", x=x))


def test_truncated_blob(built, tmp_path):
    out = tmp_path / "o"
    shutil.copytree(built, out)
    blob = out / "slimgen" / "quant.bin"
    blob.write_bytes(blob.read_bytes()[:100])
    with pytest.raises(InputError, match="damaged"):
        api.load_built(out)


def test_torchscript_that_crashes_torchs_converter(tmp_path):
    """Regression (found by test_fuzz.py): a TorchScript archive whose fc.bias storage is empty
    made torch's TorchScript-to-export converter segfault, killing slimgen. The conversion now
    runs in a child process; whatever torch does, slimgen answers with a clean error."""
    torch.manual_seed(0)
    ts = tmp_path / "ts.pt"
    torch.jit.script(Tiny().eval()).save(str(ts))
    bad = _rewrite(ts, tmp_path / "bad.pt", lambda name, data: b"" if name.endswith(
        "/data/3") else data)
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    r = cli("build", bad, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "bad.pt", "torch.export.save")
    assert_nothing_written(tmp_path / "o")
