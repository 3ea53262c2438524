#!/usr/bin/env bash
# Install everything slimgen needs on a fresh Debian machine (Python 3.11, root or sudo):
# the Arm toolchain and QEMU from Debian, torch's CPU wheel, then slimgen itself (editable).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    gcc make clang gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cppcheck llvm-19

PY="${PYTHON:-python3}"
# torch first, pinned: the local CPU wheel. Letting pip resolve 'torch' from the registry for the
# package's own requirement would pull several GB of CUDA libraries.
"$PY" -m pip install -q torch==2.13.0
"$PY" -m pip install -q -e ".[test,examples,compress]"
