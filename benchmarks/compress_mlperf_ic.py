"""MLPerf Tiny IC ResNet-8: one-shot magnitude pruning without training data (not run in CI).

    python3 benchmarks/compress_mlperf_ic.py [--sparsity 0.5,0.6] [--work /tmp/slimgen-bench-ic]

../shared/data holds the reference ResNet-8 float weights and the 200 EEMBC CIFAR-10 test
images, but no CIFAR-10 training set, so nothing can be fine-tuned honestly. This script prunes
the trained model in one shot (`slimgen compress --epochs 0`), calibrates int8 on every 10th
image (20, the split examples/mlperf_tiny uses) and scores float and slimgen int8 on the other
180. With 180 images one image is 0.56 points of accuracy.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.mlperf_tiny import weights
from examples.mlperf_tiny.evaluate import split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-bench-ic"))
    ap.add_argument("--sparsity", default="0.5,0.6")
    ap.add_argument("--scope", default="layer", choices=["layer", "global"])
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    a.work.mkdir(parents=True, exist_ok=True)
    raw = np.load(a.data / "mlperf-tiny-ic" / "ic01_v05_uint8.npz")
    x, y = weights.float_inputs("ic", raw["x"]), raw["y"].astype(np.int64)
    calib, held = split(len(x))
    data = a.work / "ic.npz"
    np.savez(data, x_train=x[calib], y_train=y[calib], x_test=x[held], y_test=y[held])
    model = weights.MODELS["ic"](a.data)
    dense = a.work / "ic_resnet8.pt2"
    torch.export.save(torch.export.export(model, (torch.from_numpy(x[:1]),)), str(dense))
    out = a.work / "ic_pruned.pt2"
    cmd = ["slimgen", "compress", str(dense), "--data", str(data), "-o", str(out), "--epochs",
           "0", "--sparsity", a.sparsity, "--scope", a.scope, "--plot",
           str(a.work / "ic_sweep.png"), "-q"]
    print("$", shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    rep = json.loads(out.with_name(out.stem + ".report.json").read_text())
    for s in rep["stages"]:
        print(f"  {s['stage']:<28} float {100 * s['float']['accuracy']:.2f} %  int8 "
              f"{100 * s['int8']['accuracy']:.2f} %  non-zero {s['nonzero_weights']:,} / "
              f"{s['params']:,}", flush=True)
    (a.work / "RESULTS.json").write_text(json.dumps({"command": shlex.join(cmd),
                                                     "stages": rep["stages"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
