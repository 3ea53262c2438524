"""Sparse kernels against slimgen's own best dense kernel, over density, per format and core.

    python3 benchmarks/sparse_sweep.py                      # m4, m7, m33; table + JSON + PNG
    python3 benchmarks/sparse_sweep.py --core m4 --layer fc640 --no-plot
    python3 benchmarks/sparse_sweep.py --core m55 --no-plot --json m55.json   # Helium, in QEMU

Layers (issue #7): FC 640->128, pointwise 1x1 64->64 on 25x5, and conv 3x3 16->16 on 32x32 (the
sparse convs run through im2col). Densities 100/50/30/20/10/5 % for unstructured, bsr1x4 and
shared; N:4 runs at its own density (2:4 at 50 %, 1:4 at 25 %). Each point is one kernel call
profiled in Unicorn (compiler/slimgen/profile/sparsebench.py; the M55 in QEMU, which emulates
Helium): exact instructions, estimated cycles (zero-wait-state memory, see docs/profile.md),
the weight bytes as stored, and a bit-exact check of the output against the reference. Writes docs/sparse_sweep.json and
docs/sparse_speedup.png (speedup against density per format, one panel per layer and core) and
prints the break-even density per format and core.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import slimgen  # noqa: F401
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "compiler"))

from slimgen.profile import sparsebench  # noqa: E402
from slimgen.profile.cores import get_core  # noqa: E402
from slimgen.profile.kernelbench import SHAPES  # noqa: E402
from slimgen.profile.sparsebench import (  # noqa: E402
    KERNELS_HELP,
    pruned_case,
    run_sparse,
    use_kernels,
)

DENSITIES = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05)
SWEPT = ("unstructured", "bsr1x4", "shared")
NM = {"nm2:4": 0.5, "nm1:4": 0.25}
LAYERS = ("fc640", "pw1x1", "conv3x3")


def sweep(core_name: str, layer: str) -> list[dict]:
    core = get_core(core_name)
    shape = SHAPES[layer]
    rows = []
    points = [("dense", 1.0)] + [(f, d) for f in SWEPT for d in DENSITIES] + list(NM.items())
    for i, (fmt, d) in enumerate(points):
        r = run_sparse(pruned_case(shape, fmt, d, seed=i), fmt, core)
        rows.append({"core": core_name, "layer": layer, "format": fmt, "kernel": r.kernel,
                     "density": round(r.density, 4), "target_density": d, "cycles": r.cycles,
                     "instructions": r.instructions, "weight_bytes": r.weight_bytes,
                     "nonzeros": r.nonzeros, "bit_exact": r.bit_exact})
        print(f"{core_name} {layer} {fmt:12s} d={r.density:.3f} cycles={r.cycles:>9,} "
              f"instr={r.instructions:>9,} bytes={r.weight_bytes:>6,}", file=sys.stderr)
    dense = rows[0]["cycles"]
    for row in rows:
        row["speedup"] = round(dense / row["cycles"], 3)
    return rows


def break_even(rows: list[dict], fmt: str) -> float | None:
    """Highest density at which ``fmt`` is still at least as fast as dense (linear
    interpolation between measured densities); None if it never is."""
    pts = sorted((r["target_density"], r["speedup"]) for r in rows if r["format"] == fmt)
    best = None
    for (d0, s0), (d1, s1) in zip(pts, pts[1:]):
        if s0 >= 1.0 > s1:
            best = d0 + (s0 - 1.0) * (d1 - d0) / (s0 - s1)
    if pts and pts[-1][1] >= 1.0:
        best = pts[-1][0]
    return best


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cores = sorted({r["core"] for r in rows})
    layers = [lyr for lyr in LAYERS if any(r["layer"] == lyr and r["format"] != "dense"
                                           for r in rows)]
    fig, axes = plt.subplots(len(layers), len(cores), figsize=(4.2 * len(cores),
                             3.4 * len(layers)), squeeze=False, sharey=True)
    for i, layer in enumerate(layers):
        for j, core in enumerate(cores):
            ax = axes[i][j]
            sel = [r for r in rows if r["core"] == core and r["layer"] == layer]
            for fmt, style in (("unstructured", "o-"), ("bsr1x4", "s-"), ("shared", "d-")):
                pts = sorted((r["density"] * 100, r["speedup"]) for r in sel
                             if r["format"] == fmt)
                if pts:
                    ax.plot(*zip(*pts), style, label=fmt)
            for fmt, marker in (("nm2:4", "^"), ("nm1:4", "v")):
                pts = [(r["density"] * 100, r["speedup"]) for r in sel if r["format"] == fmt]
                if pts:
                    ax.plot(*zip(*pts), marker, markersize=9, label=fmt)
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            ax.set_xscale("log")
            ax.set_xticks([5, 10, 20, 30, 50, 100], ["5", "10", "20", "30", "50", "100"])
            ax.set_title(f"{layer} on {core}")
            ax.set_xlabel("density (% non-zero weights)")
            if j == 0:
                ax.set_ylabel("speedup vs best dense (est. cycles)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", default="m4,m7,m33")
    ap.add_argument("--layer", default=",".join(LAYERS))
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "sparse_sweep.json")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "sparse_speedup.png")
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument("--kernels", type=Path, default=None, help=KERNELS_HELP)
    ap.add_argument("--opt", choices=("O3", "O2"), default="O3",
                    help="optimization level: O3 as the CMSIS-NN reference figures (default), "
                         "O2 as the firmware slimgen builds")
    args = ap.parse_args(argv)
    if args.kernels is not None:
        use_kernels(args.kernels)
    sparsebench.BENCH_CFLAGS = tuple(f"-{args.opt}" if f == "-O3" else f
                                     for f in sparsebench.BENCH_CFLAGS)
    rows = [r for core in args.core.split(",") for layer in args.layer.split(",")
            for r in sweep(core, layer)]
    if not all(r["bit_exact"] for r in rows):
        print("NOT BIT-EXACT:", [r for r in rows if not r["bit_exact"]], file=sys.stderr)
        return 1
    print(f"{'core':5s} {'layer':8s} {'format':12s} {'density':>7s} {'est.cycles':>11s} "
          f"{'speedup':>7s} {'instr':>10s} {'bytes':>7s} {'B/nz':>5s}")
    for r in rows:
        bpn = r["weight_bytes"] / r["nonzeros"] if r.get("nonzeros") else float("nan")
        print(f"{r['core']:5s} {r['layer']:8s} {r['format']:12s} {r['density'] * 100:6.1f}% "
              f"{r['cycles']:>11,} {r.get('speedup', 1.0):7.2f} {r['instructions']:>10,} "
              f"{r['weight_bytes']:>7,} {bpn:5.2f}")
    summary = {}
    for core in args.core.split(","):
        for layer in args.layer.split(","):
            sel = [r for r in rows if r["core"] == core and r["layer"] == layer]
            for fmt in SWEPT:
                if any(r["format"] == fmt for r in sel):
                    be = break_even(sel, fmt)
                    summary[f"{core}/{layer}/{fmt}"] = be
                    print(f"break-even {core} {layer} {fmt}: "
                          f"{'never' if be is None else f'{be * 100:.0f} % density'}")
    args.json.write_text(json.dumps({"command": "python3 benchmarks/sparse_sweep.py "
                                     + " ".join(argv if argv is not None else sys.argv[1:]),
                                     "rows": rows, "break_even": summary}, indent=1) + "\n")
    if not args.no_plot:
        plot(rows, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
