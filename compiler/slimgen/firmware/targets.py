"""``--target`` names: the compiler flags of each Cortex-M core, and which boards it runs on.

The target picks ``-mcpu``; the board (board.toml ``fpu``) says which FPU the chip really has,
because the same core ships with different FPUs (Cortex-M7: single precision on STM32F7,
double on STM32H7). ``fpu = "none"`` gives ``-mfloat-abi=soft``.
"""

from __future__ import annotations

from dataclasses import dataclass

from slimgen.firmware.errors import FirmwareError


@dataclass(frozen=True)
class Target:
    name: str
    arch: str  # for messages and docs
    fpus: tuple[str, ...]  # accepted board fpu values besides "none"; first = the usual one
    cores: tuple[str, ...]  # board cores this code runs on
    has_dwt: bool  # DWT CYCCNT exists (not on Armv6-M)
    has_dsp: bool  # Armv7E-M / Armv8-M DSP extension (SMLAD, SXTB16, ...)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        # Armv6-M code also runs on a Cortex-M0 (same ISA): the micro:bit's nRF51.
        Target("cortex-m0plus", "armv6-m", (), ("cortex-m0plus", "cortex-m0"), False, False),
        Target("cortex-m3", "armv7-m", (), ("cortex-m3",), True, False),
        Target("cortex-m4", "armv7e-m", ("fpv4-sp-d16",), ("cortex-m4",), True, True),
        Target("cortex-m7", "armv7e-m", ("fpv5-d16", "fpv5-sp-d16"), ("cortex-m7",), True, True),
        Target("cortex-m33", "armv8-m.main", ("fpv5-sp-d16",), ("cortex-m33",), True, True),
        # -mfpu=auto: -mcpu=cortex-m55 implies FPv5 double precision plus MVE (Helium).
        Target("cortex-m55", "armv8.1-m.main", ("auto",), ("cortex-m55",), True, True),
    )
}

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33",
         "cortex-m55")


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise FirmwareError(
            f"unknown target '{name}'; known targets: {', '.join(TARGETS)}"
        ) from None


def target_for_core(core: str) -> Target:
    """The target whose code a board with this core runs natively."""
    for t in TARGETS.values():
        if core in t.cores:
            return t
    raise FirmwareError(f"no target for core '{core}'; known cores: {', '.join(CORES)}")


def check_target(target: Target, board_name: str, core: str, fpu: str) -> None:
    """Refuses a target the board's core cannot run, naming the target that fits."""
    if core not in target.cores:
        raise FirmwareError(
            f"target {target.name} does not match board {board_name}, whose core is {core}; "
            f"use --target {target_for_core(core).name}"
        )
    if fpu != "none" and fpu not in target.fpus:
        raise FirmwareError(
            f"board {board_name} declares fpu '{fpu}', which {target.name} does not have; "
            f"expected one of: none, {', '.join(target.fpus) or '(no FPU on this core)'}"
        )


def cpu_flags(target: Target, fpu: str) -> list[str]:
    """``-mcpu/-mthumb/-mfpu/-mfloat-abi`` for compiling and linking.

    >>> cpu_flags(TARGETS["cortex-m4"], "fpv4-sp-d16")
    ['-mcpu=cortex-m4', '-mthumb', '-mfpu=fpv4-sp-d16', '-mfloat-abi=hard']
    >>> cpu_flags(TARGETS["cortex-m0plus"], "none")
    ['-mcpu=cortex-m0plus', '-mthumb', '-mfloat-abi=soft']
    """
    flags = [f"-mcpu={target.name}", "-mthumb"]
    if fpu == "none":
        flags.append("-mfloat-abi=soft")
    else:
        flags += [f"-mfpu={fpu}", "-mfloat-abi=hard"]
    if target.name == "cortex-m7":
        flags.append("-DSG_TUNE_CORTEX_M7")  # kernels' Cortex-M7 schedules (sg_sparse_nm4.h)
    return flags
