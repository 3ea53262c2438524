"""Train a tiny CNN on scikit-learn's 8x8 digits and write what slimgen compiles.

    python examples/digits/make_example.py [OUT_DIR] [--epochs N] [--seed S]

Writes into OUT_DIR (default: examples/digits/build/ beside this file):

    digits.pt2   the trained float model, torch.export.export'ed with a batch-1 input (1,1,8,8)
    calib.npz    x: float32 (100,1,8,8) training samples for int8 calibration
    test.npz     x: float32 (N,1,8,8) held-out samples, y: int64 labels 0..9
    train.npz    x_train, y_train, x_test, y_test: the split, as 'slimgen compress --data' reads it

The data ship inside the scikit-learn wheel (sklearn.datasets.load_digits), so nothing is
downloaded. Pixels are scaled from 0..16 to [0, 1]. Training is seeded and single-threaded, so
the same seed gives the same model on the same torch build; it takes a few seconds on one core.

The test suite (tests/models.py, tests/digits.py) uses DigitsCNN, split_digits and train_digits
from this file, so the model tested there is the one this example ships.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DEFAULT_OUT = Path(__file__).resolve().parent / "build"
N_CALIB = 100


class DigitsCNN(nn.Module):
    """1x1x8x8 -> 10 logits: two 3x3 conv+BN+ReLU, 2x2 max-pool, flatten, linear (~10k params)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def split_digits(x: np.ndarray, y: np.ndarray, test_fraction: float = 0.25, seed: int = 0):
    """Deterministic shuffled split -> (x_train, y_train, x_test, y_test)."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def train_digits(model: nn.Module, x, y, epochs: int = 10, seed: int = 0) -> nn.Module:
    """Adam on cross-entropy, batch 32, single thread, seeded; returns the model in eval mode."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y, dtype=np.int64))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        for _ in range(epochs):
            for idx in torch.randperm(len(x), generator=gen).split(32):
                opt.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x, y) -> float:
    logits = model.eval()(torch.as_tensor(np.asarray(x, dtype=np.float32)))
    return float((logits.argmax(1).numpy() == np.asarray(y)).mean())


def load_sklearn_digits():
    """(x float32 (1797,1,8,8) in [0,1], y int64) from the copy inside scikit-learn."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return x, d.target.astype(np.int64)


def build(out_dir: Path, epochs: int = 10, seed: int = 0) -> dict:
    """Train, evaluate and write digits.pt2, calib.npz and test.npz; returns a summary dict."""
    start = time.perf_counter()
    x, y = load_sklearn_digits()
    x_train, y_train, x_test, y_test = split_digits(x, y, seed=seed)
    torch.manual_seed(seed)
    model = train_digits(DigitsCNN(), x_train, y_train, epochs=epochs, seed=seed)
    acc = accuracy(model, x_test, y_test)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    example = (torch.from_numpy(x_test[:1]),)
    torch.export.save(torch.export.export(model, example), out_dir / "digits.pt2")
    np.savez(out_dir / "calib.npz", x=x_train[:N_CALIB])
    np.savez(out_dir / "test.npz", x=x_test, y=y_test)
    np.savez(out_dir / "train.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return {
        "accuracy": acc,
        "n_train": len(x_train),
        "n_test": len(x_test),
        "seconds": time.perf_counter() - start,
        "out_dir": out_dir,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    r = build(args.out_dir, epochs=args.epochs, seed=args.seed)
    print(
        f"float test accuracy {r['accuracy']:.2%} on {r['n_test']} digits "
        f"(trained on {r['n_train']}) in {r['seconds']:.1f} s"
    )
    print(f"wrote digits.pt2, calib.npz, test.npz, train.npz to {r['out_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
