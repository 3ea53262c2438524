"""Fixtures for the compression tests: the 8x8 digits split, and a trained digits CNN as .pt2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.digits import digits_example, load_digits_shared, split_digits, train_digits


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits_npz(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, y = load_digits_shared(shared_data)
    xtr, ytr, xte, yte = split_digits(x, y)
    p = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(p, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return p


def train_cnn(npz: Path, seed: int = 0, epochs: int = 10) -> torch.nn.Module:
    d = np.load(npz)
    torch.manual_seed(seed)
    m = digits_example().DigitsCNN()
    return train_digits(m, d["x_train"], d["y_train"], epochs=epochs, seed=seed)


def save_pt2(model: torch.nn.Module, path: Path, shape: tuple[int, ...] = (1, 1, 8, 8)) -> Path:
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(shape),)), str(path))
    return path


@pytest.fixture(scope="session")
def digits_cnn(digits_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's digits CNN trained 10 epochs (~99 % test accuracy), as a .pt2."""
    torch.set_num_threads(1)
    return save_pt2(train_cnn(digits_npz), tmp_path_factory.mktemp("cnn") / "cnn.pt2")
