"""``slimgen build --sparse``: a pruned model with fc and 1x1 layers builds with every sparse
format and with auto; the generated C is bit-exact with the integer reference on the host, and
on the emulated Cortex-M4 (mps2-an386, DSP path on the real instruction set); report.json says
which kernel each layer got and the estimated cycles of every candidate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from slimgen import api
from slimgen.firmware.build import build_firmware
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import build_model, random_inputs

SHAPE = (1, 8, 5, 5)
FORMATS = ("unstructured", "bsr1x4", "nm2:4", "nm1:4")


class PrunedNet(nn.Module):
    """1x1 convs, a padded 3x3 conv and Linears whose weights are 1:4 with half of the 1x4
    blocks empty along the reduction axis in slimgen's layout (OHWI rows for convs): every
    format holds them, and they are sparse enough (12.5 %) for auto to prefer a sparse kernel."""

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
                ohwi = wt.permute(0, 2, 3, 1) if wt.ndim == 4 else wt
                w = ohwi.reshape(wt.shape[0], -1)
                keep = torch.zeros_like(w, dtype=torch.bool).view(w.shape[0], -1, 4)
                pos = torch.randint(0, 4, keep.shape[:2], generator=gen)
                keep.scatter_(2, pos.unsqueeze(2), True)
                keep &= (torch.rand(keep.shape[:2], generator=gen) < 0.5).unsqueeze(2)
                # x4 keeps the output range after removing 7/8 of the weights
                pruned = (w * keep.view_as(w) * 4.0).view(ohwi.shape)
                wt.copy_(pruned.permute(0, 3, 1, 2) if wt.ndim == 4 else pruned)

    def forward(self, x):
        x = torch.relu(self.pw2(torch.relu(self.pw1(x))))
        x = torch.relu(self.conv(x))
        # The Linear reads the NCHW flatten; slimgen permutes its columns (fold_flatten), which
        # keeps whole 1x4 blocks only per channel group, so fc1 is checked by what fits.
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    out = {}
    for mode in ("off", "auto", *FORMATS):
        torch.manual_seed(0)
        tmp = tmp_path_factory.mktemp(mode.replace(":", "_"))
        out[mode] = build_model(PrunedNet(), SHAPE, tmp, name="pruned", sparse=mode)
    return out


def _layers(out):
    return json.loads((out / "report.json").read_text())["layers"]


@pytest.mark.parametrize("mode", ("off", "auto", *FORMATS))
def test_sparse_build_is_bit_exact_on_host(builds, tmp_path, mode):
    out = builds[mode]
    x = random_inputs(SHAPE, 6, seed=3)
    np.savez(tmp_path / "x.npz", x=x)
    result = api.verify(out, tmp_path / "x.npz")
    assert result["bit_exact"], result
    layers = _layers(out)
    sparse = [lyr for lyr in layers if "sparse" in lyr]
    if mode == "off":
        assert not sparse
        return
    assert len(sparse) == 5  # the 1x1 convs, the 3x3 conv and the Linears were considered
    for lyr in sparse:
        s = lyr["sparse"]
        assert s["kernel"] == lyr["kernel"]
        assert {c["format"] for c in s["candidates"]} >= {"dense"}
        assert all(c["est_cycles"] > 0 for c in s["candidates"])
        if mode == "auto":
            best = min(s["candidates"], key=lambda c: c["est_cycles"])
            assert s["format"] == best["format"]
        elif s["format"] != "dense":
            assert s["format"] == mode
    chosen = {lyr["sparse"]["format"] for lyr in sparse}
    assert chosen != {"dense"}, "a 12.5 % dense model must run sparse somewhere"
    if mode != "auto":
        # Layers that keep whole blocks along their reduction axis take the forced format.
        assert mode in chosen
        dense = {lyr["name"]: lyr["weight_bytes"] for lyr in _layers(builds["off"])}
        assert sum(lyr["weight_bytes"] for lyr in sparse) < sum(dense[lyr["name"]]
                                                                for lyr in sparse)


@pytest.mark.qemu
@needs_qemu
@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", ("auto", *FORMATS))
def test_sparse_build_is_bit_exact_on_emulated_m4(builds, tmp_path, mode):
    out = shutil.copytree(builds[mode], tmp_path / "out")
    x = random_inputs(SHAPE, 3, seed=4)
    _, qg, _ = api.load_built(out)
    xq = api.quantize_inputs(qg, x, out)
    expected = api.reference_outputs(out, x)
    build_firmware(out, None, "mps2-an386")
    result = run_on_board(out, xq, expected)
    assert result["bit_exact"], result["mismatches"]
