"""Load a model file into a torch.export ExportedProgram.

- ``.pt2``: ``torch.export.save`` archives, loaded as they are;
- ``.pt`` / ``.pth`` TorchScript archives: converted with torch's TorchScript-to-export converter,
  which needs an example input (its shape comes from the calibration data);
- a pickled ``nn.Module`` (``torch.save(model)``): only with ``trust_pickle``, because unpickling
  runs arbitrary code from the file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..errors import InputError, UnsupportedError


def _torch() -> Any:
    import torch

    return torch


@contextlib.contextmanager
def _quiet() -> Any:
    """torch.export and the TorchScript converter log warnings a user cannot act on."""
    loggers = [logging.getLogger(n) for n in ("torch", "torch._export", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lvl in zip(loggers, levels):
            lg.setLevel(lvl)


def _kind(path: Path) -> str:
    """Sniff the archive kind from its contents, not its name."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(2)
        # Protocol-2+ pickles start with 0x80; torch.save's legacy format also starts so.
        return "pickle" if head[:1] == b"\x80" else "unknown"
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "unknown"  # is_zipfile only looks for an end record; the directory is damaged
    if any(n.endswith("/archive_format") or n.endswith("/models/model.json") for n in names):
        return "pt2"
    if any(n.endswith("/constants.pkl") or "/code/__torch__/" in n for n in names):
        return "torchscript"
    if any(n.endswith("/data.pkl") for n in names):
        return "pickle"
    return "unknown"


class _PickleRefused(Exception):
    pass


