"""Helpers of the firmware suite: board lists, tool availability, and the fake model
(fake_model/README.md): how to make an OUT folder of it, and its numpy reference."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from slimgen import paths
from slimgen.firmware.boards import list_boards, load_board

HAVE_GCC = shutil.which("arm-none-eabi-gcc") is not None
HAVE_QEMU = shutil.which("qemu-system-arm") is not None

needs_gcc = pytest.mark.skipif(not HAVE_GCC, reason="arm-none-eabi-gcc not installed "
                               "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
needs_qemu = pytest.mark.skipif(not (HAVE_GCC and HAVE_QEMU), reason="needs arm-none-eabi-gcc "
                                "and qemu-system-arm (apt-get install qemu-system-arm)")

EMULATED = [b for b in list_boards() if load_board(b).emulated]
HARDWARE = [b for b in list_boards() if not load_board(b).emulated]

HERE = Path(__file__).resolve().parent
FAKE_DIR = HERE / "fake_model"
SPIN_DIR = HERE / "spin_model"
BIAS = np.array([3, -7, 100, -100, 0, 1, -1, 127, -128, 64, -64, 5, 9, -9, 42, -42])
HANG = np.array([0x7F, 0x7E] + [0] * 14, dtype=np.int8)
FAULT = np.array([0x7F, 0x7D] + [0] * 14, dtype=np.int8)


def make_fake_out(dest: Path, source: Path = FAKE_DIR) -> Path:
    """Copies a hand-written model folder to ``dest`` plus sg_types.h, as `slimgen build`
    copies kernels."""
    shutil.copytree(source, dest)
    shutil.copy2(paths.kernels_dir() / "include" / "sg_types.h", dest / "kernels" / "include")
    return dest


def reference(x: np.ndarray) -> np.ndarray:
    x = x.reshape(-1, 16).astype(np.int64)
    t = np.clip(x + BIAS, -128, 127)
    return np.clip(t.reshape(-1, 4, 4).sum(axis=-1) >> 2, -128, 127).astype(np.int8)


def samples(n: int, seed: int = 0) -> np.ndarray:
    """Random samples that avoid the hang/fault hooks, plus the saturation corners."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(n, 16)).astype(np.int8)
    x[:, 0] = np.minimum(x[:, 0], 100)
    if n >= 2:
        x[0, :] = 127
        x[0, 0] = 100
        x[1, :] = -128
    return x


def spin_inputs(counts: list[tuple[int, int]]) -> np.ndarray:
    """spin_model samples: (n0, n1) loop counts as two little-endian uint32."""
    return np.array(counts, dtype="<u4").view(np.int8).reshape(len(counts), 8)
