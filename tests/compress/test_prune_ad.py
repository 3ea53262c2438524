"""benchmarks/prune_ad.py's one-shot pruning: OBS masks in the requested pattern, and the
least-squares re-fit that makes them better than magnitude pruning on correlated inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import prune_ad


def _inputs(n: int = 2048, d: int = 32) -> torch.Tensor:
    """Strongly correlated features with a large common offset, like log-mel windows."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(n, 4, generator=g) @ torch.randn(4, d, generator=g)
    return base + 0.05 * torch.randn(n, d, generator=g) - 30.0


def test_obs_mask_block_pattern_and_density() -> None:
    x = _inputs().double()
    h = x.T @ x + 1e-6 * torch.eye(32, dtype=torch.float64) * (x.T @ x).diagonal().mean()
    w = torch.randn(16, 32, generator=torch.Generator().manual_seed(1))
    mask = prune_ad.obs_mask(w, h, 0.75, "block")
    assert mask.sum() == 16 * 32 // 4  # 25 % kept, per row and per chunk
    blocks = mask.view(16, 8, 4)
    assert bool((blocks.all(2) | ~blocks.any(2)).all())  # whole 1x4 blocks only


def _one_layer(x: torch.Tensor) -> tuple[nn.Sequential, nn.Sequential]:
    torch.manual_seed(2)
    teacher = nn.Sequential(nn.Linear(32, 16)).eval()
    student = nn.Sequential(nn.Linear(32, 16)).eval()
    student.load_state_dict(teacher.state_dict())
    return teacher, student


def test_obs_refit_beats_magnitude_pruning() -> None:
    x = _inputs()
    errs = {}
    for init in ("obs", "magnitude"):
        teacher, student = _one_layer(x)
        masks = prune_ad.reconstruct(student, teacher, x, [0.75], "unstructured", init, 1e-6)
        assert masks[0].sum() == 16 * 8
        assert bool((student[0].weight[~masks[0]] == 0).all())
        with torch.no_grad():
            errs[init] = float(((student(x) - teacher(x)) ** 2).mean())
    teacher, student = _one_layer(x)
    with torch.no_grad():  # plain magnitude pruning, no re-fit
        w = student[0].weight
        w.mul_(w.abs() >= w.abs().flatten().kthvalue(16 * 32 * 3 // 4 + 1).values)
        plain = float(((student(x) - teacher(x)) ** 2).mean())
    assert errs["obs"] <= errs["magnitude"] < plain
