"""The bad-input catalog (docs/errors.md): every row is one test here or in tests/e2e/test_cli.py.

Each asserts exit code 2, a one-paragraph message that names the problem and its fix, no
traceback, and that nothing was half-written (no OUT, no temporary sibling folder). The commands
run in-process through click's runner, which goes through the same ``run_guarded`` as the
console script, so an unexpected exception shows up as exit 3 ("internal error"), never as 2.
tests/e2e/test_cli.py keeps the subprocess-level checks (stderr starts with "slimgen: error:").
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
import torch
from torch import nn

from tests.e2e.test_cli import Tiny
from tests.pipeline import export_pt2, random_inputs, write_npz
from tests.robustness.conftest import SHAPE, assert_clean_error, assert_nothing_written, cli

# -- missing, empty, random and truncated files ------------------------------------------------

def test_missing_calibration_file(tiny, tmp_path):
    _, pt2, _ = tiny
    r = cli("build", pt2, "--calib", tmp_path / "nope.npz", "-o", tmp_path / "o")
    assert_clean_error(r, "nope.npz", "does not exist", "check the path")
    assert_nothing_written(tmp_path / "o")


def test_missing_verify_inputs_and_folder(built, tmp_path):
    assert_clean_error(cli("verify", built, "--inputs", tmp_path / "nope.npz"), "does not exist")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    assert_clean_error(cli("verify", tmp_path / "nofolder", "--inputs", calib),
                       "not a slimgen build folder", "slimgen build")


RANDOM_BYTES = np.random.default_rng(0).bytes(4096)


@pytest.mark.parametrize("content", [b"", RANDOM_BYTES, b"PK\x03\x04" + RANDOM_BYTES[:500]],
                         ids=["empty", "random", "zip-magic"])
def test_unreadable_npz(tiny, tmp_path, content):
    _, pt2, _ = tiny
    bad = tmp_path / "bad.npz"
    bad.write_bytes(content)
    r = cli("build", pt2, "--calib", bad, "-o", tmp_path / "o")
    assert_clean_error(r, "bad.npz", "numpy.savez")
    assert "allow_pickle" not in r.stderr  # never advise loading a pickle from an unknown file
    assert_nothing_written(tmp_path / "o")


def test_truncated_npz(tiny, tmp_path):
    _, pt2, calib = tiny
    data = calib.read_bytes()
    for cut in (len(data) // 2, len(data) - 30):
        bad = tmp_path / "cut.npz"
        bad.write_bytes(data[:cut])
        r = cli("build", pt2, "--calib", bad, "-o", tmp_path / "o")
        assert_clean_error(r, "cut.npz", "truncated")
        assert_nothing_written(tmp_path / "o")


def test_npz_with_pickled_objects(tiny, tmp_path):
    _, pt2, _ = tiny
    bad = write_npz(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    r = cli("build", pt2, "--calib", bad, "-o", tmp_path / "o")
    assert_clean_error(r, "obj.npz", "pickled", "plain numeric arrays")


def test_truncated_torchscript(tmp_path):
    torch.manual_seed(0)
    ts = tmp_path / "ts.pt"
    torch.jit.script(Tiny().eval()).save(str(ts))
    data = ts.read_bytes()
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    for cut in (len(data) // 2, len(data) - 100):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        r = cli("build", tmp_path / "cut.pt", "--calib", calib, "-o", tmp_path / "o")
        assert_clean_error(r, "cut.pt", "truncated or corrupt")
        assert_nothing_written(tmp_path / "o")


def test_truncated_pickle_even_when_trusted(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(108, 5)).eval(), path)
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    r = cli("build", tmp_path / "cut.pt", "--calib", calib, "-o", tmp_path / "o",
            "--trust-pickle")
    assert_clean_error(r, "cut.pt", "truncated or corrupt")
    assert_nothing_written(tmp_path / "o")


def test_model_path_is_a_folder(tiny, tmp_path):
    _, _, calib = tiny
    r = cli("build", tmp_path, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "is a folder", ".pt2")


@pytest.mark.realdata
def test_truncated_tflite(shared_data, tmp_path):
    data = (shared_data / "mlperf-tiny-kws" / "kws_ref_model.tflite").read_bytes()
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(data[: len(data) // 2])
    r = cli("build", bad, "-o", tmp_path / "o")
    assert_clean_error(r, "cut.tflite", "TFLite")
    assert_nothing_written(tmp_path / "o")


# -- models slimgen cannot compile ---------------------------------------------------------------

def test_zero_sized_weight(tmp_path):
    pt2 = export_pt2(nn.Sequential(nn.Linear(8, 0)), (1, 8), tmp_path / "z.pt2")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs((1, 8), 2, 0))
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "zero-sized", "(0, 8)", "give it a size")
    assert_nothing_written(tmp_path / "o")


class EmptySlice(nn.Module):
    def forward(self, x):
        return x[:, :0] + 1.0


def test_zero_sized_intermediate(tmp_path):
    """Supported ops cannot produce an empty tensor from a non-empty one (torch refuses such
    convs and pools at export), so an empty slice is refused as the unsupported op it is; every
    node's shape is also checked for zero sizes at import."""
    pt2 = export_pt2(EmptySlice(), (1, 8), tmp_path / "z.pt2")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs((1, 8), 2, 0))
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "unsupported op", "aten.slice", "slimgen supports")
    assert_nothing_written(tmp_path / "o")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights(tmp_path, bad):
    torch.manual_seed(0)
    m = Tiny().eval()
    with torch.no_grad():
        m.fc.weight[2, 7] = bad
    pt2 = export_pt2(m, SHAPE, tmp_path / "nan.pt2")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs(SHAPE, 2, 0))
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, "NaN or Inf", "fc_weight", "training")
    assert_nothing_written(tmp_path / "o")


