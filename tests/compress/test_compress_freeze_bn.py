"""`slimgen compress --freeze-bn`: fine-tuning leaves BatchNorm's running statistics as they were
(batch statistics of small or heavily augmented data would otherwise replace them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from tests.compress.conftest import save_pt2
from tests.compress.test_compress_cli import run


def _running_stats(pt2: Path) -> dict[str, torch.Tensor]:
    sd = torch.export.load(str(pt2)).state_dict
    return {k: v for k, v in sd.items() if "running_" in k}


def test_freeze_bn_keeps_running_statistics(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 12)).astype(np.float32) * 3 + 1  # far from BN's init stats
    y = (x[:, 0] > 1).astype(np.int64)
    data = tmp_path / "d.npz"
    np.savez(data, x_train=x, y_train=y, x_test=x[:32], y_test=y[:32])
    torch.manual_seed(0)
    model = save_pt2(nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                   nn.Linear(16, 2)), tmp_path / "m.pt2", (1, 12))
    before = _running_stats(model)
    assert before
    for flag, same in (("--freeze-bn", True), (None, False)):
        out = tmp_path / f"out{flag or ''}.pt2"
        code, log = run(str(model), "--data", str(data), "-o", str(out), "--sparsity", "0.5",
                        "--epochs", "1", *([flag] if flag else []))
        assert code == 0, log
        after = _running_stats(out)
        assert after.keys() == before.keys()
        assert all(torch.equal(before[k], after[k]) for k in before) == same, flag
