"""Firmware errors.

``FirmwareError`` derives from ``slimgen.errors.SlimgenError`` when that module exists (the host
pipeline owns it), so ``except SlimgenError`` catches firmware problems too; until then it derives
from ``Exception``.
"""

from __future__ import annotations

try:
    from slimgen.errors import SlimgenError as _Base
except ImportError:  # the host pipeline has not added slimgen/errors.py yet
    _Base = Exception  # type: ignore[misc,assignment]


class FirmwareError(_Base):  # type: ignore[valid-type,misc]
    """A board, toolchain, fit or run problem, with a message that says what to do."""


class FirmwareTimeout(FirmwareError):
    """The firmware did not exit in time (hung). ``output`` holds what it printed."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class FirmwareFault(FirmwareError):
    """The firmware took a HardFault. ``pc`` is the stacked PC (the faulting instruction)."""

    def __init__(self, message: str, pc: int, output: str = "", where: str = "") -> None:
        super().__init__(message)
        self.pc = pc
        self.output = output
        self.where = where
