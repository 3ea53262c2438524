"""Pruning masks have exactly the structure the sparse kernels read (no training here)."""

from __future__ import annotations

import itertools

import pytest
import torch
from slimgen.compress.model import from_program, prunable_layers
from slimgen.compress.patterns import BLOCK, parse_pattern
from slimgen.compress.prune import apply_masks, compute_masks, zhu_gupta
from torch import nn


class ConvFlatFc(nn.Module):
    """A conv (reduction 3x3x8 = 72) and a linear after flatten (NCHW -> NHWC columns)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(4, 8, 3, padding=1)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(torch.relu(self.conv(torch.relu(self.conv0(x)))), 1))


@pytest.fixture
def layers():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 4, 4)
    gm = from_program(torch.export.export(ConvFlatFc().eval(), (x,)))
    return prunable_layers(gm, x)


def _slimgen_rows(lyr) -> torch.Tensor:
    """The weight in slimgen's own layout, independently of Layer.rows: OHWI / NHWC columns."""
    w = lyr.weight.detach()
    if w.dim() == 4:
        return w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)
    if lyr.name == "fc":  # torch column c*16 + p  ->  slimgen column p*8 + c
        return w.reshape(12, 8, 16).permute(0, 2, 1).reshape(12, -1)
    return w


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (1, 2)])
def test_nm_masks_keep_exactly_n_per_group_of_m(layers, n, m):
    masks = compute_masks(layers, parse_pattern(f"{n}:{m}"), 0.0)
    apply_masks(layers, masks)
    for lyr in layers:
        rows = _slimgen_rows(lyr)
        nz = (rows != 0).reshape(rows.shape[0], -1, m).sum(2)
        assert (nz == n).all(), lyr.name


@pytest.mark.parametrize("sparsity", [0.5, 0.8, 0.9])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_block_masks_are_whole_1x4_blocks(layers, sparsity, scope):
    assert BLOCK == (1, 4)
    masks = compute_masks(layers, parse_pattern("block"), sparsity, scope)
    apply_masks(layers, masks)
    total = zero = 0
    for lyr in layers:
        blocks = (_slimgen_rows(lyr) != 0).reshape(lyr.weight.shape[0], -1, BLOCK[1])
        assert ((blocks.sum(2) == 0) | (blocks.sum(2) == BLOCK[1])).all(), lyr.name
        total += blocks.shape[0] * blocks.shape[1]
        zero += int((blocks.sum(2) == 0).sum())
        if scope == "layer":
            got = float((blocks.sum(2) == 0).float().mean())
            assert abs(got - sparsity) < 1.0 / blocks.shape[1] / blocks.shape[0] + 1e-6
    assert abs(zero / total - sparsity) < 0.01


def test_unstructured_prunes_the_smallest_weights(layers):
    before = {lyr.name: lyr.weight.detach().clone() for lyr in layers}
    apply_masks(layers, compute_masks(layers, parse_pattern("unstructured"), 0.7))
    for lyr in layers:
        w0, w = before[lyr.name], lyr.weight.detach()
        assert abs(float((w == 0).float().mean()) - 0.7) < 0.01
        assert w0[w == 0].abs().max() <= w0[w != 0].abs().min()


def test_zhu_gupta_schedule_rises_fast_then_slowly_to_the_target():
    s = [zhu_gupta(k, 10, 0.9) for k in range(11)]
    assert s[0] == 0.0 and s[-1] == pytest.approx(0.9)
    steps = [b - a for a, b in itertools.pairwise(s)]
    assert all(d > 0 for d in steps) and steps == sorted(steps, reverse=True)
