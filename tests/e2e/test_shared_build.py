"""``slimgen build --sparse shared`` (and ``--sparse auto --sparse-objective size``) on a pruned
model whose layers share 15 int8 values each: bit-exact with the integer reference on the host
and on the emulated Cortex-M4 (mps2-an386, DSP path); flash per non-zero below the
unstructured format's."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from slimgen import api
from slimgen.firmware.build import build_firmware
from slimgen.firmware.qemu import run_on_board
from slimgen.lower.sparse_select import AUTO_MARGIN
from torch import nn

from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import build_model, random_inputs

SHAPE = (1, 8, 5, 5)
LEVELS = torch.tensor([-127.0, -100, -80, -60, -40, -25, -12, 10, 20, 35, 50, 70, 90, 110, 127])


def share_rows(w: torch.Tensor, keep: float, gen: torch.Generator) -> torch.Tensor:
    """(out, k) rows pruned to ``keep`` and snapped to LEVELS on the int8 grid of each row
    (scale = max|row| / 127, as slimgen quantizes): at most 15 distinct int8 values."""
    w = w * (torch.rand(w.shape, generator=gen) < keep)
    amax = w.abs().amax(1, keepdim=True).clamp_min(1e-6)
    u = 127.0 * w / amax
    snapped = LEVELS[(u[..., None] - LEVELS).abs().argmin(-1)]
    return torch.where(w != 0, snapped * amax / 127.0, torch.zeros_like(w))


class SharedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pw1 = nn.Conv2d(8, 64, 1)
        self.pw2 = nn.Conv2d(64, 32, 1)
        self.conv = nn.Conv2d(32, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 5 * 5, 96)
        self.fc2 = nn.Linear(96, 10)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for layer in (self.pw1, self.pw2, self.conv, self.fc1, self.fc2):
                wt = layer.weight
                rows = wt.reshape(wt.shape[0], -1)
                wt.copy_((share_rows(rows, 0.15, gen) * 3.0).reshape(wt.shape))

    def forward(self, x):
        x = torch.relu(self.pw2(torch.relu(self.pw1(x))))
        x = torch.relu(self.conv(x))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = {}
    for mode, objective in (("shared", "speed"), ("auto", "size")):
        torch.manual_seed(0)
        tmp = tmp_path_factory.mktemp(f"{mode}-{objective}")
        out[mode] = build_model(SharedNet(), SHAPE, tmp, name="shared_net", sparse=mode,
                                sparse_objective=objective)
    return out


def _sparse_layers(out):
    layers = json.loads((out / "report.json").read_text())["layers"]
    return [lyr for lyr in layers if "sparse" in lyr]


@pytest.mark.parametrize("mode", ("shared", "auto"))
def test_shared_build_is_bit_exact_on_host(builds, tmp_path, mode):
    out = builds[mode]
    np.savez(tmp_path / "x.npz", x=random_inputs(SHAPE, 6, seed=3))
    assert api.verify(out, tmp_path / "x.npz")["bit_exact"]
    layers = _sparse_layers(out)
    assert len(layers) == 5
    for lyr in layers:
        s = lyr["sparse"]
        cands = {c["format"]: c for c in s["candidates"]}
        assert "shared" in cands and "shared" not in s["refused"], s
        if mode == "shared":
            assert s["format"] == "shared" and lyr["kernel"].endswith("_shared")
        else:  # size objective: fewest weight bytes among candidates clearly not slower
            bar = cands["dense"]["est_cycles"] * (1 - AUTO_MARGIN)
            ok = [cands["dense"]] + [c for c in s["candidates"] if c["est_cycles"] <= bar]
            assert cands[s["format"]]["weight_bytes"] == min(c["weight_bytes"] for c in ok)
    packed = {f: sum(next(c["weight_bytes"] for c in lyr["sparse"]["candidates"]
                          if c["format"] == f) for lyr in layers)
              for f in ("shared", "unstructured")}
    # one byte per entry against two (row lengths and the codebooks included)
    assert packed["shared"] < 0.65 * packed["unstructured"], packed


def test_a_layer_with_16_values_is_refused_with_the_reason(tmp_path):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(40, 8))
    out = build_model(net, (1, 40), tmp_path, name="dense16", sparse="shared")
    (lyr,) = _sparse_layers(out)
    assert lyr["sparse"]["format"] == "dense"
    assert "distinct non-zero int8 values" in lyr["sparse"]["refused"]["shared"]
    assert "--share-weights 16" in lyr["sparse"]["refused"]["shared"]


@pytest.mark.qemu
@needs_qemu
@pytest.mark.timeout(300)
def test_shared_build_is_bit_exact_on_emulated_m4(builds, tmp_path):
    out = shutil.copytree(builds["shared"], tmp_path / "out")
    x = random_inputs(SHAPE, 3, seed=4)
    _, qg, _ = api.load_built(out)
    xq = api.quantize_inputs(qg, x, out)
    expected = api.reference_outputs(out, x)
    build_firmware(out, None, "mps2-an386")
    result = run_on_board(out, xq, expected)
    assert result["bit_exact"], result["mismatches"]
