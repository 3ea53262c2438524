"""Board descriptions, targets and the pure-Python parts of the firmware package."""

from __future__ import annotations

import doctest
import shutil
import subprocess

import pytest

import slimgen.firmware.images
import slimgen.firmware.qemu
import slimgen.firmware.targets
import slimgen.firmware.toolchain
from slimgen.firmware import boards as boards_mod
from slimgen.firmware.boards import list_boards, load_board
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.integration import resolve
from slimgen.firmware.qemu import icount_shift, ticks_to_instructions
from slimgen.firmware.stack import estimate
from slimgen.firmware.targets import TARGETS, check_target, cpu_flags
from tests.firmware.fwhelpers import EMULATED, HAVE_QEMU

ALL = {
    "mps2-an385", "mps2-an386", "mps2-an500", "mps2-an505", "mps3-an547", "microbit",
    "nucleo-f446re", "nucleo-l4r5zi", "disco-f746ng", "nucleo-h7a3zi-q", "nucleo-u575zi-q",
    "nrf52840-dk", "rpi-pico",
}


def test_every_board_is_listed_and_loads():
    assert set(list_boards()) == ALL
    for name in ALL:
        board = load_board(name)
        assert board.name == name
        assert board.emulated == (board.qemu is not None) == (board.flash_tool is None)


def test_board_names_are_forgiving_about_case_and_underscores():
    assert load_board("NUCLEO_F446RE").name == "nucleo-f446re"


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(FirmwareError) as e:
        load_board("nucleo-f999")
    assert "unknown board 'nucleo-f999'" in str(e.value) and "mps2-an386" in str(e.value)


@pytest.mark.skipif(not HAVE_QEMU, reason="qemu-system-arm not installed")
def test_emulated_machines_exist_in_qemu():
    machines = subprocess.run(["qemu-system-arm", "-M", "help"], capture_output=True,
                              text=True).stdout.split()
    for name in EMULATED:
        assert load_board(name).qemu.machine in machines


def _copy_board(tmp_path, name="mps2-an386"):
    folder = tmp_path / name
    shutil.copytree(load_board(name).directory, folder)
    return folder


def test_memory_ld_must_agree_with_board_toml(tmp_path):
    folder = _copy_board(tmp_path)
    ld = folder / "memory.ld"
    ld.write_text(ld.read_text().replace("LENGTH = 0x00400000", "LENGTH = 0x00200000", 1))
    with pytest.raises(FirmwareError, match="region FLASH .* make them agree"):
        boards_mod._parse(folder)


@pytest.mark.parametrize("edit, words", [
    (("counter = \"systick\"", "counter = \"dwt\"\nbogus = 1"), "unknown key"),
    (("core = \"cortex-m4\"", "core = \"cortex-m5\""), "expected one of"),
    (("fpu = \"fpv4-sp-d16\"", "fpu = \"fpv5-d16\""), "not an FPU of cortex-m4"),
    (("stack_bytes = 8192", "stack_bytes = \"8k\""), "must be int"),
])
def test_bad_board_toml_is_refused_with_the_reason(tmp_path, edit, words):
    folder = _copy_board(tmp_path)
    toml = folder / "board.toml"
    toml.write_text(toml.read_text().replace(*edit))
    with pytest.raises(FirmwareError, match=words):
        boards_mod._parse(folder)


def test_dwt_is_refused_on_armv6m(tmp_path):
    folder = _copy_board(tmp_path, "microbit")
    toml = folder / "board.toml"
    toml.write_text(toml.read_text().replace('counter = "systick"', 'counter = "dwt"'))
    with pytest.raises(FirmwareError, match="no DWT"):
        boards_mod._parse(folder)


def test_target_must_match_the_board_core():
    board = load_board("nucleo-f446re")
    with pytest.raises(FirmwareError, match="use --target cortex-m4"):
        check_target(TARGETS["cortex-m7"], board.name, board.core, board.fpu)
    micro = load_board("microbit")  # Cortex-M0 runs Armv6-M code built for the M0+
    check_target(TARGETS["cortex-m0plus"], micro.name, micro.core, micro.fpu)


def test_resolve_fills_in_target_or_board():
    assert resolve("host", "disco-f746ng") == ("cortex-m7", "disco-f746ng")
    assert resolve("cortex-m33", None) == ("cortex-m33", "mps2-an505")
    assert resolve("m55", None) == ("cortex-m55", "mps3-an547")
    with pytest.raises(FirmwareError, match="unknown target"):
        resolve("cortex-m85", None)


def test_fpu_comes_from_the_board():
    assert cpu_flags(TARGETS["cortex-m7"], load_board("disco-f746ng").fpu)[2] == "-mfpu=fpv5-sp-d16"
    assert cpu_flags(TARGETS["cortex-m7"], load_board("nucleo-h7a3zi-q").fpu)[2] == "-mfpu=fpv5-d16"


@pytest.mark.parametrize("name", EMULATED)
def test_icount_shift_gives_at_least_two_ticks_per_instruction(name):
    hz = load_board(name).clock_hz
    shift = icount_shift(hz)
    assert (1 << shift) * hz >= 2 * 10**9 > (1 << (shift - 1)) * hz


def test_tick_conversion_is_exact_for_every_count():
    """With r >= 2 ticks per instruction, any two reads n instructions apart give ticks that
    round back to n, wherever the reads fall relative to the tick edges."""
    for hz, shift in ((25_000_000, 7), (20_000_000, 7), (32_000_000, 6), (16_000_000, 7)):
        period_ns, insn_ns = 10**9 / hz, 1 << shift
        for start in range(0, 40):
            for n in range(0, 300):
                t0 = int(start * insn_ns // period_ns)
                t1 = int((start + n) * insn_ns // period_ns)
                assert ticks_to_instructions(t1 - t0, hz, shift) == n


def test_stack_estimate_follows_the_deepest_path(tmp_path):
    (tmp_path / "a.ci").write_text(
        'graph: { title: "a.c"\n'
        'node: { title: "Reset_Handler" label: "Reset_Handler\\na.c:1:1\\n8 bytes (static)" }\n'
        'node: { title: "main" label: "main\\na.c:2:1\\n16 bytes (static)" }\n'
        'node: { title: "deep" label: "deep\\na.c:3:1\\n100 bytes (static)" }\n'
        'node: { title: "shallow" label: "shallow\\na.c:4:1\\n10 bytes (static)" }\n'
        'node: { title: "SysTick_Handler" label: "SysTick_Handler\\na.c:5:1\\n0 bytes (static)" }\n'
        'edge: { sourcename: "Reset_Handler" targetname: "main" }\n'
        'edge: { sourcename: "main" targetname: "deep" }\n'
        'edge: { sourcename: "main" targetname: "shallow" }\n'
        'edge: { sourcename: "deep" targetname: "memcpy" }\n}\n')
    est = estimate([tmp_path / "a.ci"], exception_frame=32)
    assert est.bytes == 8 + 16 + 100 + 32
    assert est.main_path == ["Reset_Handler", "main", "deep"]
    assert est.unknown == ["memcpy"]


@pytest.mark.parametrize("module", [slimgen.firmware.targets, slimgen.firmware.toolchain,
                                    slimgen.firmware.qemu, slimgen.firmware.images])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
