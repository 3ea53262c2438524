"""Every zoo and MLPerf Tiny architecture: import matches torch, the C is bit-exact.

Two different questions, never mixed: the float graph slimgen imported must compute what torch
computes (tolerance: float rounding), and the generated C must equal the integer reference
(tolerance: none).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from slimgen import api
from slimgen.ir import float_interp
from tests.models import MLPERF, ZOO
from tests.pipeline import build_model, random_inputs, write_npz

MODELS = {**ZOO, **MLPERF}


@pytest.mark.parametrize("name", sorted(ZOO) + sorted(MLPERF))
def test_import_matches_torch(name, tmp_path):
    model, shape = MODELS[name]()
    ep = torch.export.export(model, (torch.zeros(shape),))
    g = api.import_model_from_program(ep, "m")
    x = random_inputs(shape, 4, 7)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy().reshape(4, -1)
    got = float_interp.run(g, api.to_ir_layout(x, g)).reshape(4, -1)
    if g.output_layout == "nhwc":  # slimgen's output keeps NHWC; torch's is NCHW
        c, h, w = g.output_torch_shape
        got = got.reshape(4, h, w, c).transpose(0, 3, 1, 2).reshape(4, -1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("name", sorted(ZOO) + sorted(MLPERF))
def test_build_verify_bit_exact(name, tmp_path):
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path, n_calib=8 if name in MLPERF else 16)
    tests = write_npz(tmp_path / "test.npz", x=random_inputs(shape, 6, 2))
    res = api.verify(out, tests)
    assert res["bit_exact"], res.get("first_mismatch")
    assert res["samples"] == 6
    # Quantization quality on random inputs is a sanity bound, not a spec.
    assert res["cosine"] > 0.9, res


@pytest.mark.parametrize("cc", ["gcc", "clang"])
@pytest.mark.parametrize("name", ["residual", "pad_dilated", *sorted(MLPERF)])
def test_generated_code_compiles_warning_free(name, cc, tmp_path):
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path, n_calib=4)
    proc = subprocess.run(["make", "-C", str(out), f"CC={cc}", "CFLAGS=-O1 -Wconversion"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
