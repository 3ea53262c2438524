"""The per-layer instruction count is exact and deterministic on every emulated board.

spin_model's layers run loops of known length (2 instructions per iteration), so the count of
layer k must be 2 * n_k plus one constant for every sample; any rounding or timing slip would
show up as a second constant. See slimgen/firmware/qemu.py for the method.
"""

from __future__ import annotations

import numpy as np
import pytest

from slimgen.firmware.boards import load_board
from slimgen.firmware.build import ELF, FIRMWARE, build_firmware
from slimgen.firmware.qemu import icount_shift, run_firmware
from tests.firmware.fwhelpers import EMULATED, SPIN_DIR, make_fake_out, needs_qemu, spin_inputs

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(120)]

# Small enough that the whole run stays inside one SysTick period (2**24 ticks), so no wrap
# interrupt lands inside a layer (each would add its handler's ~5 instructions, see qemu.py).
COUNTS = [(1, 1), (2, 3), (3, 2), (10, 1000), (1000, 10), (1001, 99_999), (123_457, 7),
          (2, 250_000)]


@pytest.fixture(scope="module", params=EMULATED)
def spin_fw(request, tmp_path_factory):
    out = make_fake_out(tmp_path_factory.mktemp(request.param) / "spin", SPIN_DIR)
    build_firmware(out, None, request.param)
    return load_board(request.param), out / FIRMWARE / ELF


def _run(board, elf, counts):
    return run_firmware(elf, board, spin_inputs(counts), 60, output_bytes=4, layers=2)


def test_layer_counts_are_exact(spin_fw):
    board, elf = spin_fw
    res = _run(board, elf, COUNTS)
    n = np.array(COUNTS, dtype=np.int64)
    assert int(res.ticks[:, 0].sum()) < 2**24, "the run must not wrap SysTick"
    for k in range(2):
        constants = set((res.instructions[:, 1 + k] - 2 * n[:, k]).tolist())
        assert len(constants) == 1, f"layer {k}: {constants}"
        assert 0 < constants.pop() < 64  # the call into the kernel, the loop's bx lr
    glue = set((res.instructions[:, 0] - res.instructions[:, 1:].sum(axis=1)).tolist())
    assert len(glue) == 1, f"whole inference minus layers varies: {glue}"
    np.testing.assert_array_equal(res.outputs, spin_inputs(COUNTS)[:, :4] ^ np.int8(0x5A))


def test_same_firmware_same_counts(spin_fw):
    board, elf = spin_fw
    first = _run(board, elf, COUNTS)
    second = _run(board, elf, COUNTS)
    np.testing.assert_array_equal(first.ticks, second.ticks)
    np.testing.assert_array_equal(first.instructions, second.instructions)


def test_long_layer_only_gains_the_wrap_handler(spin_fw):
    """Past 2**24 ticks the SysTick wrap handler runs inside the layer: a few instructions per
    wrap, never more (the documented limit of the method)."""
    board, elf = spin_fw
    long_n = 6_000_000
    res = _run(board, elf, [(1, 1), (long_n, 1)])
    base = int(res.instructions[0, 1]) - 2
    extra = int(res.instructions[1, 1]) - 2 * long_n - base
    r = (1 << icount_shift(board.clock_hz)) * board.clock_hz / 1e9  # ticks per instruction
    wraps = int(2 * long_n * r) // 2**24 + 1
    assert 0 <= extra <= 8 * wraps