@contextlib.contextmanager
def _no_pickles(torch: Any, trusted: bool) -> Any:
    """torch.export.load unpickles parts of a .pt2 with ``weights_only=False`` (weights or
    constants marked ``use_pickle``, opaque constants, and sample inputs on a fallback path), so
    a crafted .pt2 runs code on load. Unless the user trusts pickles, every torch.load inside
    is forced to torch's restricted weights-only unpickler and plain unpickling is refused.
    """
    if trusted:
        yield
        return
    import importlib

    package = importlib.import_module("torch.export.pt2_archive._package")
    real_load, real_pickle = torch.load, package.pickle
    real_obj = getattr(torch._C, "_pickle_load_obj", None)

    def weights_only_load(f: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return real_load(f, *args, **kwargs)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise _PickleRefused()

    class _Pickle:
        def __getattr__(self, name: str) -> Any:
            return refuse if name in ("load", "loads", "Unpickler") else getattr(real_pickle,
                                                                                name)

    torch.load, package.pickle = weights_only_load, _Pickle()
    if real_obj is not None:
        torch._C._pickle_load_obj = refuse
    try:
        yield
    finally:
        torch.load, package.pickle = real_load, real_pickle
        if real_obj is not None:
            torch._C._pickle_load_obj = real_obj


def load_program(path: Path, *, example_shape: tuple[int, ...] | None, trust_pickle: bool) -> Any:
    """Return an ExportedProgram for the model at ``path``."""
    torch = _torch()
    if not path.exists():
        raise InputError(f"model file {path} does not exist.", "Check the path.")
    if path.is_dir():
        raise InputError(f"model path {path} is a folder, not a model file.",
                         "Pass the .pt2 file written by torch.export.save.")
    if path.stat().st_size == 0:
        raise InputError(f"model file {path} is empty.", "Re-export the model.")
    kind = _kind(path)
    if kind == "unknown":
        raise InputError(
            f"model file {path} is not a PyTorch model (neither a torch.export .pt2, a TorchScript "
            "archive nor a torch.save file); it may be truncated or corrupt.",
            "Save the model with torch.export.save(torch.export.export(model, (x,)), 'model.pt2').",
        )
    try:
        with _quiet():
            if kind == "pt2":
                with _no_pickles(torch, trust_pickle):
                    return torch.export.load(str(path))
            if kind == "torchscript":
                return _from_torchscript(torch, path, example_shape)
            return _from_pickle(torch, path, example_shape, trust_pickle)
    except (InputError, UnsupportedError):
        raise
    except Exception as e:  # torch raises many types for a damaged archive
        if not _refused_pickle(e):
            raise _load_error(path, kind, e) from None
        raise InputError(
            f"{path} holds pickled Python objects (weights, constants or sample inputs saved "
            "with pickle). Loading them runs arbitrary code stored in the file, so slimgen does "
            "not load them by default.",
            "If you trust the file, pass --trust-pickle; better, re-export plain tensors with "
            "torch.export.save(torch.export.export(model, (x,)), 'model.pt2').",
        ) from None


def _refused_pickle(e: BaseException | None) -> bool:
    """torch wraps the loader's exceptions, and the weights-only unpickler rejects unknown
    globals with its own UnpicklingError: either means a pickle that needs trust."""
    import pickle

    seen = 0
    while e is not None and seen < 20:
        if isinstance(e, (_PickleRefused, pickle.UnpicklingError)):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def _load_error(path: Path, kind: str, e: Exception) -> InputError:
    # torch raises many types for a damaged archive
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return InputError(
        f"could not load {path} as a {kind} model: {msg[:300]}",
        "The file may be truncated or corrupt, or saved by an incompatible torch version; "
        "re-export it with torch.export.save.",
    )


def _example(torch: Any, example_shape: tuple[int, ...] | None, path: Path, why: str) -> Any:
    if example_shape is None:
        raise InputError(f"{path} is {why}, whose input shape is not stored in the file.",
                         "Pass calibration data (--calib) so slimgen knows the input shape.")
    return torch.zeros((1, *example_shape[1:]), dtype=torch.float32)


# Run in a child process: torch's TorchScript-to-export converter dereferences bad pointers on
# some damaged archives (a SIGSEGV found by tests/robustness/test_fuzz.py), which must not take
# slimgen down with it. The child writes a .pt2, which the parent loads like any other.
_CONVERT_TORCHSCRIPT = r"""
import json, logging, sys, warnings
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
import torch
from torch._export.converter import TS2EPConverter
src, dst, shape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
try:
    module = torch.jit.load(src, map_location="cpu")
    module.eval()
    x = torch.zeros(shape, dtype=torch.float32)
    ep = TS2EPConverter(module, (x,)).convert()
    # The converter leaves every dimension symbolic; re-export at the calibration data's shape.
    torch.export.save(torch.export.export(ep.module(), (x,)), dst)
except Exception as e:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    sys.stderr.write("\nslimgen-convert-error: " + msg[:300] + "\n")
    sys.exit(1)
"""


def _from_torchscript(torch: Any, path: Path, example_shape: tuple[int, ...] | None) -> Any:
    import json
    import signal
    import subprocess
    import sys
    import tempfile

    x = _example(torch, example_shape, path, "a TorchScript archive")
    with tempfile.TemporaryDirectory(prefix="slimgen-ts-") as tmp:
        dst = Path(tmp) / "converted.pt2"
        proc = subprocess.run(
            [sys.executable, "-c", _CONVERT_TORCHSCRIPT, str(path), str(dst),
             json.dumps(list(x.shape))],
            capture_output=True, text=True, timeout=900, check=False)
        if proc.returncode < 0:
            raise InputError(
                f"torch crashed ({signal.Signals(-proc.returncode).name}) converting the "
                f"TorchScript archive {path}; the file is corrupt, or uses something torch's "
                "converter cannot handle.",
                "Re-export the model with torch.export.save(torch.export.export(model, (x,)), "
                "'model.pt2').")
        if proc.returncode != 0 or not dst.is_file():
            lines = [ln for ln in proc.stderr.splitlines()
                     if ln.startswith("slimgen-convert-error: ")]
            msg = lines[-1].split(": ", 1)[1] if lines else proc.stderr.strip()[-300:]
            raise _load_error(path, "torchscript", RuntimeError(msg))
        with _no_pickles(torch, trusted=False):
            return torch.export.load(str(dst))


def _from_pickle(torch: Any, path: Path, example_shape: tuple[int, ...] | None,
                 trust_pickle: bool) -> Any:
    if not trust_pickle:
        raise InputError(
            f"{path} is a pickled Python object (torch.save of a module). Loading it runs "
            "arbitrary code stored in the file, so slimgen does not load it by default.",
            "If you trust the file, pass --trust-pickle; better, save the model with "
            "torch.export.save(torch.export.export(model, (x,)), 'model.pt2').",
        )
    with open(path, "rb") as f:
        data = f.read()
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError) as e:
        raise InputError(
            f"{path} is a pickled module whose Python class cannot be found here ({e}). A pickle "
            "stores only the class name; its code must be importable.",
            "Run slimgen with the model's source on PYTHONPATH, or export a .pt2 with "
            "torch.export.save, which needs no Python code to load.",
        ) from None
    if isinstance(obj, dict):
        raise InputError(f"{path} holds a state_dict (weights only), not a model.",
                         "Save the module itself, or better a torch.export .pt2 program.")
    if not isinstance(obj, torch.nn.Module):
        raise InputError(f"{path} holds a {type(obj).__name__}, not a torch.nn.Module.",
                         "Save the model with torch.export.save.")
    obj.eval()
    x = _example(torch, example_shape, path, "a pickled module")
    return torch.export.export(obj, (x,))
