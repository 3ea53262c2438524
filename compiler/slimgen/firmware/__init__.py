"""Firmware: cross-compile a generated model for a Cortex-M board, run it under QEMU, flash it.

Public entry points: :func:`build_firmware` (build.py), :func:`run_on_board` and
:func:`run_firmware` (qemu.py), :func:`load_board` / :func:`list_boards` (boards.py), and the click
commands ``run_cmd`` / ``flash_cmd`` (commands.py) that ``slimgen.cli`` registers.
"""

from slimgen.firmware.errors import FirmwareError, FirmwareFault, FirmwareTimeout

__all__ = ["FirmwareError", "FirmwareFault", "FirmwareTimeout"]
