"""The Cortex-M DSP paths of the dense kernels (fc, 1x1 conv, im2col conv, max-pool), bit-exact on the
emulated DSP cores.

The host tests run the DSP loops with the intrinsics emulated in C (SG_EMULATE_DSP); this runs
the real instructions. Small random models exercise what the DSP paths special-case: one input
channel, odd channel counts (the 2x2 tiles' odd row and column), reduction lengths that are not a
multiple of 4 or 16 (the tile tails), padding and strides (im2col fills padding with the input
zero point), an odd pixel count (the single-pixel tail), fused ReLU (the clamp) and none (the
SSAT-only output stage). Each firmware is checked to contain SMLAD, so the DSP path was built.
"""

from __future__ import annotations

import subprocess

import pytest
import torch
from torch import nn

from slimgen import api
from slimgen.firmware.build import ELF, FIRMWARE, build_firmware
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import needs_qemu
from tests.pipeline import build_model, random_inputs

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(300)]


def first_layer_1ch() -> tuple[nn.Module, tuple[int, ...]]:
    """1 input channel, 3x3 pad 1 (K = 9), 5 (odd) channels, a stride-2 conv, a 1x1, an fc."""
    torch.manual_seed(11)
    return nn.Sequential(
        nn.Conv2d(1, 5, 3, padding=1), nn.ReLU(),
        nn.Conv2d(5, 6, 3, stride=2, padding=1),
        nn.Conv2d(6, 7, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 4 * 5, 9),
    ).eval(), (1, 1, 7, 9)


def odd_shapes() -> tuple[nn.Module, tuple[int, ...]]:
    """3 channels, a 5x3 kernel with asymmetric padding and stride (2, 1), a max-pool over 13
    channels (three words and a byte), 1x1 layers with 13 and 34 channels (K tails of 1 and 2
    past a 16-tap block), fc layers with K = 3 and 34 and 34 / 5 outputs (the 1x4 tiles' row
    tail)."""
    torch.manual_seed(12)
    return nn.Sequential(
        nn.Conv2d(3, 13, (5, 3), stride=(2, 1), padding=(2, 0)), nn.ReLU6(),
        nn.MaxPool2d(2, stride=1, padding=1),
        nn.Conv2d(13, 34, 1),
        nn.Conv2d(34, 3, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 34), nn.ReLU(), nn.Linear(34, 5),
    ).eval(), (1, 3, 9, 5)


MODELS = {"first_layer_1ch": first_layer_1ch, "odd_shapes": odd_shapes}
#: The M4 board gets every model; the M7 and M33 boards one each (they share the C code).
CASES = [(m, "mps2-an386") for m in sorted(MODELS)] + [("odd_shapes", "mps2-an500"),
                                                         ("first_layer_1ch", "mps2-an505")]


@pytest.mark.parametrize("name, board", CASES)
def test_dsp_paths_bit_exact_on_board(name: str, board: str, tmp_path) -> None:
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path, name=name)
    x = random_inputs(shape, 3, seed=5)
    _, qg, _ = api.load_built(out)
    xq, expected = api.quantize_inputs(qg, x, out), api.reference_outputs(out, x)
    build_firmware(out, None, board)
    disasm = subprocess.run(["arm-none-eabi-objdump", "-d", str(out / FIRMWARE / ELF)],
                            capture_output=True, text=True, check=True).stdout
    assert "smlad" in disasm, "the firmware was built without the DSP path"
    assert name != "odd_shapes" or "ssub8" in disasm, "the max-pool was built without its DSP path"
    result = run_on_board(out, xq, expected)
    assert result["bit_exact"], result["mismatches"]
