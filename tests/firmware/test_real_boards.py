"""Every real board's firmware for the digits example links, and every section lands inside the
board's memory map (checked from the ELF's section table, load addresses included)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from slimgen.firmware.boards import load_board
from slimgen.firmware.build import build_firmware
from slimgen.firmware.images import UF2_MAGIC_END, UF2_MAGIC_START0, boot2_crc_ok
from tests.firmware.fwhelpers import HARDWARE, needs_gcc
from tests.models import DIGITS
from tests.pipeline import build_model

pytestmark = [needs_gcc, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def digits_out(tmp_path_factory):
    model, shape = DIGITS["digits_cnn"]()
    return build_model(model, shape, tmp_path_factory.mktemp("digits"), name="digits")


def alloc_sections(elf):
    """(name, size, vma, lma, has_contents) of each allocated section, from objdump -h."""
    text = subprocess.run(["arm-none-eabi-objdump", "-h", str(elf)], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    sections = []
    for line, flags in zip(text, text[1:]):
        parts = line.split()
        if len(parts) == 7 and parts[0].isdigit() and "ALLOC" in flags:
            sections.append((parts[1], int(parts[2], 16), int(parts[3], 16), int(parts[4], 16),
                             "CONTENTS" in flags))
    return sections


@pytest.mark.parametrize("board", HARDWARE)
def test_links_inside_the_memory_map(digits_out, board, tmp_path):
    out = shutil.copytree(digits_out, tmp_path / "out")
    figures = build_firmware(out, None, board)
    brd = load_board(board)
    fw = out / "firmware"
    for name, size, vma, lma, loaded in alloc_sections(fw / "firmware.elf"):
        if size == 0:
            continue
        assert brd.flash.holds(vma, size) or brd.ram.holds(vma, size), name
        if loaded:
            assert brd.flash.holds(lma, size), f"{name} is loaded from outside flash"
    assert figures["flash_used"] <= brd.flash.size and figures["ram_used"] <= brd.ram.size
    image = (fw / "firmware.bin").read_bytes()
    vectors = 256 if brd.has_boot2 else 0
    sp, reset = struct.unpack_from("<2I", image, vectors)
    assert brd.ram.origin < sp <= brd.ram.end
    assert reset & 1 and brd.flash.holds(reset & ~1, 2)
    for name in ("firmware.hex", "Makefile", "CMakeLists.txt", "main.c", "inputs.h"):
        assert (fw / name).is_file()
    if brd.has_boot2:
        assert boot2_crc_ok(image)[0]
    if brd.uf2_family is not None:
        uf2 = (fw / "firmware.uf2").read_bytes()
        assert len(uf2) % 512 == 0
        first = struct.unpack_from("<8I", uf2, 0)
        assert first[0] == UF2_MAGIC_START0 and first[3] == brd.flash.origin
        assert first[7] == brd.uf2_family
        assert struct.unpack_from("<I", uf2, 508)[0] == UF2_MAGIC_END


def test_boot2_crc_matches_its_source(tmp_path):
    """boards/rpi-pico/boot2.S carries its own CRC word; if you edit the code, this says what
    the new SG_BOOT2_CRC must be."""
    src = load_board("rpi-pico").directory / "boot2.S"
    obj, raw = tmp_path / "boot2.o", tmp_path / "boot2.bin"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-x",
                    "assembler-with-cpp", "-c", str(src), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".boot2", str(obj),
                    str(raw)], check=True)
    data = raw.read_bytes()
    assert len(data) == 256
    ok, want = boot2_crc_ok(data)
    assert ok, f"set SG_BOOT2_CRC in {src} to 0x{want:08x}"
