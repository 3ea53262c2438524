"""The ``shared`` sparse format (weight sharing) against dense and unstructured: flash per
non-zero and estimated cycles.

    python3 benchmarks/shared_flash.py                         # m4, m7, m33; table + JSON
    python3 benchmarks/shared_flash.py --core m4 --json out.json --kernels /tmp/k/kernels

Layers: FC 640->128 and pointwise 1x1 64->64 on 25x5 (issue #7's), at 20 / 10 / 5 % density,
single weights kept at random (compiler/slimgen/profile/sparsebench.py prune(): the shared
points use 15 values spread over the int8 range, i.e. 4-bit codes). Each point is one kernel
call profiled in Unicorn and checked bit for bit against the reference; bytes per non-zero
count every array the kernel reads for the weights (row lengths, escapes, codebook), as
report.json's weight_bytes does. A second table gives the flash figures alone for fewer
shared values (3-bit codes: 7 values), which buy longer deltas.
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
from slimgen.profile.cores import get_core  # noqa: E402
from slimgen.profile.kernelbench import SHAPES  # noqa: E402
from slimgen.profile.sparsebench import (  # noqa: E402
    KERNELS_HELP,
    prune,
    pruned_case,
    run_sparse,
    use_kernels,
)

DENSITIES = (0.2, 0.1, 0.05)
LAYERS = ("fc640", "pw1x1")


def measure(core_name: str, layer: str) -> list[dict]:
    core = get_core(core_name)
    shape = SHAPES[layer]
    points = [("dense", 1.0)] + [(f, d) for d in DENSITIES for f in ("unstructured", "shared")]
    rows = []
    for i, (fmt, d) in enumerate(points):
        r = run_sparse(pruned_case(shape, fmt, d, seed=i), fmt, core)
        if not r.bit_exact:
            raise SystemExit(f"{core_name} {layer} {fmt} {d}: output not bit-exact")
        rows.append({"core": core_name, "layer": layer, "format": fmt, "kernel": r.kernel,
                     "density": round(r.density, 4), "cycles": r.cycles,
                     "instructions": r.instructions, "weight_bytes": r.weight_bytes,
                     "bytes_per_nonzero": round(r.weight_bytes / max(1, r.nonzeros), 3)})
        print(f"{core_name} {layer} {fmt:12s} d={r.density:.3f} cycles={r.cycles:>9,} "
              f"bytes={r.weight_bytes:>6,} B/nz={rows[-1]['bytes_per_nonzero']}",
              file=sys.stderr)
    dense = rows[0]["cycles"]
    for row in rows:
        row["speedup"] = round(dense / row["cycles"], 3)
    return rows


def flash_only(n_values: int) -> list[dict]:
    """Bytes per non-zero of the packed arrays alone (no kernel run), FC 640->128."""
    out = []
    for d in DENSITIES:
        rng = np.random.default_rng(7)
        w = prune(rng.integers(-127, 128, (128, 640)).astype(np.int8), "unstructured", d, rng)
        levels = np.linspace(-127, 127, n_values + 1).round().astype(np.int64)
        levels = levels[levels != 0][:n_values]
        w = np.where(w != 0, levels[rng.integers(0, n_values, w.shape)], 0).astype(np.int8)
        p = sf.pack(w, "shared")
        out.append({"values": n_values, "code_bits": p.code_bits, "density": d,
                    "bytes_per_nonzero": round(p.nbytes / np.count_nonzero(w), 3)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", default="m4,m7,m33")
    ap.add_argument("--layer", default=",".join(LAYERS))
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    ap.add_argument("--kernels", type=Path, default=None, help=KERNELS_HELP)
    args = ap.parse_args(argv)
    if args.kernels is not None:
        use_kernels(args.kernels)
    rows = [r for c in args.core.split(",") for lyr in args.layer.split(",")
            for r in measure(c, lyr)]
    print("| layer | format | density | core | est. cycles | vs dense | instructions | "
          "weight bytes | B / non-zero |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['layer']} | {r['format']} | {100 * r['density']:.1f} % | {r['core']} | "
              f"{r['cycles']:,} | {r['speedup']:.2f} | {r['instructions']:,} | "
              f"{r['weight_bytes']:,} | {r['bytes_per_nonzero']:.2f} |")
    few = flash_only(15) + flash_only(7)
    print("\n| shared values | code bits | density | B / non-zero (FC 640->128) |")
    print("|---:|---:|---:|---:|")
    for r in few:
        print(f"| {r['values']} | {r['code_bits']} | {100 * r['density']:.0f} % | "
              f"{r['bytes_per_nonzero']:.2f} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "flash_only": few}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
