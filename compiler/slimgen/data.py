"""Reading user .npz files (calibration and test inputs) with clear errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .errors import InputError


def load_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    if not path.exists():
        raise InputError(f"{what} file {path} does not exist.", "Check the path.")
    if path.is_dir() or path.stat().st_size == 0:
        raise InputError(f"{what} file {path} is empty or a folder.",
                         "Write it with numpy.savez(path, x=samples).")
    if not zipfile.is_zipfile(path):
        # np.load would try the bytes as a .npy or a pickle and suggest allow_pickle: never.
        raise InputError(
            f"{what} file {path} is not a .npz archive (not a zip file: truncated, corrupt, or "
            "another format such as .npy or pickle).",
            "Write it with numpy.savez(path, x=samples).",
        )
    try:
        _check_headers(path)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except InputError:
        raise
    # numpy parses .npy headers with ast and tokenize: a damaged header raises SyntaxError or
    # tokenize.TokenError as well as ValueError; any failure here means a bad file.
    except Exception as e:  # noqa: BLE001
        raise InputError(
            f"{what} file {path} is not a readable .npz archive ({type(e).__name__}: "
            f"{str(e)[:200]}); it may be truncated or hold pickled objects.",
            "Write it with numpy.savez(path, x=samples) using plain numeric arrays.",
        ) from None
    # A member that is not a valid .npy (bad magic) comes back as raw bytes, not an error.
    bad = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if bad:
        raise InputError(f"{what} file {path} holds members that are not numpy arrays "
                         f"({', '.join(bad)[:200]}); it may be corrupt.",
                         "Write it with numpy.savez(path, x=samples).")
    return arrays


def _check_headers(path: Path) -> None:
    """Refuse a member whose header promises more data than the member holds: np.load
    allocates what the header says before reading, so a 1 KB file could ask for terabytes."""
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(f)
            need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if need > info.file_size:
                raise InputError(
                    f"{path}: member {info.filename} declares shape {shape} of {dtype} "
                    f"({need:,} bytes) but holds {info.file_size:,} bytes; it is corrupt.",
                    "Write it with numpy.savez(path, x=samples).")


def samples(arrays: dict[str, np.ndarray], path: Path, what: str, key: str = "x",
            allow_int8: bool = False) -> np.ndarray:
    """The float32 sample array ``key`` (batch first), validated."""
    if key not in arrays:
        raise InputError(f"{what} file {path} has no array named '{key}' (it has: "
                         f"{', '.join(sorted(arrays)) or 'nothing'}).",
                         f"Save the samples under the key '{key}': numpy.savez(path, {key}=samples).")
    x = arrays[key]
    if allow_int8 and x.dtype == np.int8:
        return x
    if x.dtype.kind not in "fiu" or x.dtype == np.bool_:
        raise InputError(f"{what} array '{key}' in {path} has dtype {x.dtype}; slimgen needs "
                         "float32 samples.", "Convert with x.astype(numpy.float32).")
    if x.ndim < 2 or x.shape[0] == 0:
        raise InputError(f"{what} array '{key}' in {path} has shape {x.shape}; slimgen needs at "
                         "least one sample, batch first, e.g. (N, C, H, W) or (N, F).",
                         "Stack the samples along a first batch axis.")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise InputError(f"{what} array '{key}' in {path} holds {bad} NaN or Inf values.",
                         "Remove or fix those samples.")
    return x
