"""The bridge ``slimgen build --target T --board B`` uses (see slimgen.cli._firmware_hook).

``firmware_hook(target, board)`` checks the pair at once, before the model is compiled, and
returns the callable that ``slimgen.api.build`` runs on its staging folder: it builds
``firmware/`` there and adds the firmware figures to the report under ``"firmware"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slimgen.firmware.boards import load_board
from slimgen.firmware.build import build_firmware
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.targets import TARGETS, check_target, get_target, target_for_core
from slimgen.firmware.toolchain import Toolchain

# The emulated board each target builds for when --board is not given.
DEFAULT_BOARDS = {
    "cortex-m0plus": "microbit",
    "cortex-m3": "mps2-an385",
    "cortex-m4": "mps2-an386",
    "cortex-m7": "mps2-an500",
    "cortex-m33": "mps2-an505",
    "cortex-m55": "mps3-an547",
}


def resolve(target: str | None, board: str | None) -> tuple[str, str]:
    """(target, board) names from the command line: either may be omitted, not both.

    ``--target host`` (the CLI default) with a board means the board's own core; a bare core
    name such as ``m4`` means ``cortex-m4``.
    """
    if target in (None, "host"):
        if board is None:
            raise FirmwareError("no firmware target: give --board B, or --target cortex-mX")
        brd = load_board(board)
        return target_for_core(brd.core).name, brd.name
    name = target if target.startswith("cortex-") else f"cortex-{target}"
    tgt = get_target(name) if name in TARGETS else get_target(target)
    brd = load_board(board if board is not None else DEFAULT_BOARDS[tgt.name])
    check_target(tgt, brd.name, brd.core, brd.fpu)
    return tgt.name, brd.name


def firmware_hook(target: str | None, board: str | None
                  ) -> Callable[[Path, Any, dict[str, Any]], None]:
    target_name, board_name = resolve(target, board)
    Toolchain.find()  # a missing toolchain is reported before minutes of calibration, not after

    def hook(staging: Path, compiled: Any, report: dict[str, Any]) -> None:
        del compiled  # everything needed is in the staged files and the report
        report_path = staging / "report.json"
        report_path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
        try:
            report["firmware"] = build_firmware(staging, target_name, board_name)
        finally:
            report_path.unlink()  # slimgen.api.build writes the final report itself

    return hook
