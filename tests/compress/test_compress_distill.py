"""Distillation: the loss is the stated formula, and an ensemble-taught student beats itself."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from slimgen.compress.data import load_data
from slimgen.compress.distill import Teachers, kd_loss, soft_targets
from slimgen.compress.model import from_program
from slimgen.compress.train import evaluate, fit
from torch import nn

from tests.compress.conftest import train_cnn


def test_kd_loss_matches_the_formula_by_hand():
    s = torch.tensor([[1.0, 2.0, 0.5]])
    t1, t2 = torch.tensor([[0.0, 3.0, 1.0]]), torch.tensor([[2.0, 0.0, 0.0]])
    T, alpha, w = 2.0, 0.7, (3.0, 1.0)

    def softmax(z):
        e = [math.exp(v / T) for v in z]
        return [v / sum(e) for v in e]

    p1, p2 = softmax([0.0, 3.0, 1.0]), softmax([2.0, 0.0, 0.0])
    pt = [(3 * a + b) / 4 for a, b in zip(p1, p2)]
    ps = softmax([1.0, 2.0, 0.5])
    kl = sum(a * math.log(a / b) for a, b in zip(pt, ps))
    ce = -math.log(math.exp(2.0) / sum(math.exp(v) for v in (1.0, 2.0, 0.5)))
    want = alpha * T * T * kl + (1 - alpha) * ce
    targets = soft_targets([t1, t2], T, w)
    got = kd_loss(s, targets, torch.tensor([1]), T, alpha)
    assert math.isclose(float(got), want, rel_tol=1e-5)
    assert torch.allclose(targets.sum(1), torch.ones(1))
    assert math.isclose(float(kd_loss(s, targets, torch.tensor([1]), T, 0.0)),
                        float(F.cross_entropy(s, torch.tensor([1]))), rel_tol=1e-6)


class TinyCnn(nn.Module):
    """~300 parameters: far below the 10k-parameter teachers."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(F.max_pool2d(F.relu(self.conv(x)), 2), 1))


def test_ensemble_distilled_student_beats_the_student_alone(digits_npz: Path, tmp_path: Path):
    """Hinton et al.'s transfer-set setting: three CNN teachers trained on all 1347 training digits,
    a tiny student that sees only 300 of them for 100 epochs, once with labels only and once with
    the teachers' averaged soft targets (T=4, alpha=0.9). Same data, epochs, seed and init."""
    teachers = [train_cnn(digits_npz, seed=s) for s in range(3)]
    d = np.load(digits_npz)
    few = tmp_path / "few.npz"
    np.savez(few, x_train=d["x_train"][:300], y_train=d["y_train"][:300], x_test=d["x_test"],
             y_test=d["y_test"])
    data = load_data(str(few), "ce", 32, 0)
    alone, taught = [], []
    for seed in range(3):
        for res, tch in ((alone, None), (taught, Teachers(teachers, None, 4.0))):
            torch.manual_seed(seed)
            student = from_program(torch.export.export(TinyCnn().eval(),
                                                       (torch.zeros(1, 1, 8, 8),)))
            fit(student, data.train, 100, loss="ce", lr=3e-3, device="cpu", teachers=tch,
                alpha=0.9, temperature=4.0, seed=seed)
            res.append(evaluate(student, data.test, "ce")["accuracy"])
    assert np.mean(taught) > np.mean(alone), (alone, taught)
    assert min(t - a for a, t in zip(alone, taught)) > -0.005, (alone, taught)
