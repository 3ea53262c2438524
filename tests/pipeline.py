"""Helpers shared by the end-to-end tests: export a torch model, build it, verify it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from slimgen import api


def export_pt2(model: torch.nn.Module, input_shape: tuple[int, ...], path: Path) -> Path:
    ep = torch.export.export(model.eval(), (torch.zeros(input_shape),))
    torch.export.save(ep, str(path))
    return path


def random_inputs(input_shape: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *input_shape[1:])).astype(np.float32)


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def build_model(model: torch.nn.Module, input_shape: tuple[int, ...], tmp: Path,
                n_calib: int = 16, name: str = "m", **opts) -> Path:
    pt2 = export_pt2(model, input_shape, tmp / f"{name}.pt2")
    calib = write_npz(tmp / "calib.npz", x=random_inputs(input_shape, n_calib, 1))
    out = tmp / "out"
    api.build(pt2, calib, out, api.BuildOptions(name=name, **opts))
    return out


def slimgen_cli(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "slimgen", *args], capture_output=True,
                          text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"slimgen {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def verify_json(out: Path, inputs: Path) -> dict:
    proc = slimgen_cli("verify", str(out), "--inputs", str(inputs), "--json")
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)
