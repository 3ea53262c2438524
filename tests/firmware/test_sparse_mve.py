"""The Helium sparse walkers (kernels/src/sparse/sg_sparse_mve.h) are bit-exact with the integer
reference (densify, then the dense reference) on the emulated Cortex-M55 (mps3-an547, QEMU
emulates MVE; nothing on the host can run it).

Random models per seed: 1x1 layers over 12..45 pixels (passes of four pixels, a ragged last
pass, the one-pixel walker), 3x3 convs padded, dilated and strided (interior pixels gathered
through the window map, border pixels batched in im2col rows), a 1x2 conv over 6 channels
(blocks straddle taps: im2col rows only), Linears with 4..60 blocks per row (the two-group
loop and its predicated tail), each weight matrix pruned in 1x4 blocks along
slimgen's reduction axis at its own random density, with one all-zero and one full row, and
per-channel quantization. The firmware's disassembly must contain the word gather, so a
dispatch that silently fell back to the DSP walkers fails here. The shared-value 1x1 kernel
(eight pixels per pass, the last ragged; byte gathers) is checked the same way on layers with
five distinct int8 weights, random single-weight masks and empty rows, and the unstructured
(csr8) 1x1 and conv kernels on random single-weight masks."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from slimgen import api
from slimgen.firmware.build import ELF, FIRMWARE, build_firmware
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import build_model, random_inputs

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(300)]

BOARD = "mps3-an547"


def _prune_blocks(layer: nn.Module, density: float, gen: torch.Generator) -> None:
    """Keep about ``density`` of the 1x4 blocks of each OHWI row; row 0 empty, row 1 full."""
    wt = layer.weight
    with torch.no_grad():
        ohwi = wt.permute(0, 2, 3, 1) if wt.ndim == 4 else wt
        w = ohwi.reshape(wt.shape[0], -1).clone()
        keep = torch.rand(w.shape[0], w.shape[1] // 4, generator=gen) < density
        keep[0] = False
        keep[1] = True
        w *= keep.repeat_interleave(4, dim=1) / max(density, 0.1) ** 0.5
        pruned = w.view(ohwi.shape)
        wt.copy_(pruned.permute(0, 3, 1, 2) if wt.ndim == 4 else pruned)


def sparse_model(seed: int) -> tuple[nn.Module, tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    c0 = 4 * int(rng.integers(2, 6))
    c1 = 4 * int(rng.integers(3, 12))
    c2 = 4 * int(rng.integers(2, 5))
    h, w = [(6, 6), (5, 9), (7, 5)][seed % 3]
    hidden = 4 * int(rng.integers(15, 60))
    ho, wo = (h + 1) // 2, (w + 2) // 2
    model = nn.Sequential(
        nn.Conv2d(c0, c1, 1), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(c2, 6, 3, 1, 2, dilation=2),
        nn.Conv2d(6, c2, (1, 2), 1, (0, 1)), nn.ReLU(),
        nn.Conv2d(c2, c1, 3, 2, 1),
        nn.Conv2d(c1, c1, 1),
        nn.Flatten(), nn.Linear(c1 * ho * wo, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            _prune_blocks(layer, float(rng.uniform(0.05, 0.9)), gen)
    return model, (1, c0, h, w)


def disassembly(elf) -> list[str]:
    dump = subprocess.run([shutil.which("arm-none-eabi-objdump") or "arm-none-eabi-objdump",
                           "-d", "-m", "armv8.1-m.main", str(elf)],
                          capture_output=True, text=True, check=True).stdout
    return dump.splitlines()


def built_bit_exact_on_m55(model: nn.Module, shape: tuple[int, ...], tmp_path, fmt: str,
                           seed: int) -> tuple[list[dict], list[str]]:
    """Builds ``model`` with ``--sparse fmt`` for the M55, runs 3 inputs on mps3-an547 and
    asserts bit-exactness; returns report.json's layers and the firmware's disassembly."""
    out = build_model(model, shape, tmp_path, n_calib=8, name="m", sparse=fmt,
                      target="cortex-m55")
    x = random_inputs(shape, 3, seed=seed + 7)
    _, qg, _ = api.load_built(out)
    expected = api.reference_outputs(out, x)
    build_firmware(out, None, BOARD)
    result = run_on_board(out, api.quantize_inputs(qg, x, out), expected)
    assert result["bit_exact"], result["mismatches"]
    layers = json.loads((out / "report.json").read_text())["layers"]
    return layers, disassembly(out / FIRMWARE / ELF)


@pytest.mark.parametrize("seed", (0, 1, 2))
def test_bsr1x4_mve_bit_exact_on_m55(seed, tmp_path):
    torch.manual_seed(seed)
    model, shape = sparse_model(seed)
    layers, dis = built_bit_exact_on_m55(model, shape, tmp_path, "bsr1x4", seed)
    kernels = {lyr["kernel"] for lyr in layers}
    assert {"sg_fc_s8_bsr1x4", "sg_conv2d_s8_1x1_bsr1x4", "sg_conv2d_s8_bsr1x4"} <= kernels
    # word gathers: VLDRW.U32 Qd, [Rn, Qm, UXTW #2]
    assert any("vldrw" in ln and "uxtw #2" in ln for ln in dis), \
        "the bsr1x4 kernels did not take the MVE path"


def shared_model(seed: int) -> tuple[nn.Module, tuple[int, ...]]:
    """1x1 layers whose int8 weights take 5 values (+-127, +-64, 0: every row's largest
    magnitude is a, the rest +-a or +-a/2), single weights kept at random, row 0 empty."""
    rng = np.random.default_rng(seed)
    c0, c1 = int(rng.integers(5, 40)), int(rng.integers(3, 30))
    h, w = [(5, 5), (3, 7), (2, 9)][seed % 3]
    model = nn.Sequential(nn.Conv2d(c0, c1, 1), nn.ReLU(), nn.Conv2d(c1, 7, 1))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            wt = layer.weight
            rows, cols = wt.shape[0], wt.shape[1]
            keep = rng.random((rows, cols)) < rng.uniform(0.05, 0.6)
            vals = rng.choice([-1.0, -0.5, 0.5, 1.0], (rows, cols)) * keep
            vals[:, 0] = np.where(vals[:, 0] == 0, 1.0, np.sign(vals[:, 0]))
            vals[0] = 0.0
            wt.copy_(torch.tensor(vals * 0.3, dtype=torch.float32).view_as(wt))
    return model, (1, c0, h, w)


@pytest.mark.parametrize("seed", (0, 1, 2))
def test_shared_mve_bit_exact_on_m55(seed, tmp_path):
    torch.manual_seed(seed)
    model, shape = shared_model(seed)
    layers, dis = built_bit_exact_on_m55(model, shape, tmp_path, "shared", seed)
    assert [lyr["kernel"] for lyr in layers if "sparse" in lyr] == ["sg_conv2d_s8_1x1_shared"] * 2
    # byte gathers into int32 lanes: VLDRB.S32 Qd, [Rn, Qm]
    assert any("vldrb.s32" in ln and ", q" in ln for ln in dis), \
        "the shared 1x1 did not take the MVE path"


def unstructured_model(seed: int) -> tuple[nn.Module, tuple[int, ...]]:
    """1x1 and 3x3 convs (padded, strided, dilated) with single weights kept at random and
    row 0 empty: the csr8 1x1 (eight pixels per pass, the last ragged) and the csr8 conv
    (interior pixels through the window map, border pixels batched in im2col rows)."""
    rng = np.random.default_rng(seed)
    c0, c1, c2 = int(rng.integers(3, 20)), int(rng.integers(5, 30)), int(rng.integers(2, 12))
    h, w = [(6, 6), (5, 9), (7, 5)][seed % 3]
    model = nn.Sequential(
        nn.Conv2d(c0, c1, 1), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(c2, c2, 3, 1, 2, dilation=2),
        nn.Conv2d(c2, c1, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(c1, 5, 1))
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Conv2d):
                wt = layer.weight
                keep = torch.from_numpy(rng.random(tuple(wt.shape)) < rng.uniform(0.05, 0.6))
                keep[0] = False
                wt.mul_(keep)
    return model, (1, c0, h, w)


@pytest.mark.parametrize("seed", (0, 1, 2))
def test_unstructured_mve_bit_exact_on_m55(seed, tmp_path):
    torch.manual_seed(seed)
    model, shape = unstructured_model(seed)
    layers, dis = built_bit_exact_on_m55(model, shape, tmp_path, "unstructured", seed)
    kernels = {lyr["kernel"] for lyr in layers if "sparse" in lyr}
    assert kernels == {"sg_conv2d_s8_1x1_csr8", "sg_conv2d_s8_csr8"}
    assert any("vldrb.s32" in ln and ", q" in ln for ln in dis), \
        "the csr8 kernels did not take the MVE path"