# -- calibration and test data -------------------------------------------------------------------

@pytest.mark.parametrize("arrays,words", [
    ({"x": np.full((2, 3, 6, 6), np.inf, np.float32)}, ["NaN or Inf"]),
    ({"x": np.full((2, 3, 6, 6), 1e39)}, ["NaN or Inf"]),  # float64 beyond float32's range
    ({"x": np.zeros((2, 3, 6, 6), np.complex64)}, ["complex64", "float32"]),
    ({"x": np.zeros((2, 3, 6, 6), bool)}, ["bool", "float32"]),
    ({"x": np.zeros((4, 3, 0, 6), np.float32)}, ["(3, 0, 6)", "(N, 3, 6, 6)"]),
    ({"x": np.zeros((6,), np.float32)}, ["batch first"]),
    ({"x": np.zeros((2, 6, 6, 3), np.float32)}, ["(6, 6, 3)", "(N, 3, 6, 6)"]),  # NHWC given
])
def test_bad_calibration_data(tiny, tmp_path, arrays, words):
    _, pt2, _ = tiny
    calib = write_npz(tmp_path / "bad.npz", **arrays)
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "o")
    assert_clean_error(r, *words)
    assert_nothing_written(tmp_path / "o")


@pytest.mark.parametrize("arrays,words", [
    ({"x": np.full((2, 3, 6, 6), np.nan, np.float32)}, ["NaN"]),
    ({"x": np.zeros((2, 3, 6, 7), np.float32)}, ["(3, 6, 7)"]),
    ({"x": np.zeros((2, 3, 6, 6), np.float32), "y": np.array([1.5, 2.0])}, ["labels", "integer"]),
    ({"x": np.zeros((2, 3, 6, 6), np.float32), "y": np.array([1, 2, 3])}, ["labels", "2 integers"]),
    ({"y": np.array([1, 2])}, ["no array named 'x'"]),
])
def test_bad_verify_inputs(built, tmp_path, arrays, words):
    inputs = write_npz(tmp_path / "t.npz", **arrays)
    assert_clean_error(cli("verify", built, "--inputs", inputs, "--json"), *words)


# -- targets, boards and fit ---------------------------------------------------------------------

@pytest.mark.parametrize("args,words", [
    (["--target", "cortex-m99"], ["unknown target", "cortex-m4"]),
    (["--board", "no-such-board"], ["unknown board", "mps2-an386"]),
    (["--target", "cortex-m0plus", "--board", "mps2-an386"], ["does not match", "cortex-m4"]),
])
def test_unknown_or_mismatched_target_and_board(tiny, tmp_path, args, words):
    _, pt2, calib = tiny
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "o", *args)
    assert r.exit_code == 2 and "internal error" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert_nothing_written(tmp_path / "o")


def test_analyze_unknown_board(tiny):
    _, pt2, _ = tiny
    r = cli("analyze", pt2, "--board", "no-such-board")
    assert r.exit_code == 2 and "unknown board" in r.stderr, r.stderr


def test_model_too_large_for_board_is_refused_before_calibration(tmp_path, monkeypatch):
    """A 2 MB model on a 512 KB board: the host pipeline's early check refuses it with numbers,
    and calibration never runs."""
    from slimgen import api

    def no_calibration(*a, **k):
        raise AssertionError("calibrated a model that cannot fit")

    monkeypatch.setattr(api, "compile_graph", no_calibration)
    pt2 = export_pt2(nn.Sequential(nn.Linear(1024, 2048)), (1, 1024), tmp_path / "m.pt2")
    calib = write_npz(tmp_path / "c.npz", x=random_inputs((1, 1024), 2, 0))
    r = cli("build", pt2, "--calib", calib, "--board", "nucleo-f446re", "-o", tmp_path / "o")
    assert_clean_error(r, "does not fit board nucleo-f446re", "524288 B of flash",
                       "slimgen analyze")
    assert_nothing_written(tmp_path / "o")


