"""The four MLPerf Tiny networks end to end: exact instructions and estimated cycles per inference.

    python3 benchmarks/profile_mlperf.py [--data ../shared/data] [--core m4,m7,m33,m55]
                                         [--net kws,ic,vww,ad] [--work /tmp/slimgen-prof] [--json]

Each int8 reference model (.tflite, quantization kept) is built with ``slimgen build`` and
profiled with ``slimgen profile`` (compiler/slimgen/profile/model.py) on its first test sample
(AD: the first 640-value window of the first clip), on each core: instructions are exact, cycles
an estimate for zero-wait-state memory (docs/profile.md). MAC/cycle is the network's MACs over
the estimated cycles. The output must be bit-exact with the integer reference.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    import slimgen  # noqa: F401
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "compiler"))

from slimgen import api
from slimgen.profile.model import profile_build

from tests.realdata import mlperf_data as md

NETS = ("kws", "ic", "vww", "ad")


def first_sample(b: md.Bench, out: Path):
    if b.key != "ad":
        return b.x_int8[0], "first MLPerf test sample"
    _, qg, _ = api.load_built(out)
    return md.ad_quantize(md.ad_windows(b.x_int8[0])[:1], qg.inputs[0].q.scale)[0], \
        "first window of the first MLPerf AD test clip"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--core", default="m4,m7,m33,m55")
    ap.add_argument("--net", default=",".join(NETS))
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-profile-mlperf"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    ok = True
    if not args.json:
        print(f"{'net':4} {'core':5} {'MACs':>11} {'instructions':>13} "
              f"{'est. cycles [low, high]':>38} {'MAC/cyc':>7} exact")
    for key in args.net.split(","):
        b = md.load(args.data, key)
        out = args.work / key
        api.build(b.tflite, None, out, api.BuildOptions(name=key, force=True))
        x, note = first_sample(b, out)
        for core in args.core.split(","):
            r = profile_build(out, core, write_report=False, x=x, input_note=note)
            ok &= r["bit_exact"]
            row = {"net": key, **{k: r[k] for k in (
                "core", "macs_per_inference", "instructions_per_inference",
                "cycles_est_per_inference", "cycles_low_per_inference",
                "cycles_high_per_inference", "macs_per_cycle_est", "cycle_model", "bit_exact")}}
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                band = (f"{r['cycles_est_per_inference']:,} [{r['cycles_low_per_inference']:,}, "
                        f"{r['cycles_high_per_inference']:,}]")
                print(f"{key:4} {core:5} {r['macs_per_inference']:>11,} "
                      f"{r['instructions_per_inference']:>13,} {band:>38} "
                      f"{r['macs_per_cycle_est']:>7.2f} {'yes' if r['bit_exact'] else 'NO'}",
                      flush=True)
    if not args.json:
        print("cycles: estimate, zero-wait-state memory; instructions exact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
