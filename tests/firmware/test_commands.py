"""`slimgen build --board`, `slimgen run` and `slimgen flash` through the command line."""

from __future__ import annotations

import json
import shlex
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from slimgen import api
from slimgen.cli import main
from slimgen.firmware.build import build_firmware
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.flash import flash_command
from slimgen.firmware.integration import firmware_hook
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import HARDWARE, needs_qemu
from tests.models import DIGITS
from tests.pipeline import export_pt2, random_inputs, write_npz

pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """digits built with firmware for mps2-an386, the way `slimgen build --board` does it."""
    tmp = tmp_path_factory.mktemp("cli")
    model, shape = DIGITS["digits_cnn"]()
    pt2 = export_pt2(model, shape, tmp / "digits.pt2")
    calib = write_npz(tmp / "calib.npz", x=random_inputs(shape, 16, 1))
    out = tmp / "out"
    api.build(pt2, calib, out, api.BuildOptions(target="cortex-m4", board="mps2-an386"),
              extra_files=firmware_hook("cortex-m4", "mps2-an386"))
    test = write_npz(tmp / "test.npz", x=random_inputs(shape, 5, 3))
    return out, test, tmp


def test_build_adds_firmware_figures_to_the_report(built):
    out, _, _ = built
    report = json.loads((out / "report.json").read_text())
    fw = report["firmware"]
    assert fw["board"] == "mps2-an386" and fw["target"] == "cortex-m4"
    for key in ("text", "data", "bss", "stack_estimate", "flash_used", "ram_used"):
        assert isinstance(fw[key], int)
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "Makefile", "CMakeLists.txt"):
        assert (out / "firmware" / name).is_file()


@needs_qemu
def test_run_json_is_bit_exact_and_exits_zero(built):
    out, test, _ = built
    res = CliRunner().invoke(main, ["run", str(out), "--inputs", str(test), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["bit_exact"] and data["samples"] == 5 and data["board"] == "mps2-an386"
    assert data["instructions_per_inference"] > 0
    assert {"name", "op", "macs", "instructions"} <= set(data["per_layer"][0])


@needs_qemu
def test_run_exits_one_when_not_bit_exact(built):
    out, test, tmp = built
    x = np.load(test)["x"]
    wrong = api.reference_outputs(out, x)
    wrong[1, 0] ^= 4
    bad = write_npz(tmp / "bad.npz", x=x, expected=wrong)
    res = CliRunner().invoke(main, ["run", str(out), "--inputs", str(bad), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output)["mismatches"][0]["sample"] == 1


def test_flash_refuses_an_emulated_board(built):
    out, _, _ = built
    res = CliRunner().invoke(main, ["flash", str(out), "--dry-run"])
    assert res.exit_code == 2 and "emulated" in res.output


@pytest.mark.parametrize("board", HARDWARE)
@pytest.mark.parametrize("tool", ["pyocd", "openocd"])
def test_flash_dry_run_prints_the_exact_command(tmp_path, board, tool):
    fw = tmp_path / "firmware"
    fw.mkdir()
    (fw / "firmware.json").write_text(json.dumps({"board": board}))
    cmd = flash_command(tmp_path, tool, "ABC123")
    res = CliRunner().invoke(main, ["flash", str(tmp_path), "--tool", tool, "--probe", "ABC123",
                                    "--dry-run"])
    assert res.exit_code == 0 and res.output.strip() == shlex.join(cmd)
    assert cmd[0] == tool and "ABC123" in " ".join(cmd)
    assert cmd[-1].endswith("firmware.hex") if tool == "pyocd" else "verify reset exit" in cmd[-1]



@pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="needs arm-none-eabi-gcc")
def test_run_refuses_hardware_firmware(fake_out):
    build_firmware(fake_out, None, "nucleo-f446re")
    with pytest.raises(FirmwareError, match="real board that QEMU cannot run"):
        run_on_board(fake_out, np.zeros(16, np.int8), np.zeros(4, np.int8))