def test_fifty_million_parameters_refused_quickly(tmp_path):
    """50 M parameters (200 MB of float32): refused with numbers in seconds by both commands,
    before the weights are copied into the IR (build) and before anything is compiled."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Linear(7072, 7072).eval()  # 7072 * 7073 = 50,020,256 parameters
    pt2 = export_pt2(model, (1, 7072), tmp_path / "big.pt2")
    del model
    calib = write_npz(tmp_path / "c.npz", x=random_inputs((1, 7072), 2, 0))
    start = time.monotonic()
    r = cli("build", pt2, "--calib", calib, "--board", "nucleo-f446re", "-o", tmp_path / "o")
    build_s = time.monotonic() - start
    assert_clean_error(r, "does not fit", "50013184 B", "over by")
    assert_nothing_written(tmp_path / "o")
    start = time.monotonic()
    r = cli("analyze", pt2, "--board", "nucleo-f446re", "--json")
    analyze_s = time.monotonic() - start
    assert r.exit_code == 1, r.stderr
    assert "does not fit" not in r.stderr and '"problems": ["flash:' in r.stdout
    # Generous bounds for a shared 2-core CI machine; measured ~3 s and ~5 s when idle.
    assert build_s < 60 and analyze_s < 60, (build_s, analyze_s)


# -- output folders --------------------------------------------------------------------------

def test_output_under_a_regular_file(tiny, tmp_path):
    _, pt2, calib = tiny
    (tmp_path / "afile").write_text("x")
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "afile" / "out")
    assert_clean_error(r, "is a file", "inside a folder")
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("out", ["/proc/slimgen-out", "/proc/self/slimgen-out"])
def test_unwritable_output_even_for_root(tiny, out):
    """chmod does not stop root; /proc refuses new entries to everyone."""
    _, pt2, calib = tiny
    r = cli("build", pt2, "--calib", calib, "-o", out)
    assert_clean_error(r, "cannot write", "writable output location")


def test_verify_save_outputs_unwritable(built, tmp_path):
    (tmp_path / "afile").write_text("x")
    inputs = write_npz(tmp_path / "t.npz", x=random_inputs(SHAPE, 2, 0))
    for dest in ("/proc/slimgen-y.npz", str(tmp_path / "afile" / "y.npz")):
        r = cli("verify", built, "--inputs", inputs, "--save-outputs", dest)
        assert_clean_error(r, "cannot write --save-outputs", "writable path")


def test_output_parent_missing(tiny, tmp_path):
    _, pt2, calib = tiny
    r = cli("build", pt2, "--calib", calib, "-o", tmp_path / "no" / "such" / "out")
    assert_clean_error(r, "does not exist", "create it")
    assert not (tmp_path / "no").exists()


def test_force_replaces_foreign_folder(tiny, tmp_path):
    """Refused without --force (tests/e2e/test_cli.py); replaced wholesale with it."""
    _, pt2, calib = tiny
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert_clean_error(cli("build", pt2, "--calib", calib, "-o", out), "--force")
    assert (out / "precious.txt").read_text() == "keep me"
    r = cli("build", pt2, "--calib", calib, "-o", out, "--force", "-q")
    assert r.exit_code == 0, r.stderr
    assert not (out / "precious.txt").exists() and (out / "model.c").is_file()


def test_failed_build_keeps_the_previous_folder(tiny, tmp_path):
    """A rebuild that fails leaves the earlier good build untouched."""
    _, pt2, calib = tiny
    out = tmp_path / "o"
    assert cli("build", pt2, "--calib", calib, "-o", out, "-q").exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = write_npz(tmp_path / "bad.npz", x=np.full((2, 3, 6, 6), np.nan, np.float32))
    assert_clean_error(cli("build", pt2, "--calib", bad, "-o", out), "NaN")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]


# -- tools -----------------------------------------------------------------------------------

def _path_without(*tools: str) -> str:
    """A PATH holding links to python and make only, so the named tools are missing."""
    return os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep)
                           if not any(os.path.exists(os.path.join(d, t)) for t in tools))


def test_missing_host_compiler(built, tmp_path):
    inputs = write_npz(tmp_path / "t.npz", x=random_inputs(SHAPE, 2, 0))
    env = {"PATH": _path_without("cc", "gcc"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "CC": "cc"}
    r = cli("verify", built, "--inputs", inputs, env=env)
    assert_clean_error(r, "'cc'", "not on PATH", "apt-get install gcc")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_missing_arm_toolchain(tiny, tmp_path):
    _, pt2, calib = tiny
    r = cli("build", pt2, "--calib", calib, "--board", "mps2-an386", "-o", tmp_path / "o",
            env={"PATH": _path_without("arm-none-eabi-gcc")})
    assert r.exit_code == 2 and "internal error" not in r.stderr, r.stderr
    assert "gcc-arm-none-eabi libnewlib-arm-none-eabi" in r.stderr, r.stderr
    assert_nothing_written(tmp_path / "o")


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_missing_qemu(tiny, tmp_path):
    _, pt2, calib = tiny
    out = tmp_path / "fw"
    r = cli("build", pt2, "--calib", calib, "--board", "mps2-an386", "-o", out, "-q")
    assert r.exit_code == 0, r.stderr
    r = cli("run", out, "--inputs", calib, env={"PATH": _path_without("qemu-system-arm")})
    assert r.exit_code == 2 and "internal error" not in r.stderr, r.stderr
    assert "apt-get install qemu-system-arm" in r.stderr, r.stderr
