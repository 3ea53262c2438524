"""Pruned MLPerf Tiny models for issue #7's end-to-end targets (dense vs sparse timing on the M4).

    python3 benchmarks/prune_mlperf.py [--work /tmp/slimgen-prune-mlperf] [--only ad|kws] [--profile]

Makes, with the function-matching protocol of benchmarks/compress_mlperf.py (fine-tune half of
the provided samples, heavily augmented, dense model as the teacher; scored on the untouched
held-out half, float and slimgen int8):

- the AD auto-encoder at >= 85 % sparsity (target: AUC >= 0.85), 1x4 blocks, by
  benchmarks/prune_ad.py (OBS reconstruction in stages + function matching; its own output
  names, ``ad_block_tail_obs_...pt2``, and the M4 est. cycles dense vs ``--sparse auto``);
- the KWS DS-CNN at 60 % sparsity (target: accuracy >= 90 %), unstructured: one-shot OBS
  (compress/obs.py, global allocation), then 30 epochs of function matching with the mask fixed.

The outputs (``kws_unstructured0.6_e30_s0_global_lr0.0001_fbn_obs1024.pt2``, the dense
``ad_dense.pt2`` / ``kws_dense.pt2`` and the ``*_int8.calib.npz`` calibration sets used for int8) are
in --work; build them with ``slimgen build MODEL.pt2 --calib MODEL_int8.calib.npz -o OUT``.
Existing outputs in --work are reused. With ``--profile`` the KWS models are also built for the
Cortex-M4 (mps2-an386), dense (``--sparse off``) and pruned (``--sparse auto``), profiled
(``slimgen profile --core m4``: est. cycles per layer) and run on the held-out MFCCs in QEMU
(``slimgen run``: bit-exact with the host).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compress_mlperf
import prune_ad

AD = ["--pattern", "block", "--alloc", "tail", "--epochs", "150", "--score-weight", "1",
      "--score-centred"]  # prune_ad.py options (the best block run; docs/compress.md)
RUNS = {  # part: compress_mlperf.py options (the best configuration measured; docs/compress.md)
    "kws": ["--sparsity", "0.6", "--pattern", "unstructured", "--prune-method", "obs", "--scope",
            "global", "--epochs", "30", "--lr", "1e-4", "--freeze-bn"],
}


def slimgen_json(*args: str) -> dict:
    r = subprocess.run(["slimgen", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def profile_kws(work: Path, res: dict) -> dict:
    """Dense and pruned KWS on the M4: est. cycles per layer, and QEMU on the held-out MFCCs."""
    held = work / "kws_held_out.npz"
    split = np.load(work / "kws-split0.npz")
    np.savez(held, x=np.ascontiguousarray(split["x_held"], np.float32), y=split["y_held"])
    tag = Path(res["output"]).stem
    out = {}
    for name, pt2, sparse in (("dense", work / "kws_dense.pt2", "off"),
                              ("pruned", Path(res["output"]), "auto")):
        stem = "kws_dense" if name == "dense" else tag
        build = work / f"{stem}_m4"
        subprocess.run(["slimgen", "build", str(pt2), "--calib",
                        str(work / f"{stem}_int8.calib.npz"), "--target", "cortex-m4", "--board",
                        "mps2-an386", "--sparse", sparse, "-o", str(build), "--force", "-q"],
                       check=True)
        prof = slimgen_json("profile", str(build), "--core", "m4")
        run = slimgen_json("run", str(build), "--inputs", str(held))
        out[name] = {"build": str(build), "sparse": sparse,
                     "cycles_est": prof["cycles_est_per_inference"],
                     "profile_bit_exact": prof["bit_exact"],
                     "qemu_bit_exact": run["bit_exact"], "qemu_samples": run["samples"],
                     "qemu_instructions": run["instructions_per_inference"],
                     "layers": [(q["name"], q["kernel"], q["cycles_est"])
                                for q in prof["per_layer"]]}
        print(f"  m4 {name:6s} --sparse {sparse:4s} est. cycles {out[name]['cycles_est']:>10,}  "
              f"QEMU instructions {out[name]['qemu_instructions']:>10,}  bit-exact "
              f"{run['bit_exact']} on {run['samples']} held-out MFCCs")
    out["speedup"] = round(out["dense"]["cycles_est"] / out["pruned"]["cycles_est"], 3)
    print(f"  speedup (est. cycles, M4): {out['speedup']:.3f}x")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-prune-mlperf"))
    ap.add_argument("--only", choices=sorted(RUNS) + ["ad"])
    ap.add_argument("--profile", action="store_true",
                    help="also M4 est. cycles dense vs --sparse auto, and QEMU bit-exactness")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    summary = a.work / "PRUNED.json"
    out = json.loads(summary.read_text()) if summary.exists() else {}
    if a.only in (None, "ad"):
        cmd = f"python3 benchmarks/prune_ad.py --work {a.work} --profile " + " ".join(AD)
        out["ad"] = prune_ad.run(prune_ad.parser().parse_args(
            ["--work", str(a.work), "--profile", *AD]), cmd)  # always profiles
    for part, opts in RUNS.items():
        if a.only and part != a.only:
            continue
        args = compress_mlperf.parser().parse_args([part, "--work", str(a.work), *opts])
        out[part] = compress_mlperf.run(args)
        if a.profile and part == "kws":
            out[part]["m4"] = profile_kws(a.work, out[part])
    summary.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
