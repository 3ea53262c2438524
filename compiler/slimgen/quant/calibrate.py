"""Activation ranges observed by running the float graph over calibration samples.

``minmax`` keeps the extreme values (TFLite's default converter behaviour); ``percentile`` keeps
the p-th / (100-p)-th percentiles averaged over batches, which trades clipping of rare outliers
for resolution on the bulk of the distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..ir import float_interp
from ..ir.graph import Graph, Value


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
    sums: dict[str, list[float]] = {}
    batches = 0

    def observe(v: Value, y: np.ndarray) -> None:
        if method == "minmax":
            lo, hi = float(y.min()), float(y.max())
            stats.lo[v.name] = min(lo, stats.lo.get(v.name, lo))
            stats.hi[v.name] = max(hi, stats.hi.get(v.name, hi))
        else:
            lo, hi = np.percentile(y, [100.0 - percentile, percentile])
            acc = sums.setdefault(v.name, [0.0, 0.0])
            acc[0] += float(lo)
            acc[1] += float(hi)

    for start in range(0, len(x), batch):
        float_interp.run(g, x[start:start + batch], observe)
        batches += 1
        if progress:
            progress(min(batch, len(x) - start))
    if method == "percentile":
        for name, (lo, hi) in sums.items():
            stats.lo[name], stats.hi[name] = lo / batches, hi / batches
    return stats
