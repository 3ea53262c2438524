"""Reproducible output and static analysis: the same inputs give byte-identical folders (the
host case is tests/e2e/test_cli.py), and cppcheck finds nothing in kernels/ or generated C."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from slimgen import paths

from tests.models import ZOO
from tests.pipeline import build_model
from tests.robustness.conftest import cli

# warning: real bugs; style / performance / portability: cheap to keep clean. unusedFunction
# stays off: kernels are a library, and a model uses only some of them.
CPPCHECK = ["cppcheck", "--enable=warning,style,performance,portability", "--std=c99",
            "--error-exitcode=1", "--quiet", "--inline-suppr"]
needs_cppcheck = pytest.mark.skipif(shutil.which("cppcheck") is None,
                                    reason="cppcheck not installed (apt-get install cppcheck)")


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_firmware_build_twice_is_byte_identical(tiny, tmp_path):
    """Two builds into folders at different paths: every file, ELF and map included, is equal
    (the firmware names paths relative to OUT/firmware)."""
    _, pt2, calib = tiny
    outs = [tmp_path / "a" / "net", tmp_path / "deeper" / "b" / "net"]
    for out in outs:
        out.parent.mkdir(parents=True)
        r = cli("build", pt2, "--calib", calib, "--target", "cortex-m4", "--board", "mps2-an386",
                "-o", out, "-q")
        assert r.exit_code == 0, r.stderr
    a, b = digest(outs[0]), digest(outs[1])
    assert "firmware/firmware.elf" in a and "firmware/firmware.bin" in a
    assert a == b, sorted(k for k in a if a[k] != b.get(k))


@needs_cppcheck
def test_cppcheck_kernels():
    kernels = paths.kernels_dir()
    proc = subprocess.run([*CPPCHECK, f"-I{kernels / 'include'}", f"-I{kernels / 'src'}",
                           str(kernels / "src")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_cppcheck
def test_cppcheck_generated_model(tmp_path):
    """A model with conv, residual add, average pooling and Linear layers: the generated
    model.c and weights.c, with the kernels they use."""
    model, shape = ZOO["residual"]()
    out = build_model(model, shape, tmp_path, n_calib=4)
    proc = subprocess.run([*CPPCHECK, f"-I{out}", f"-I{out / 'kernels' / 'include'}",
                           f"-I{out / 'kernels' / 'src'}", str(out / "model.c"),
                           str(out / "weights.c"), str(out / "kernels" / "src")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
