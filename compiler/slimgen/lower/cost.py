"""Estimated cycles of the dense and sparse fc / conv kernels, per core: what ``--sparse auto``
compares layer by layer.

The model is linear in what a kernel's loops do:

    cycles = fixed + passes * (per_row * rows + per_unit * units + per_col * cols)
             + per_win * pixels * K_h

``passes`` is 1 for fc; for a 1x1 convolution the sparse kernels walk the weights once per 4
pixels (N:4 reads 4 pixels' pair tables), and the dense one once per pixel (its coefficients
absorb its own tiling); see ``passes``. General convolutions ("conv") walk them once per 4
pixels (sparse) and pay the im2col copy per pass and column (``per_col``) and per window row
gathered (``per_win``: one run of taps per output pixel and kernel row, which dominates when
C_in is small, e.g. KWS's first layer, 10x4 over one channel); both are 0 elsewhere. ``units``
are what the inner loop iterates over: MACs (dense), stored entries with escapes (unstructured),
blocks (bsr1x4), N:4 entries (nm). The coefficients per (kernel, core) are fitted to
instruction-accurate Unicorn profiles by ``benchmarks/sparse_calibrate.py`` and stored in
``sparse_costs.json`` beside this file; where a core or kernel has no fitted row, an analytic
table (the M4 fit, rounded; general conv from the loops' instruction counts) is used and the
report says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from . import sparse_format as sf

COSTS_FILE = Path(__file__).with_name("sparse_costs.json")

# Analytic fallbacks: cycles (fixed, per_row, per_unit, per_col), an M4-like core.
ANALYTIC: dict[str, tuple[float, ...]] = {
    "conv:dense": (4000.0, 40.0, 1.7, 0.0),
    "conv:unstructured": (2000.0, 230.0, 20.0, 4.0),
    "conv:bsr1x4": (2000.0, 240.0, 39.0, 4.0),
    "conv:nm": (2000.0, 100.0, 9.9, 30.0),
    "fc:dense": (1800.0, 20.0, 2.0, 0.0),
    "pw:dense": (4100.0, 38.0, 1.6, 0.0),
    "fc:unstructured": (80.0, 125.0, 6.8, 0.0),
    "pw:unstructured": (2100.0, 230.0, 20.0, 0.0),
    "fc:bsr1x4": (75.0, 115.0, 12.8, 0.0),
    "pw:bsr1x4": (1900.0, 240.0, 39.0, 0.0),
    "fc:nm": (125.0, 60.0, 2.7, 0.0),
    "pw:nm": (0.0, 100.0, 8.6, 0.0),
    # shared (one byte per entry, codebook): the M4 fit of its kernels at c5cb9f1 (sparse_calibrate's
    # shapes and fit, densities 5/20/50 %; worst error fc 0.1 %, pw 4 %, conv 13 %), used on
    # every core until benchmarks/sparse_calibrate.py measures it. fixed: the decode table fill.
    "fc:shared": (1680.0, 99.4, 7.76, 0.0),
    "pw:shared": (4294.0, 177.3, 19.13, 0.0),
    "conv:shared": (452.0, 239.9, 20.22, 12.8),
}


@dataclass(frozen=True)
class Estimate:
    kernel: str
    fmt: str  # "dense" or a sparse_format.FORMATS name
    cycles: int
    units: int  # MACs, entries or blocks per pass
    weight_bytes: int  # flash bytes of the weights (packed arrays for sparse)
    source: str  # "fitted:m4" or "analytic"

    def as_json(self) -> dict[str, object]:
        return {"kernel": self.kernel, "format": self.fmt, "est_cycles": self.cycles,
                "units": self.units, "weight_bytes": self.weight_bytes, "model": self.source}


@cache
def fitted_table() -> dict[str, dict[str, list[float]]]:
    """{core: {"fc:bsr1x4": [fixed, per_row, per_unit], ...}} from sparse_costs.json."""
    if not COSTS_FILE.is_file():
        return {}
    data = json.loads(COSTS_FILE.read_text())
    return {core: {k: list(v) for k, v in rows.items()} for core, rows in data["cores"].items()}


N_COEFFICIENTS = 5


def coefficients(family: str, fmt: str, core: str) -> tuple[tuple[float, ...], str]:
    """(fixed, per_row, per_unit, per_col, per_win) and where they come from; a shorter row
    (fc, 1x1, the analytic table) has zeros for the terms it lacks."""
    key = f"{family}:{'nm' if fmt.startswith('nm') else fmt}"
    row = fitted_table().get(core, {}).get(key)
    source = f"fitted:{core}"
    if row is None:
        row, source = list(ANALYTIC[key]), "analytic"
    return tuple(row) + (0.0,) * (N_COEFFICIENTS - len(row)), source


def family_of(kernel: str) -> str:
    if kernel.startswith("sg_fc"):
        return "fc"
    return "pw" if kernel.startswith("sg_conv2d_s8_1x1") else "conv"


def units_of(packed: sf.Packed | None, w: np.ndarray) -> int:
    if packed is None:
        return int(w.size)
    if isinstance(packed, sf.Csr8):
        return packed.entries
    if isinstance(packed, sf.Bsr1x4):
        return packed.blocks
    if isinstance(packed, sf.Shared):
        return packed.entries
    return int(packed.values.size)


def passes(family: str, fmt: str, pixels: int, core: str = "") -> int:
    """Passes over the weights: how kernels/src/sparse/ groups pixels (4, then 2, then 1; on
    the M55 the Helium walkers of unstructured 1x1 / conv and shared 1x1 take 8 at a time,
    sg_sparse_mve.h)."""
    if family == "fc":
        return 1
    if fmt == "dense":
        return pixels
    if core == "m55" and (fmt == "unstructured" or (fmt == "shared" and family == "pw")):
        return -(-pixels // 8)
    return -(-pixels // 4)


def estimate(kernel: str, fmt: str, w: np.ndarray, pixels: int, core: str,
             kernel_h: int = 1) -> Estimate:
    """Cycles of ``kernel`` (format ``fmt``) on dense weights ``w`` [rows][cols], over ``pixels``
    output pixels (1 for fc) of a kernel ``kernel_h`` rows tall."""
    family = family_of(kernel)
    packed = None if fmt == "dense" else sf.pack(w, fmt)
    units = units_of(packed, w)
    (fixed, per_row, per_unit, per_col, per_win), source = coefficients(family, fmt, core)
    n = passes(family, fmt, pixels, core)
    cycles = (fixed + n * (per_row * w.shape[0] + per_unit * units + per_col * w.shape[1])
              + per_win * pixels * kernel_h)
    wbytes = int(w.size) if packed is None else packed.nbytes
    if isinstance(packed, sf.NM) and family == "fc":
        wbytes = packed.nbytes_fc  # the fc kernel reads int16 weight pairs
    return Estimate(kernel, fmt, int(round(cycles)), units, wbytes, source)
