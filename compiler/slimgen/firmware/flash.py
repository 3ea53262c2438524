"""The command that flashes OUT/firmware onto a real board, with pyOCD or OpenOCD.

pyOCD (PyPI ``pyocd``) takes the Intel hex, which carries its own addresses; OpenOCD (Debian
``openocd``) programs the ELF. Both verify and reset. ``--probe`` selects one debug probe by its
serial number (``pyocd list`` / ``lsusb -v`` show it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from slimgen.firmware.boards import Board, load_board
from slimgen.firmware.build import FIRMWARE
from slimgen.firmware.errors import FirmwareError

TOOLS = ("pyocd", "openocd")
INSTALL = {"pyocd": "pip install pyocd", "openocd": "apt-get install openocd"}


def firmware_board(out_dir: Path) -> tuple[Board, Path]:
    fw = Path(out_dir) / FIRMWARE
    meta = fw / "firmware.json"
    if not meta.is_file():
        raise FirmwareError(f"{out_dir} has no firmware; build it with "
                            "`slimgen build ... --board B` first")
    return load_board(json.loads(meta.read_text())["board"]), fw


def default_tool() -> str:
    """pyOCD when installed, else OpenOCD when installed, else pyOCD."""
    for tool in TOOLS:
        if shutil.which(tool):
            return tool
    return TOOLS[0]


def flash_command(out_dir: Path, tool: str | None = None, probe: str | None = None) -> list[str]:
    board, fw = firmware_board(out_dir)
    if board.flash_tool is None:
        raise FirmwareError(f"board {board.name} is emulated, there is nothing to flash; "
                            f"run it with `slimgen run {out_dir} --inputs TEST.npz`")
    tool = tool or default_tool()
    if tool == "pyocd":
        cmd = ["pyocd", "flash", "--target", board.flash_tool.pyocd_target]
        if probe:
            cmd += ["--uid", probe]
        return [*cmd, str(fw / "firmware.hex")]
    if tool == "openocd":
        cmd = ["openocd", *board.flash_tool.openocd_args]
        if probe:
            cmd += ["-c", f"adapter serial {probe}"]
        return [*cmd, "-c", f"program {fw / 'firmware.elf'} verify reset exit"]
    raise FirmwareError(f"unknown flash tool '{tool}'; use one of: {', '.join(TOOLS)}")


def check_installed(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None:
        raise FirmwareError(f"{cmd[0]} is not installed; install it with: {INSTALL[cmd[0]]} "
                            "(or pass --dry-run to print the command)")
