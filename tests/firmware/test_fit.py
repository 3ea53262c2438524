"""A model that cannot fit a board is refused before compiling, with the numbers; a model that
slips past the estimate is still caught by the linker and reported the same way."""

from __future__ import annotations

import json

import pytest

from slimgen.firmware.build import build_firmware
from slimgen.firmware.errors import FirmwareError
from tests.firmware.fwhelpers import needs_gcc


def _set_report(out, **fields):
    path = out / "report.json"
    report = json.loads(path.read_text())
    report.update(fields)
    path.write_text(json.dumps(report))


def test_weights_over_flash_are_refused_before_compiling(fake_out):
    _set_report(fake_out, weight_bytes=300_000)
    with pytest.raises(FirmwareError) as e:
        build_firmware(fake_out, None, "microbit")
    msg = str(e.value)
    assert "flash" in msg and "300000" in msg and "262144" in msg and "over by" in msg
    assert not (fake_out / "firmware").exists()


def test_arena_over_ram_is_refused_before_compiling(fake_out):
    _set_report(fake_out, arena_bytes=20_000)
    with pytest.raises(FirmwareError) as e:
        build_firmware(fake_out, None, "microbit")
    msg = str(e.value)
    assert "RAM" in msg and "arena 20000 B" in msg and "16384" in msg and "over by" in msg
    assert not (fake_out / "firmware").exists()


@needs_gcc
def test_the_same_model_fits_a_bigger_board(fake_out):
    _set_report(fake_out, weight_bytes=300_000, arena_bytes=20_000)
    figures = build_firmware(fake_out, None, "mps2-an386")
    assert figures["flash_free"] > 0 and figures["ram_free"] > 0


@needs_gcc
def test_linker_overflow_is_reported_with_the_excess(fake_out):
    (fake_out / "weights.c").write_text(
        "#include <stdint.h>\n"
        "extern const int8_t fake_L0_b[300000];\n"
        "__attribute__((aligned(4))) const int8_t fake_L0_b[300000] = {3, -7};\n")
    with pytest.raises(FirmwareError, match=r"overflows FLASH by \d+ bytes"):
        build_firmware(fake_out, None, "microbit")
