"""The command line: bad input gets one clear paragraph, exit 2, no traceback, no half-written OUT;
good input gives byte-identical folders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.pipeline import export_pt2, random_inputs, slimgen_cli, write_npz


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


class WithGelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(nn.functional.gelu(self.fc1(x)))


SHAPE = (1, 3, 6, 6)


@pytest.fixture
def tiny(tmp_path):
    torch.manual_seed(0)
    pt2 = export_pt2(Tiny().eval(), SHAPE, tmp_path / "tiny.pt2")
    calib = write_npz(tmp_path / "calib.npz", x=random_inputs(SHAPE, 8, 0))
    return tmp_path, pt2, calib


def _assert_clean_error(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("slimgen: error:"), proc.stderr
    for w in words:
        assert w.lower() in proc.stderr.lower(), (w, proc.stderr)


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_build_twice_is_byte_identical(tiny):
    tmp, pt2, calib = tiny
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp / "a"), check=True)
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp / "b"), check=True)
    a, b = _digest(tmp / "a"), _digest(tmp / "b")
    assert a == b
    assert {"model.h", "model.c", "weights.c", "Makefile", "report.json"} <= set(a)


def test_verify_json_keys_and_exit_code(tiny):
    tmp, pt2, calib = tiny
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp / "o"), check=True)
    x = random_inputs(SHAPE, 5, 3)
    tests = write_npz(tmp / "t.npz", x=x, y=np.array([0, 1, -1, 3, 4]))
    proc = slimgen_cli("verify", str(tmp / "o"), "--inputs", str(tests), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    for key in ("bit_exact", "samples", "cosine", "max_abs_error", "top1_agreement",
                "accuracy_float", "accuracy_int8"):
        assert key in res
    assert res["bit_exact"] is True and res["samples"] == 5 and res["labelled_samples"] == 4


def test_verify_fails_when_c_is_wrong(tiny):
    """Tamper with one weight in weights.c: verify must notice and exit 1."""
    tmp, pt2, calib = tiny
    out = tmp / "o"
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(out), check=True)
    src = (out / "weights.c").read_text()
    marker = "_L0_w[108] = {\n    "
    i = src.index(marker) + len(marker)
    j = src.index(",", i)
    old = int(src[i:j])
    src = src[:i] + str(old + 1 if old < 127 else old - 1) + src[j:]
    (out / "weights.c").write_text(src)
    tests = write_npz(tmp / "t.npz", x=random_inputs(SHAPE, 5, 3))
    proc = slimgen_cli("verify", str(out), "--inputs", str(tests), "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["bit_exact"] is False


def test_missing_model(tmp_path):
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    proc = slimgen_cli("build", str(tmp_path / "nope.pt2"), "--calib", str(calib), "-o",
                       str(tmp_path / "o"))
    _assert_clean_error(proc, "does not exist")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("content", [b"", b"\x00garbage" * 100, b"PK\x03\x04truncated"])
def test_corrupt_model(tmp_path, content):
    bad = tmp_path / "bad.pt2"
    bad.write_bytes(content)
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    proc = slimgen_cli("build", str(bad), "--calib", str(calib), "-o", str(tmp_path / "o"))
    _assert_clean_error(proc, str(bad.name))
    assert not (tmp_path / "o").exists()


def test_truncated_pt2(tiny):
    tmp, pt2, calib = tiny
    data = pt2.read_bytes()
    cut = tmp / "cut.pt2"
    cut.write_bytes(data[: len(data) // 2])
    proc = slimgen_cli("build", str(cut), "--calib", str(calib), "-o", str(tmp / "o"))
    _assert_clean_error(proc, "cut.pt2")
    assert not (tmp / "o").exists()


def test_unsupported_op_is_named_with_its_place(tmp_path):
    pt2 = export_pt2(WithGelu().eval(), (1, 8), tmp_path / "g.pt2")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs((1, 8), 4, 0))
    proc = slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp_path / "o"))
    _assert_clean_error(proc, "gelu", "supports")
    assert not (tmp_path / "o").exists()


def test_pickle_needs_trust(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    # Only torch classes inside, so the unpickling process can import them.
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5)).eval()
    torch.save(model, path)
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 4, 0))
    proc = slimgen_cli("build", str(path), "--calib", str(calib), "-o", str(tmp_path / "o"))
    _assert_clean_error(proc, "--trust-pickle", "runs arbitrary code")
    proc = slimgen_cli("build", str(path), "--calib", str(calib), "-o", str(tmp_path / "o"),
                       "--trust-pickle")
    assert proc.returncode == 0, proc.stderr


def test_pickle_of_unimportable_class_says_so(tmp_path):
    path = tmp_path / "m.pt"
    torch.save(Tiny().eval(), path)  # class lives in this test module
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 4, 0))
    proc = slimgen_cli("build", str(path), "--calib", str(calib), "-o", str(tmp_path / "o"),
                       "--trust-pickle")
    _assert_clean_error(proc, "cannot be found", "PYTHONPATH")


def test_torchscript_model_builds_and_verifies(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "ts.pt"
    torch.jit.script(Tiny().eval()).save(str(path))
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 8, 0))
    slimgen_cli("build", str(path), "--calib", str(calib), "-o", str(tmp_path / "o"), check=True)
    proc = slimgen_cli("verify", str(tmp_path / "o"), "--inputs", str(calib), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["bit_exact"]


@pytest.mark.parametrize("arrays,words", [
    ({"x": np.zeros((4, 3, 7, 7), np.float32)}, ["shape", "(3, 6, 6)"]),
    ({"images": np.zeros((4, 3, 6, 6), np.float32)}, ["no array named 'x'", "images"]),
    ({"x": np.array([["a"] * 3] * 2)}, ["dtype"]),
    ({"x": np.full((2, 3, 6, 6), np.nan, np.float32)}, ["NaN"]),
    ({"x": np.zeros((0, 3, 6, 6), np.float32)}, ["at least one sample"]),
])
def test_bad_calibration(tiny, arrays, words):
    tmp, pt2, _ = tiny
    calib = write_npz(tmp / "bad.npz", **arrays)
    proc = slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp / "o"))
    _assert_clean_error(proc, *words)
    assert not (tmp / "o").exists()


def test_refuses_foreign_non_empty_folder(tiny):
    tmp, pt2, calib = tiny
    out = tmp / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    proc = slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(out))
    _assert_clean_error(proc, "not empty", "--force")
    assert (out / "precious.txt").read_text() == "keep me"


def test_output_path_is_a_file(tiny):
    tmp, pt2, calib = tiny
    f = tmp / "file"
    f.write_text("x")
    proc = slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(f))
    _assert_clean_error(proc, "is a file")


def test_rebuild_replaces_own_folder(tiny):
    tmp, pt2, calib = tiny
    out = tmp / "o"
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(out), check=True)
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(out), "--name", "second",
                check=True)
    assert json.loads((out / "report.json").read_text())["name"] == "second"
    assert not [p for p in tmp.iterdir() if p.name.startswith(".o.")]


class GlobalPool(nn.Module):
    def forward(self, x):
        return torch.relu(x).mean((2, 3))


def test_dynamic_spatial_shape_is_refused(tmp_path):
    h = torch.export.Dim("h", min=4, max=64)
    ep = torch.export.export(GlobalPool(), (torch.zeros(1, 3, 6, 6),), dynamic_shapes=({2: h},))
    pt2 = tmp_path / "dyn.pt2"
    torch.export.save(ep, str(pt2))
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 4, 0))
    proc = slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp_path / "o"))
    _assert_clean_error(proc, "dynamic")


def test_dynamic_batch_is_accepted(tmp_path):
    batch = torch.export.Dim("batch", min=2, max=64)
    ep = torch.export.export(Tiny().eval(), (torch.zeros(2, 3, 6, 6),),
                             dynamic_shapes=({0: batch},))
    pt2 = tmp_path / "dyn.pt2"
    torch.export.save(ep, str(pt2))
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 4, 0))
    slimgen_cli("build", str(pt2), "--calib", str(calib), "-o", str(tmp_path / "o"), check=True)
