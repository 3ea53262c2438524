"""Depthwise (3x3 stride 1 and 2, 5x5, channel multiplier 2, channel counts that are not a
multiple of 4, asymmetric padding), pooling and a residual add on the emulated Cortex-M4
(mps2-an386), where the DSP paths run: `slimgen build --target cortex-m4 --board mps2-an386`
then `slimgen run`, bit-exact against the host integer reference."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

from slimgen.cli import main
from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import export_pt2, random_inputs, write_npz

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(300)]


class DwPoolAdd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.stem = nn.Conv2d(3, 8, 1)
        self.dw1 = nn.Conv2d(8, 8, 3, padding=1, groups=8)  # 3x3 s1
        self.dw2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)  # 3x3 s2, odd input
        self.dw5 = nn.Conv2d(8, 8, 5, padding=2, groups=8)  # general kernel size
        self.dwm = nn.Conv2d(8, 16, 3, padding=1, groups=8)  # channel multiplier 2
        self.pw = nn.Conv2d(16, 5, 1)
        self.dw_c5 = nn.Conv2d(5, 5, 3, groups=5)  # 5 channels, asymmetric pad below

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.relu(self.stem(x))
        y = torch.relu(self.dw1(s) + s)  # residual add
        y = F.relu6(self.dw2(y))
        y = torch.relu(self.dw5(y))
        y = torch.relu(self.dwm(y))
        y = self.pw(y)
        y = torch.relu(self.dw_c5(F.pad(y, (1, 0, 0, 1))))
        y = F.max_pool2d(y, 2, ceil_mode=True)
        y = F.avg_pool2d(y, 3, stride=1, padding=1)
        return torch.flatten(y, 1)  # every pooled value is compared, not a few logits


def test_depthwise_pool_add_bit_exact_on_m4(tmp_path):
    shape = (1, 3, 11, 13)
    pt2 = export_pt2(DwPoolAdd(), shape, tmp_path / "dwpa.pt2")
    calib = write_npz(tmp_path / "calib.npz", x=random_inputs(shape, 16, 1))
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(main, ["build", str(pt2), "--calib", str(calib), "-o", str(out),
                               "--target", "cortex-m4", "--board", "mps2-an386"])
    assert res.exit_code == 0, res.output
    kernels = {layer["kernel"] for layer in json.loads((out / "report.json").read_text())["layers"]}
    assert {"sg_dwconv2d_s8_3x3", "sg_dwconv2d_s8", "sg_maxpool2d_s8", "sg_avgpool2d_s8",
            "sg_add_s8"} <= kernels, kernels
    test = write_npz(tmp_path / "test.npz", x=random_inputs(shape, 4, 3))
    res = runner.invoke(main, ["run", str(out), "--inputs", str(test), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["bit_exact"] and data["samples"] == 4 and data["board"] == "mps2-an386"
