#!/usr/bin/env bash
# Pruning that pays on the emulated Cortex-M4: prune the digits CNN to 75 % with each layer's
# pattern chosen for the M4's sparse kernels, build it with per-layer sparse formats, verify it
# bit-exact on the host and in QEMU, and compare its per-layer cycles with the dense build's.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=examples/digits/build
python3 examples/digits/make_example.py "$BUILD"
# The first conv (one input channel, 9 weights per filter: 144 in all) stays dense: pruning it
# buys few cycles and costs most of the accuracy lost.
slimgen compress "$BUILD/digits.pt2" --data "$BUILD/train.npz" -o "$BUILD/sparse.pt2" \
    --sparsity 0.75 --pattern auto --target cortex-m4 --epochs 10 --exclude features.0
for variant in dense sparse; do
    model="$BUILD/digits.pt2" mode=off
    [ "$variant" = sparse ] && model="$BUILD/sparse.pt2" mode=auto
    slimgen build "$model" --calib "$BUILD/calib.npz" --target cortex-m4 --board mps2-an386 \
        --sparse "$mode" -o "$BUILD/out_$variant" --force
    slimgen verify "$BUILD/out_$variant" --inputs "$BUILD/test.npz"
    slimgen run "$BUILD/out_$variant" --inputs "$BUILD/test.npz"
    slimgen profile "$BUILD/out_$variant" --core m4 --json > "$BUILD/profile_$variant.json"
done
python3 - "$BUILD" <<'PY'
import json, sys
from pathlib import Path

dense, sparse = (json.loads((Path(sys.argv[1]) / f"profile_{v}.json").read_text())
                 for v in ("dense", "sparse"))
print(f"{'layer':6} {'dense kernel':22} {'est. cycles':>11}   {'sparse kernel':22} {'est. cycles':>11}")
for a, b in zip(dense["per_layer"], sparse["per_layer"]):
    print(f"{a['name']:6} {a['kernel']:22} {a['cycles_est']:>11,}   {b['kernel']:22} "
          f"{b['cycles_est']:>11,}  {a['cycles_est'] / max(b['cycles_est'], 1):.2f}x")
d, s = dense["cycles_est_per_inference"], sparse["cycles_est_per_inference"]
print(f"inference on the M4 (estimate, zero-wait-state memory): {d:,} -> {s:,} cycles, "
      f"{d / s:.2f}x; bit-exact: dense {dense['bit_exact']}, sparse {sparse['bit_exact']}")
PY
