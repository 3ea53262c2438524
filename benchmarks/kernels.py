"""slimgen's dense kernels vs CMSIS-NN on the five shapes of ../shared/reference/cmsis-nn-kernels.md.

    python3 benchmarks/kernels.py                          # every core x every layer, a table
    python3 benchmarks/kernels.py --core m4 --layer fc640  # one cell
    python3 benchmarks/kernels.py --core m4,m7 --json      # JSON lines, one per cell

Each layer is built the way ``slimgen build`` builds it (one-node graph -> KERNELS table ->
model.c / weights.c) with the reference's quantization setup and compiler flags (-O3, the
reference's -mcpu/-mfpu flags), run once in Unicorn (M55: QEMU mps3-an547), and the kernel call
alone is counted (compiler/slimgen/profile/). The output is checked bit for bit against
slimgen.ref; a mismatch exits 1. CMSIS-NN's figures are read from the reference file at run time.
Cycles are estimates (table model or llvm-mca), zero-wait-state memory: see docs/profile.md.
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

from slimgen.profile.cores import CORES, get_core
from slimgen.profile.cycles import NOTE
from slimgen.profile.kernelbench import SHAPES, cmsis_figures, make_case, run_case

REFERENCE = ROOT.parent / "shared" / "reference" / "cmsis-nn-kernels.md"
DEFAULT_CORES = ("m4", "m7", "m33", "m55")


def _ratio(a: int, b: int | None) -> str:
    return f"{a / b:.2f}" if b else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", default=",".join(DEFAULT_CORES),
                    help=f"comma-separated, from {', '.join(CORES)}")
    ap.add_argument("--layer", default=",".join(SHAPES),
                    help=f"comma-separated, from {', '.join(SHAPES)}")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--no-checks", action="store_true",
                    help="compile the kernels with -DSG_CHECKS=0 (default: as shipped, checks on)")
    ap.add_argument("--hot", type=int, default=0, metavar="N",
                    help="also print the N hottest blocks of each kernel, disassembled")
    ap.add_argument("--reference", type=Path, default=REFERENCE,
                    help="the CMSIS-NN figures file (default: ../shared/reference/...)")
    args = ap.parse_args(argv)
    cores = [get_core(c) for c in args.core.split(",")]
    layers = args.layer.split(",")
    unknown = [name for name in layers if name not in SHAPES]
    if unknown:
        ap.error(f"unknown layer(s) {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    cmsis = cmsis_figures(args.reference) if args.reference.is_file() else {}
    if not cmsis and not args.json:
        print(f"(no CMSIS-NN figures: {args.reference} not found)", file=sys.stderr)
    rows = []
    ok = True
    for core in cores:
        for name in layers:
            r = run_case(make_case(SHAPES[name]), core, checks=not args.no_checks, hot=args.hot)
            ok &= r.bit_exact
            ci, cc = cmsis.get((core.name, name), (None, None))
            row = {
                "core": core.name, "layer": name, "kernel": r.kernel, "macs": r.macs,
                "instructions": r.instructions, "cycles_est": r.cycles.nominal,
                "cycles_low": r.cycles.low, "cycles_high": r.cycles.high,
                "cycle_model": r.cycles.method, "bit_exact": r.bit_exact,
                "cmsis_instructions": ci, "cmsis_cycles_est": cc,
                "ratio_instructions": round(r.instructions / ci, 3) if ci else None,
                "ratio_cycles": round(r.cycles.nominal / cc, 3) if cc else None,
                "checks": not args.no_checks,
            }
            rows.append(row)
            if args.json:
                print(json.dumps(row | ({"hot": r.hot} if r.hot else {})), flush=True)
            else:
                _print_row(row, header=len(rows) == 1)
                if r.hot:
                    print("\n".join(r.hot), flush=True)
    if not args.json:
        print(f"cycles: {NOTE}; instructions exact (emulator block counts)")
    if not ok:
        print("ERROR: a kernel output differs from slimgen.ref", file=sys.stderr)
    return 0 if ok else 1


def _print_row(r: dict, header: bool) -> None:
    if header:
        print(f"{'core':5} {'layer':8} {'kernel':22} {'instr':>10} {'CMSIS':>10} {'ratio':>5} "
              f"{'est.cycles [low, high]':>32} {'CMSIS':>10} {'ratio':>5} {'MAC/cyc':>7} exact")
    band = f"{r['cycles_est']:,} [{r['cycles_low']:,}, {r['cycles_high']:,}]"
    ci = f"{r['cmsis_instructions']:,}" if r["cmsis_instructions"] else "-"
    cc = f"{r['cmsis_cycles_est']:,}" if r["cmsis_cycles_est"] else "-"
    print(f"{r['core']:5} {r['layer']:8} {r['kernel']:22} {r['instructions']:>10,} {ci:>10} "
          f"{_ratio(r['instructions'], r['cmsis_instructions']):>5} {band:>32} {cc:>10} "
          f"{_ratio(r['cycles_est'], r['cmsis_cycles_est']):>5} "
          f"{r['macs'] / r['cycles_est']:>7.2f} {'yes' if r['bit_exact'] else 'NO'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
