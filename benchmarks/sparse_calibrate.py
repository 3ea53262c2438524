"""Fit the sparse cost model (compiler/slimgen/lower/cost.py) to measured kernel profiles.

    python3 benchmarks/sparse_calibrate.py                 # m4, m7, m33 -> lower/sparse_costs.json
    python3 benchmarks/sparse_calibrate.py --core m4 --dry-run

For each core, the dense and every sparse fc / 1x1 kernel runs on a few layer shapes and
densities (compiler/slimgen/profile/sparsebench.py: Unicorn instruction counts, cycle estimates,
bit-exact outputs), and a non-negative least-squares fit gives, per (family, format), the
coefficients of ``cycles = fixed + passes * (per_row * rows + per_unit * units + per_col *
cols)``. The table is
written with the worst relative error of the fit on its own points, so a reader can judge it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import slimgen  # noqa: F401
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "compiler"))

from slimgen.lower import sparse_format as sf  # noqa: E402
from slimgen.lower.cost import COSTS_FILE, passes, units_of  # noqa: E402
from slimgen.lower.kernels import weight_matrix  # noqa: E402
from slimgen.profile.cores import get_core  # noqa: E402
from slimgen.profile.kernelbench import Shape  # noqa: E402
from slimgen.profile.sparsebench import (  # noqa: E402
    KERNELS_HELP,
    pruned_case,
    run_sparse,
    use_kernels,
)

FC_SHAPES = [Shape("fc", "fc", 1, 1, cin, cout, 1, 0)
             for cin, cout in ((640, 128), (256, 64), (128, 32), (640, 16))]
PW_SHAPES = [Shape("pw", "conv2d", h, w, cin, cout, 1, 0)
             for h, w, cin, cout in ((5, 5, 64, 64), (4, 3, 32, 64), (5, 3, 64, 16))]
CONV_SHAPES = [Shape("conv", "conv2d", h, w, cin, cout, 3, 1)
               for h, w, cin, cout in ((8, 8, 16, 16), (6, 5, 8, 32), (4, 4, 32, 8))]
DENSITIES = {"dense": (1.0,), "unstructured": (0.05, 0.2, 0.5), "bsr1x4": (0.05, 0.2, 0.5),
             "nm2:4": (0.5,), "nm1:4": (0.25,)}


def measure(core_name: str) -> list[dict]:
    core = get_core(core_name)
    points = []
    for family, shapes in (("fc", FC_SHAPES), ("pw", PW_SHAPES), ("conv", CONV_SHAPES)):
        for shape in shapes:
            for fmt, densities in DENSITIES.items():
                for d in densities:
                    case = pruned_case(shape, fmt, d, seed=len(points))
                    r = run_sparse(case, fmt, core)
                    if not r.bit_exact:
                        raise SystemExit(f"{core_name} {shape} {fmt}: output not bit-exact")
                    w = weight_matrix(case.graph.nodes[0])
                    packed = None if fmt == "dense" else sf.pack(w, fmt)
                    pixels = shape.h * shape.w
                    n_passes = passes(family, fmt, pixels)
                    key = f"{family}:{'nm' if fmt.startswith('nm') else fmt}"
                    points.append({"key": key, "fmt": fmt, "rows": shape.cout, "cols": shape.cin,
                                   "pixels": pixels, "passes": n_passes,
                                   "units": units_of(packed, w), "cols": w.shape[1],
                                   "density": r.density,
                                   "cycles": r.cycles, "instructions": r.instructions})
                    print(f"{core_name} {key:17s} {shape.cin}->{shape.cout} x{pixels} "
                          f"d={r.density:.3f} cycles={r.cycles}", file=sys.stderr)
    return points


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with non-negative coefficients (every subset of the few unknowns)."""
    from itertools import combinations

    best, best_err = np.zeros(a.shape[1]), np.inf
    for k in range(1, a.shape[1] + 1):
        for cols in combinations(range(a.shape[1]), k):
            x, *_ = np.linalg.lstsq(a[:, cols], b, rcond=None)
            if (x < 0).any():
                continue
            full = np.zeros(a.shape[1])
            full[list(cols)] = x
            err = float(np.sum((a @ full - b) ** 2))
            if err < best_err:
                best, best_err = full, err
    return best


def fit(points: list[dict]) -> tuple[dict, dict]:
    coefs, quality = {}, {}
    for key in sorted({p["key"] for p in points}):
        ps = [p for p in points if p["key"] == key]
        # Relative error is what matters (layers differ by 100x): weight rows by 1 / cycles.
        # per_col (the im2col copy) only where there is one: general conv.
        a = np.array([[1.0, p["passes"] * p["rows"], p["passes"] * p["units"],
                       p["passes"] * p["cols"] if p["key"].startswith("conv") else 0.0]
                      for p in ps])
        b = np.array([float(p["cycles"]) for p in ps])
        wgt = 1.0 / b
        x = nnls(a * wgt[:, None], b * wgt)
        rel = np.abs(a @ x - b) / b
        coefs[key] = [round(float(v), 3) for v in x]
        quality[key] = {"points": len(ps), "max_rel_error": round(float(rel.max()), 4)}
    return coefs, quality


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", default="m4,m7,m33")
    ap.add_argument("--dry-run", action="store_true", help="print the table, write nothing")
    ap.add_argument("--kernels", type=Path, default=None, help=KERNELS_HELP)
    args = ap.parse_args(argv)
    if args.kernels is not None:
        use_kernels(args.kernels)
    table = {"generated_by": "python3 benchmarks/sparse_calibrate.py --core " + args.core,
             "model": "cycles = fixed + passes * (per_row * rows + per_unit * units + per_col * cols)",
             "cores": {}, "fit": {}}
    for core in args.core.split(","):
        coefs, quality = fit(measure(core))
        table["cores"][core] = coefs
        table["fit"][core] = quality
    text = json.dumps(table, indent=1, sort_keys=True) + "\n"
    print(text)
    if not args.dry_run:
        COSTS_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
