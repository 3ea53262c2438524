"""Training data for ``slimgen compress``: an .npz of arrays or a function returning DataLoaders.

Everything is checked against the model before any training starts: sample shape, label range
(classification) or target shape (regression), so a mistake costs seconds, not an epoch.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ..data import load_npz
from ..errors import InputError


@dataclass
class Data:
    train: Any  # iterable of (x, y) batches
    val: Any  # held-out batches used to report each stage (x_val, else x_test)
    test: Any
    example: torch.Tensor  # one sample with batch dim 1, the model's layout
    calib: np.ndarray  # float32 samples for int8 calibration (model layout)
    source: str


def _loader(x: np.ndarray, y: np.ndarray, batch: int, shuffle: bool, seed: int) -> DataLoader:
    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch, shuffle=shuffle, generator=gen)


def load_data(spec: str, loss: str, batch: int = 64, seed: int = 0,
              calib_samples: int = 256) -> Data:
    """``path.npz`` or ``module:function`` (the function returns (train, test[, val]) loaders)."""
    if ":" in spec and not Path(spec).exists():
        return _from_function(spec, calib_samples)
    path = Path(spec)
    arrays = load_npz(path, "training data")
    need = ["x_train", "y_train", "x_test", "y_test"]
    if loss == "mse":
        need = ["x_train", "x_test"]  # an autoencoder's target defaults to its input
    missing = [k for k in need if k not in arrays]
    if missing:
        raise InputError(f"training data {path} lacks {', '.join(missing)} (it has "
                         f"{', '.join(sorted(arrays)) or 'nothing'}).",
                         "Save numpy.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
                         " (x_val, y_val optional).")
    split = {}
    for part in ("train", "test", "val"):
        if f"x_{part}" not in arrays:
            continue
        x = arrays[f"x_{part}"]
        if x.dtype.kind not in "fiu" or x.ndim < 2 or len(x) == 0:
            raise InputError(f"x_{part} in {path} has shape {x.shape} and dtype {x.dtype}; "
                             "compress needs numeric samples, batch first.",
                             "Save float32 arrays of shape (N, ...) in the model's layout.")
        x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise InputError(f"x_{part} in {path} holds NaN or Inf values.", "Fix those samples.")
        y = arrays.get(f"y_{part}")
        if y is None:
            y = x
        if loss == "ce":
            y = np.asarray(y)
            if y.dtype.kind not in "iu" or y.reshape(len(y), -1).shape[1] != 1:
                raise InputError(f"y_{part} in {path} has shape {y.shape} and dtype {y.dtype}; "
                                 "cross-entropy needs one integer class label per sample.",
                                 "Save integer labels, or pass --loss mse for real targets.")
            y = y.reshape(-1).astype(np.int64)
        else:
            y = np.asarray(y, np.float32)
        if len(y) != len(x):
            raise InputError(f"x_{part} has {len(x)} samples but y_{part} has {len(y)}.",
                             "Save one target per sample.")
        split[part] = (x, y)
    train = _loader(*split["train"], batch, True, seed)
    test = _loader(*split["test"], 256, False, seed)
    val = _loader(*split["val"], 256, False, seed) if "val" in split else test
    xt = split["train"][0]
    calib = xt[np.random.default_rng(seed).permutation(len(xt))[:calib_samples]]
    return Data(train, val, test, torch.from_numpy(xt[:1].copy()), calib, str(path))


def _from_function(spec: str, calib_samples: int) -> Data:
    mod_name, _, fn_name = spec.partition(":")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # 'module:function' names a module of the current directory too
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as e:
        raise InputError(f"--data {spec}: cannot import {fn_name} from {mod_name} ({e}).",
                         "Pass an .npz file or module:function importable from here.") from None
    got = fn()
    if not isinstance(got, (tuple, list)) or len(got) not in (2, 3):
        raise InputError(f"--data {spec} returned {type(got).__name__}; it must return "
                         "(train_loader, test_loader) or (train_loader, test_loader, val_loader).",
                         "Return PyTorch DataLoaders yielding (x, y) batches.")
    train, test = got[0], got[1]
    val = got[2] if len(got) == 3 else test
    xs = []
    n = 0
    for x, _ in train:
        xs.append(np.asarray(x, np.float32))
        n += len(x)
        if n >= calib_samples:
            break
    if not xs:
        raise InputError(f"--data {spec}: the training loader yields no batches.",
                         "Check the dataset.")
    calib = np.concatenate(xs)[:calib_samples]
    return Data(train, val, test, torch.from_numpy(calib[:1].copy()), calib, spec)


def check_against_model(data: Data, model: Any, loss: str, in_shape: tuple[int, ...] | None,
                        what: str = "model", expect_outputs: int | None = None) -> int:
    """Shapes and labels against ``model``; returns its number of outputs per sample.

    ``expect_outputs``: the outputs of the model being compressed, which a teacher or student
    must match.
    """
    x0, y0 = next(iter(data.train))
    for name, loader in (("test", data.test), ("validation", data.val)):
        xt, _ = next(iter(loader))
        if tuple(xt.shape[1:]) != tuple(x0.shape[1:]):
            raise InputError(f"{name} samples have shape {tuple(xt.shape[1:])} but training "
                             f"samples {tuple(x0.shape[1:])}.", "Save every split alike.")
    if in_shape is not None and tuple(x0.shape[1:]) != tuple(in_shape[1:]):
        raise InputError(f"training samples have shape {tuple(x0.shape[1:])} per sample but the "
                         f"{what} takes {tuple(in_shape[1:])}.",
                         "Save the samples in the model's own layout, batch first.")
    try:
        with torch.no_grad():
            out = model(x0[:2])
    except Exception as e:  # noqa: BLE001 -- any torch error here means the data does not fit the model
        raise InputError(f"the {what} cannot run on the training samples of shape "
                         f"{tuple(x0.shape[1:])}: {str(e).splitlines()[0][:200]}",
                         "Save the samples in the model's own layout, batch first.") from None
    out = out[0] if isinstance(out, (tuple, list)) else out
    n_out = int(out[0].numel())
    if expect_outputs is not None and n_out != expect_outputs:
        raise InputError(f"the {what} has {n_out} outputs but the model has {expect_outputs}.",
                         "Teachers and students must predict the same classes as the model.")
    if loss == "ce":
        if out.dim() != 2:
            raise InputError(f"the {what} outputs shape {tuple(out.shape)}; cross-entropy needs "
                             "(batch, classes) logits.", "Use --loss mse for other outputs.")
        for name, loader in (("train", data.train), ("test", data.test),
                             ("validation", data.val)):
            lo, hi = _label_range(loader)
            if lo < 0 or hi >= n_out:
                raise InputError(f"{name} labels range over [{lo}, {hi}] but the {what} has "
                                 f"{n_out} outputs (classes 0..{n_out - 1}).",
                                 "Fix the labels, or use a model with enough outputs.")
    else:
        if tuple(y0.shape[1:]) != tuple(out.shape[1:]):
            raise InputError(f"targets have shape {tuple(y0.shape[1:])} per sample but the {what} "
                             f"outputs {tuple(out.shape[1:])}.",
                             "Save targets shaped like the model's output.")
    return n_out


def _label_range(loader: Any) -> tuple[int, int]:
    ds = getattr(loader, "dataset", None)
    if isinstance(ds, TensorDataset):
        y = ds.tensors[1]
        return int(y.min()), int(y.max())
    lo, hi = 1 << 30, -(1 << 30)
    for _, y in loader:
        lo, hi = min(lo, int(y.min())), max(hi, int(y.max()))
    return lo, hi
