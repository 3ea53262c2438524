"""Toolchain behaviour: reproducible output, and a missing tool named with its Debian package."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from slimgen.firmware.build import build_firmware
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import make_fake_out, needs_gcc


@needs_gcc
def test_same_model_same_firmware_bytes(tmp_path):
    """Built in two different folders, every file of OUT/firmware is identical (debug info
    names paths relative to the folder)."""
    outs = [make_fake_out(tmp_path / name / "fake") for name in ("a", "b")]
    for out in outs:
        build_firmware(out, None, "mps2-an386")
    files = sorted(p.relative_to(outs[0]) for p in (outs[0] / "firmware").rglob("*")
                   if p.is_file())
    assert files
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_missing_compiler_names_the_debian_packages(fake_out, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FirmwareError, match="gcc-arm-none-eabi libnewlib-arm-none-eabi"):
        build_firmware(fake_out, None, "mps2-an386")


@needs_gcc
def test_missing_qemu_names_the_debian_package(fake_out, monkeypatch):
    build_firmware(fake_out, None, "mps2-an386")
    gcc_dir = shutil.which("arm-none-eabi-gcc").rsplit("/", 1)[0]
    empty = fake_out / "empty-bin"
    empty.mkdir()
    for tool in ("gcc", "objcopy", "size", "addr2line"):
        (empty / f"arm-none-eabi-{tool}").symlink_to(f"{gcc_dir}/arm-none-eabi-{tool}")
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(FirmwareError, match="apt-get install qemu-system-arm"):
        run_on_board(fake_out, np.zeros(16, np.int8), np.zeros(4, np.int8))
