"""Boards: load and validate ``boards/<name>/board.toml`` into frozen dataclasses.

A board folder holds ``board.toml`` (the description), ``memory.ld`` (MEMORY { FLASH, RAM } then
``INCLUDE sections.ld``) and optionally board-specific sources (``*.c``, ``*.S``) that are linked
into every firmware for it. The FLASH and RAM regions are written twice, in board.toml for
Python and in memory.ld for the linker; :func:`load_board` refuses a board where they disagree.
See boards/README.md.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from slimgen import paths
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.targets import CORES, TARGETS

KINDS = ("qemu", "hardware")
CONSOLES = ("semihosting", "uart")
COUNTERS = ("dwt", "systick", "none")
_KEYS = {
    "name", "description", "core", "fpu", "dsp", "clock_hz", "kind", "console", "counter",
    "stack_bytes", "flash", "ram", "qemu", "flash_tool", "notes", "uf2_family",
}


@dataclass(frozen=True)
class Region:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size

    def holds(self, addr: int, size: int) -> bool:
        return self.origin <= addr and addr + size <= self.end


@dataclass(frozen=True)
class QemuMachine:
    machine: str  # qemu-system-arm -M value


@dataclass(frozen=True)
class FlashTool:
    pyocd_target: str  # pyocd flash -t <this>
    openocd_args: tuple[str, ...]  # e.g. ("-f", "interface/stlink.cfg", "-f", "target/x.cfg")


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    fpu: str  # gcc -mfpu value, or "none"
    dsp: bool
    clock_hz: int  # core clock after sg_board_init (reset clock where the board sets none up)
    kind: str  # "qemu" | "hardware"
    console: str  # "semihosting" | "uart"
    counter: str  # "dwt" | "systick" | "none", see boards/common/cycles.h
    stack_bytes: int
    flash: Region
    ram: Region
    qemu: QemuMachine | None
    flash_tool: FlashTool | None
    directory: Path
    sources: tuple[Path, ...]  # board-specific *.c / *.S
    notes: str = ""
    uf2_family: int | None = None  # write firmware.uf2 for this UF2 family ID

    @property
    def has_boot2(self) -> bool:
        """RP2040-style: a boot2.S whose 256 bytes the boot ROM checksums."""
        return any(p.name == "boot2.S" for p in self.sources)

    @property
    def emulated(self) -> bool:
        return self.kind == "qemu"


def common_dir() -> Path:
    return paths.boards_dir() / "common"


def list_boards() -> list[str]:
    """Names of every board folder (those with a board.toml), sorted."""
    root = paths.boards_dir()
    return sorted(p.parent.name for p in root.glob("*/board.toml"))


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def load_board(name: str) -> Board:
    """Loads and validates one board; unknown names get the list of known ones."""
    key = _normalise(name)
    folder = paths.boards_dir() / key
    if not (folder / "board.toml").is_file():
        raise FirmwareError(f"unknown board '{name}'; known boards: {', '.join(list_boards())}")
    return _parse(folder)


def _fail(folder: Path, msg: str) -> FirmwareError:
    return FirmwareError(f"{folder / 'board.toml'}: {msg}")


def _get(folder: Path, table: dict, key: str, kind: type, where: str = ""):  # noqa: ANN202
    if key not in table:
        raise _fail(folder, f"missing key '{where}{key}'")
    value = table[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise _fail(folder, f"'{where}{key}' must be {kind.__name__}, got {value!r}")
    return value


def _choice(folder: Path, table: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = _get(folder, table, key, str)
    if value not in allowed:
        raise _fail(folder, f"'{key}' is '{value}'; expected one of: {', '.join(allowed)}")
    return value


def _region(folder: Path, data: dict, key: str) -> Region:
    table = _get(folder, data, key, dict)
    region = Region(_get(folder, table, "origin", int, f"{key}."),
                    _get(folder, table, "size", int, f"{key}."))
    if region.size <= 0 or region.origin < 0 or region.end > 1 << 32:
        raise _fail(folder, f"[{key}] {region} is not inside the 32-bit address space")
    return region


def _parse(folder: Path) -> Board:
    with open(folder / "board.toml", "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise _fail(folder, f"not valid TOML: {e}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise _fail(folder, f"unknown key(s) {', '.join(sorted(unknown))}; "
                            f"allowed: {', '.join(sorted(_KEYS))}")
    name = _get(folder, data, "name", str)
    if name != folder.name:
        raise _fail(folder, f"name '{name}' differs from the folder name '{folder.name}'")
    core = _choice(folder, data, "core", CORES)
    kind = _choice(folder, data, "kind", KINDS)
    counter = _choice(folder, data, "counter", COUNTERS)
    fpu = _get(folder, data, "fpu", str)
    target_fpus = {f for t in TARGETS.values() if core in t.cores for f in t.fpus}
    if fpu != "none" and fpu not in target_fpus:
        raise _fail(folder, f"fpu '{fpu}' is not an FPU of {core}; expected one of: "
                            f"none, {', '.join(sorted(target_fpus)) or '(none on this core)'}")
    if counter == "dwt" and core in ("cortex-m0", "cortex-m0plus"):
        raise _fail(folder, f"{core} (Armv6-M) has no DWT cycle counter; use counter = \"systick\"")
    qemu = flash_tool = None
    if kind == "qemu":
        q = _get(folder, data, "qemu", dict)
        qemu = QemuMachine(_get(folder, q, "machine", str, "qemu."))
    else:
        t = _get(folder, data, "flash_tool", dict)
        args = _get(folder, t, "openocd_args", list, "flash_tool.")
        flash_tool = FlashTool(_get(folder, t, "pyocd_target", str, "flash_tool."),
                               tuple(str(a) for a in args))
    board = Board(
        name=name,
        description=_get(folder, data, "description", str),
        core=core,
        fpu=fpu,
        dsp=_get(folder, data, "dsp", bool),
        clock_hz=_get(folder, data, "clock_hz", int),
        kind=kind,
        console=_choice(folder, data, "console", CONSOLES),
        counter=counter,
        stack_bytes=_get(folder, data, "stack_bytes", int),
        flash=_region(folder, data, "flash"),
        ram=_region(folder, data, "ram"),
        qemu=qemu,
        flash_tool=flash_tool,
        directory=folder,
        sources=tuple(sorted(p for p in folder.iterdir() if p.suffix in (".c", ".S"))),
        notes=str(data.get("notes", "")),
        uf2_family=data.get("uf2_family"),
    )
    if board.stack_bytes % 8 or board.stack_bytes <= 0:
        raise _fail(folder, f"stack_bytes {board.stack_bytes} must be a positive multiple of 8")
    _check_memory_ld(board)
    return board


_MEM_LINE = re.compile(
    r"^\s*(\w+)\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"
    r"LENGTH\s*=\s*(0x[0-9a-fA-F]+|\d+)([KM]?)\s*$",
    re.MULTILINE,
)


def memory_ld_regions(path: Path) -> dict[str, Region]:
    """The MEMORY regions a memory.ld declares (hex, decimal, K or M lengths)."""
    regions = {}
    for m in _MEM_LINE.finditer(path.read_text()):
        scale = {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(4)]
        regions[m.group(1)] = Region(int(m.group(2), 0), int(m.group(3), 0) * scale)
    return regions


def _check_memory_ld(board: Board) -> None:
    ld = board.directory / "memory.ld"
    if not ld.is_file():
        raise FirmwareError(f"board {board.name} has no memory.ld in {board.directory}")
    regions = memory_ld_regions(ld)
    for key, region in (("FLASH", board.flash), ("RAM", board.ram)):
        if regions.get(key) != region:
            raise FirmwareError(
                f"{ld}: region {key} is {regions.get(key)}, but board.toml says "
                f"origin=0x{region.origin:08x} size=0x{region.size:x}; make them agree"
            )
