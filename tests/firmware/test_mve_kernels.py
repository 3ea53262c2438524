"""The Helium (MVE) kernels of Cortex-M55 (kernels/src/mve/) are bit-exact with the integer
reference. Nothing on the host can run MVE, so these models are built for the emulated
mps3-an547 (QEMU 7.2 emulates MVE) and compared there: odd channel counts (tails of the 16-byte
and 4-lane steps), one input channel, padding, strides, dilation, non-square kernels, 1x1 layers
with fewer and more pixels than a tile, depthwise with ch_mult 1 (MVE) and 2 (portable fallback),
fc with K not a multiple of 16. The firmware's disassembly must contain the MVE instructions, so
a dispatch that silently fell back to the DSP or portable path fails here."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from slimgen import api
from slimgen.firmware.build import ELF, FIRMWARE, build_firmware
from slimgen.firmware.qemu import run_on_board
from tests.e2e.test_random_models import random_model
from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import build_model, random_inputs

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(300)]

BOARD = "mps3-an547"


def conv_mix() -> tuple[nn.Module, tuple[int, ...]]:
    """One input channel, 3x3 pad 1, stride 2, 1x1 on 30 pixels, depthwise s1/s2, fc 37 -> 3."""
    model = nn.Sequential(
        nn.Conv2d(1, 7, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(7, 13, 3, 2, 1), nn.ReLU6(),
        nn.Conv2d(13, 19, 1),
        nn.Conv2d(19, 19, 3, 1, 1, groups=19), nn.ReLU(),
        nn.Conv2d(19, 19, 3, 2, 1, groups=19),
        nn.Conv2d(19, 21, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(21 * 3 * 3, 37), nn.ReLU(), nn.Linear(37, 3))
    return model, (1, 1, 9, 11)


def odd_shapes() -> tuple[nn.Module, tuple[int, ...]]:
    """Dilation 2, 2x3 and 5x5 kernels over 17 channels (rows of 85 bytes), depthwise 5x5 and
    ch_mult 2, a 1x1 layer on 3 pixels, fc with K = 51."""
    model = nn.Sequential(
        nn.Conv2d(3, 17, (2, 3), 1, (1, 1)), nn.ReLU(),
        nn.Conv2d(17, 9, 3, 1, 2, dilation=2),
        nn.Conv2d(9, 9, 5, 1, 2, groups=9), nn.Hardtanh(-1.0, 1.0),
        nn.Conv2d(9, 18, 3, 2, 1, groups=9), nn.ReLU(),
        nn.Conv2d(18, 17, 5, 2, 2),
        nn.Conv2d(17, 6, 3, (3, 1), 1), nn.ReLU(),
        nn.Conv2d(6, 5, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(5 * 1 * 3, 51), nn.ReLU(), nn.Linear(51, 10))
    return model, (1, 3, 10, 12)


def tiny() -> tuple[nn.Module, tuple[int, ...]]:
    """Two pixels: 1x1 and 3x3 conv below their tile sizes (the one-pixel paths), fc with K < 16."""
    model = nn.Sequential(
        nn.Conv2d(5, 7, 1), nn.ReLU(),
        nn.Conv2d(7, 3, 3, 1, 1),
        nn.Flatten(), nn.Linear(3 * 1 * 2, 4))
    return model, (1, 5, 1, 2)


def _random(seed: int):
    return lambda: random_model(seed)


MODELS = {"conv_mix": conv_mix, "odd_shapes": odd_shapes, "tiny": tiny,
          **{f"random{s}": _random(s) for s in (1, 5, 11)}}


def mve_mnemonics(elf) -> set[str]:
    # Without -m objdump decodes MVE as coprocessor instructions; it prints VMLADAVA as its
    # alias VMLAVA.
    dump = subprocess.run([shutil.which("arm-none-eabi-objdump") or "arm-none-eabi-objdump",
                           "-d", "-m", "armv8.1-m.main", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    return {line.split("\t")[2].split()[0] for line in dump.splitlines()
            if line.count("\t") >= 2 and line.split("\t")[2].startswith(("vml", "vqrd"))}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_mve_bit_exact_on_m55(name, tmp_path):
    torch.manual_seed(0)
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path, n_calib=8, name="m")
    x = random_inputs(shape, 3, seed=7)
    _, qg, _ = api.load_built(out)
    expected = api.reference_outputs(out, x)
    build_firmware(out, None, BOARD)
    result = run_on_board(out, api.quantize_inputs(qg, x, out), expected)
    assert result["bit_exact"], result["mismatches"]
    ops = {n.op for n in qg.nodes}
    found = mve_mnemonics(out / FIRMWARE / ELF)
    assert "vqrdmulh.s32" in found, "the MVE requantization is not in the firmware"
    if ops & {"conv2d", "fc"}:
        assert found & {"vmladava.s8", "vmlava.s8"}, "conv/fc did not take the MVE path"
