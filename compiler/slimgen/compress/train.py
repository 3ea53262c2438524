"""Plain PyTorch fine-tuning and evaluation loops (one process; see docs/compress.md for DDP)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from .distill import Teachers, kd_loss
from .model import set_training, switches

Hook = Callable[[int], None]  # called after every optimizer step with the global step number


def task_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    return F.cross_entropy(out, y) if loss == "ce" else F.mse_loss(out, y)


class Progress:
    """A rich progress bar on a terminal, silence otherwise (logs and tests stay clean)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __enter__(self) -> Progress:  # noqa: PYI034
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            from ..cli import _console

            self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                    MofNCompleteColumn(), TimeRemainingColumn(),
                                    TextColumn("{task.fields[info]}"), transient=True,
                                    console=_console())
            self.bar.start()
        return self

    def task(self, name: str, total: int) -> Any:
        return self.bar.add_task(name, total=total, info="") if self.bar else None

    def advance(self, task: Any, info: str = "") -> None:
        if self.bar and task is not None:
            self.bar.update(task, advance=1, info=info)

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()


def fit(gm: fx.GraphModule, train: Any, epochs: int, *, loss: str, lr: float, device: str,
        teachers: Teachers | None = None, alpha: float = 0.5, temperature: float = 4.0,
        after_step: Hook | None = None, progress: Progress | None = None, name: str = "train",
        seed: int = 0, freeze_bn: bool = False) -> int:
    """Adam for ``epochs`` over ``train``; returns the number of optimizer steps taken.

    ``freeze_bn`` keeps BatchNorm on its running statistics (QAT folds them into the weights).
    """
    torch.manual_seed(seed)
    params = [p for p in gm.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs * _len(train)))
    step = 0
    task = progress.task(name, epochs * _len(train)) if progress else None
    set_training(gm, True)
    if freeze_bn:
        for m in switches(gm):
            m.training = m.kind == "dropout"
    try:
        for _ in range(epochs):
            for x, y in train:
                x, y = x.to(device), y.to(device)
                out = gm(x)
                if teachers is not None and alpha > 0:  # alpha 0 is plain CE: skip the teachers
                    lval = kd_loss(out, teachers(x), y if loss == "ce" else None, temperature,
                                   alpha)
                else:
                    lval = task_loss(out, y, loss)
                opt.zero_grad(set_to_none=True)
                lval.backward()
                opt.step()
                sched.step()
                step += 1
                if after_step is not None:
                    after_step(step)
                if progress:
                    progress.advance(task, f"loss {lval.item():.4f}")
    finally:
        set_training(gm, False)
    return step


def _len(loader: Any) -> int:
    try:
        return len(loader)
    except TypeError:
        return 1


@torch.no_grad()
def evaluate(model: Any, loader: Any, loss: str, device: str = "cpu") -> dict[str, float]:
    """{'accuracy': ...} for classifiers, {'loss': mean squared error} otherwise (eval mode)."""
    if isinstance(model, fx.GraphModule):
        set_training(model, False)
    correct, total, sq = 0, 0, 0.0
    for x, y in loader:
        out = model(x.to(device))
        y = y.to(device)
        if loss == "ce":
            correct += int((out.argmax(1) == y).sum())
        else:
            sq += float(F.mse_loss(out, y, reduction="sum"))
        total += len(x)
    if loss == "ce":
        return {"accuracy": correct / max(1, total)}
    return {"loss": sq / max(1, total * int(out[0].numel()))}
