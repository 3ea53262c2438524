"""The wheel ships kernels/, templates/ and boards/, and an installed slimgen finds them there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_data_and_finds_it(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    wheel = next((tmp_path / "dist").glob("slimgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("slimgen/_data/kernels/include/sg_kernels.h",
                     "slimgen/_data/kernels/src/conv/sg_conv2d_s8.c",
                     "slimgen/_data/templates/model/model.c.j2",
                     "slimgen/_data/boards/mps2-an386/board.toml",
                     "slimgen/cli.py"):
        assert required in names, required
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    proc = subprocess.run(
        [sys.executable, "-c", "import slimgen.paths as p; print(p.data_root())"],
        capture_output=True, text=True, env={"PYTHONPATH": str(unpacked)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == unpacked / "slimgen" / "_data"
