"""8x8 digits for tests: the shared CSV loader plus the example's split and training loop.

The model, split and training loop live in examples/digits/make_example.py (the bundled
quickstart example) so the tests exercise exactly what the example ships; this module loads
that file by path and re-exports them, and adds the loader for ../shared/data.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PATH = REPO_ROOT / "examples" / "digits" / "make_example.py"
CSV_RELPATH = Path("sklearn-digits") / "digits.csv.gz"


@cache
def digits_example() -> ModuleType:
    """examples/digits/make_example.py as a module (it is a script, not part of a package)."""
    name = "slimgen_examples_digits"
    spec = importlib.util.spec_from_file_location(name, EXAMPLE_PATH)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the digits example from {EXAMPLE_PATH}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_digits_shared(shared_root) -> tuple[np.ndarray, np.ndarray]:
    """(x float32 (1797,1,8,8) in [0,1], y int64 (1797,)) from <shared>/data/sklearn-digits.

    ``shared_root`` is the shared data folder (the ``shared_data`` fixture, ../shared/data) or
    the shared folder above it.
    """
    root = Path(shared_root)
    candidates = [root / CSV_RELPATH, root / "data" / CSV_RELPATH]
    path = next((p for p in candidates if p.is_file()), candidates[0])
    if not path.is_file():
        raise FileNotFoundError(
            f"digits data not found at {path}: clone the shared folder beside the repo "
            "(../shared/data/sklearn-digits/digits.csv.gz)"
        )
    a = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x = (a[:, :64] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    return x, a[:, 64].astype(np.int64)


def split_digits(x, y, test_fraction: float = 0.25, seed: int = 0):
    """Deterministic shuffled split -> (x_train, y_train, x_test, y_test)."""
    return digits_example().split_digits(x, y, test_fraction, seed)


def train_digits(model, x, y, epochs: int = 10, seed: int = 0):
    """Adam, batch 32, one thread, seeded; a few seconds on CPU. Returns the model in eval mode.

    x may be (N,1,8,8) for either digits model (the MLP flattens its input).
    """
    return digits_example().train_digits(model, x, y, epochs=epochs, seed=seed)


def accuracy(model, x, y) -> float:
    return digits_example().accuracy(model, x, y)
