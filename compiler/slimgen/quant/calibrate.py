"""Activation ranges observed by running the float graph over calibration samples.

``minmax`` keeps the extreme values (TFLite's default converter behaviour); ``percentile`` keeps
the p-th / (100-p)-th percentiles over all samples (a bounded random subsample of each batch),
which trades clipping of rare outliers for resolution on the bulk of the distribution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..ir import float_interp
from ..ir.graph import Graph, Value


PERCENTILE_SAMPLES_PER_BATCH = 20_000


@dataclass
class RangeStats:
    lo: dict[str, float] = field(default_factory=dict)
    hi: dict[str, float] = field(default_factory=dict)

    def range(self, v: Value) -> tuple[float, float]:
        return self.lo[v.name], self.hi[v.name]


def calibrate(g: Graph, x: np.ndarray, *, method: str = "minmax", percentile: float = 99.99,
              batch: int = 32, progress: Callable[[int], None] | None = None) -> RangeStats:
    """Observe every activation of ``g`` over samples ``x`` (N, *IR input shape)."""
    if method not in ("minmax", "percentile"):
        raise ValueError(method)
    stats = RangeStats()
    kept: dict[str, list[np.ndarray]] = {}
    rng = np.random.default_rng(0)  # fixed: calibration must be deterministic

    def observe(v: Value, y: np.ndarray) -> None:
        if method == "minmax":
            lo, hi = float(y.min()), float(y.max())
            stats.lo[v.name] = min(lo, stats.lo.get(v.name, lo))
            stats.hi[v.name] = max(hi, stats.hi.get(v.name, hi))
        else:
            # A bounded, seeded subsample per batch: percentiles over the whole data set without
            # keeping every activation of every sample.
            flat = y.reshape(-1)
            if flat.size > PERCENTILE_SAMPLES_PER_BATCH:
                flat = rng.choice(flat, PERCENTILE_SAMPLES_PER_BATCH, replace=False)
            kept.setdefault(v.name, []).append(flat.astype(np.float32))

    for start in range(0, len(x), batch):
        float_interp.run(g, x[start:start + batch], observe)
        if progress:
            progress(min(batch, len(x) - start))
    for name, parts in kept.items():
        lo, hi = np.percentile(np.concatenate(parts), [100.0 - percentile, percentile])
        stats.lo[name], stats.hi[name] = float(lo), float(hi)
    return stats


RANGES_FORMAT = "slimgen-ranges/1"


def load_ranges(path: Path, model: Path) -> dict[str, tuple[float, float]]:
    """Activation ranges learned elsewhere (``slimgen compress --qat``) for the model ``model``.

    The file names the sha256 of the model it was learned on, so a stale file next to a
    re-exported model is refused rather than silently applied to the wrong tensors.
    """
    try:
        doc = json.loads(path.read_text())
        fmt, digest, ranges = doc["format"], doc["model_sha256"], doc["ranges"]
        out = {str(k): (float(v[0]), float(v[1])) for k, v in ranges.items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise InputError(f"activation ranges file {path} is unreadable ({e}).",
                         "Regenerate it with 'slimgen compress --qat'.") from None
    if fmt != RANGES_FORMAT:
        raise InputError(f"{path} has format {fmt!r}; this slimgen reads {RANGES_FORMAT!r}.",
                         "Regenerate it with 'slimgen compress --qat'.")
    if digest != hashlib.sha256(model.read_bytes()).hexdigest():
        raise InputError(f"activation ranges {path} were learned on a different model than {model}.",
                         "Use the ranges file written together with this model, or drop --ranges.")
    return out


def override_ranges(stats: RangeStats, ranges: dict[str, tuple[float, float]]) -> RangeStats:
    """Replace observed ranges by given ones; every named tensor must exist in the graph."""
    unknown = sorted(set(ranges) - set(stats.lo))
    if unknown:
        raise InputError(f"activation ranges name tensors the model does not have: "
                         f"{', '.join(unknown[:5])}.",
                         "The ranges file belongs to another model; regenerate it.")
    for name, (lo, hi) in ranges.items():
        stats.lo[name], stats.hi[name] = lo, hi
    return stats
