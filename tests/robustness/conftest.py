"""Fixtures of the robustness suite: one small valid model, its calibration data and its build."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from slimgen.cli import main

from tests.e2e.test_cli import Tiny
from tests.pipeline import export_pt2, random_inputs, write_npz

SHAPE = (1, 3, 6, 6)


def cli(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def assert_clean_error(result, *words: str) -> None:
    err = result.stderr
    assert result.exit_code == 2, (result.exit_code, err, result.stdout)
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("slimgen: error:"), err
    # The second line, indented, is the fix.
    assert "\n  " in err.strip(), f"no fix line in: {err}"
    for w in words:
        assert w.lower() in err.lower(), (w, err)


def assert_nothing_written(out: Path) -> None:
    assert not out.exists(), sorted(out.rglob("*")) if out.is_dir() else out
    parent = out.parent if out.parent.is_dir() else None
    if parent is not None:
        stray = [p.name for p in parent.iterdir() if p.name.startswith(f".{out.name}.")]
        assert not stray, stray


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(folder, tiny.pt2, calib.npz) of a conv + linear model taking (N, 3, 6, 6)."""
    tmp = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    pt2 = export_pt2(Tiny().eval(), SHAPE, tmp / "tiny.pt2")
    calib = write_npz(tmp / "calib.npz", x=random_inputs(SHAPE, 8, 0))
    return tmp, pt2, calib


@pytest.fixture(scope="module")
def built(tiny):
    """The host build folder of ``tiny``; tests copy it before changing anything."""
    tmp, pt2, calib = tiny
    out = tmp / "built"
    r = cli("build", pt2, "--calib", calib, "-o", out, "-q")
    assert r.exit_code == 0, r.stderr
    return out
