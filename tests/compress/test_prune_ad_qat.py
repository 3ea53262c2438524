"""benchmarks/prune_ad.py's int8-aware fine-tuning: the fake-quantised forward pass is the
float one up to int8 rounding, and its int8 grid is the TFLite one (0 exact, 256 levels)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import prune_ad


def test_fake_quant_grid_and_straight_through_gradient() -> None:
    x = torch.linspace(-30.0, 10.0, 1001, requires_grad=True)
    q = prune_ad.fake_quant(x, -30.0, 10.0)
    scale = 40.0 / 255
    assert float((q - x).abs().max()) <= scale / 2 + 1e-5
    assert len(torch.unique(q.detach())) <= 256
    assert float(prune_ad.fake_quant(torch.zeros(1), -30.0, 10.0)) == 0.0
    q.sum().backward()
    assert bool((x.grad == 1).all())


def test_quantised_forward_is_float_forward_up_to_rounding() -> None:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8), nn.ReLU(),
                      nn.Linear(8, 16)).eval()
    x = torch.randn(256, 16) * 4 - 2
    with torch.no_grad():
        y, hs = prune_ad.hidden(m, x)
        assert torch.equal(y, m(x)) and len(hs) == 2  # the post-ReLU activations
        ranges = prune_ad.act_ranges(m, x)
        assert len(ranges) == 4 and ranges[1][0] == 0.0  # input, then each layer's output
        yq, _ = prune_ad.hidden(m, x, ranges)
    err = float(((yq - y) ** 2).mean())
    assert 0 < err < 1e-2 * float((y ** 2).mean())
