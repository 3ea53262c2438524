"""Knowledge distillation from one teacher or an ensemble (Hinton, Vinyals & Dean 2015).

    loss = alpha * T^2 * KL(p_teachers || p_student) + (1 - alpha) * CE(student, labels)

with p = softmax(logits / T) and p_teachers the (weighted) mean of the teachers' softened
outputs. The T^2 factor keeps the soft term's gradient on the same scale as the hard term's
when T changes. Teachers are frozen and always run in eval mode.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def soft_targets(teacher_logits: Sequence[torch.Tensor], temperature: float,
                 weights: Sequence[float] | None = None) -> torch.Tensor:
    """Weighted mean of the teachers' softmax(logits / T)."""
    w = torch.tensor(list(weights) if weights else [1.0] * len(teacher_logits))
    w = w / w.sum()
    probs = torch.stack([F.softmax(t / temperature, dim=1) for t in teacher_logits])
    return (w.to(probs).reshape(-1, 1, 1) * probs).sum(0)


def kd_loss(student_logits: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor | None,
            temperature: float, alpha: float) -> torch.Tensor:
    """alpha * T^2 * KL(targets || softmax(student / T)) + (1 - alpha) * CE(student, labels).

    ``targets`` are soft teacher probabilities (``soft_targets``); KL is averaged over the batch.
    """
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    kl = F.kl_div(log_p, targets, reduction="batchmean")
    loss = alpha * temperature ** 2 * kl
    if alpha < 1.0 and labels is not None:
        loss = loss + (1.0 - alpha) * F.cross_entropy(student_logits, labels)
    return loss


class Teachers:
    """Frozen teacher ensemble producing soft targets for a batch."""

    def __init__(self, models: Sequence[nn.Module], weights: Sequence[float] | None,
                 temperature: float) -> None:
        self.models = list(models)
        self.weights = list(weights) if weights else None
        self.temperature = temperature
        for m in self.models:
            for p in m.parameters():
                p.requires_grad_(False)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return soft_targets([m(x) for m in self.models], self.temperature, self.weights)
