#!/usr/bin/env bash
# The main job on the bundled example: train the digits CNN, build it for the emulated Cortex-M4
# board, verify the host C bit-exact against the integer reference, run the firmware in QEMU.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=examples/digits/build
python3 examples/digits/make_example.py "$BUILD"
slimgen build "$BUILD/digits.pt2" --calib "$BUILD/calib.npz" \
    --target cortex-m4 --board mps2-an386 -o "$BUILD/out" --force
slimgen verify "$BUILD/out" --inputs "$BUILD/test.npz"
slimgen run "$BUILD/out" --inputs "$BUILD/test.npz"
