"""arm-none-eabi-gcc invocation and ``size -A`` parsing.

Every firmware C file is compiled with the same warning set as the kernels (``-Werror``),
one object per source so that ``-fstack-usage`` and ``-fcallgraph-info=su`` leave their
``.su``/``.ci`` files next to the object, where :mod:`slimgen.firmware.stack` reads them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from slimgen.firmware.errors import FirmwareError

APT_TOOLCHAIN = "gcc-arm-none-eabi libnewlib-arm-none-eabi"
APT_QEMU = "qemu-system-arm"

WARNINGS = (
    "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes",
    "-Wdouble-promotion",
)
CFLAGS = (
    "-std=c99", "-O2", "-g", *WARNINGS,
    "-ffunction-sections", "-fdata-sections", "-fstack-usage", "-fcallgraph-info=su",
)
ASFLAGS = ("-g", "-x", "assembler-with-cpp")
# nano newlib only supplies memcpy/memset and libgcc helpers; slimgen firmware has its own
# startup (-nostartfiles) and never calls stdio, so no syscall stubs are linked.
LDFLAGS = (
    "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments",
)


def find_tool(name: str, apt: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FirmwareError(
            f"{name} not found on PATH; install it with: apt-get install {apt} "
            f"(Debian/Ubuntu package{'s' if ' ' in apt else ''} {apt})"
        )
    return path


@dataclass(frozen=True)
class Toolchain:
    gcc: str
    objcopy: str
    size: str
    addr2line: str

    @classmethod
    def find(cls) -> "Toolchain":
        return cls(*(find_tool(f"arm-none-eabi-{t}", APT_TOOLCHAIN)
                     for t in ("gcc", "objcopy", "size", "addr2line")))


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).strip()
        hint = ""
        if "cannot find -lc" in text or "nano.specs" in text:
            hint = f"\n  newlib is missing: apt-get install {APT_TOOLCHAIN}"
        raise FirmwareError(f"{what} failed:\n  {' '.join(cmd)}\n{text}{hint}")
    return proc.stdout


@dataclass(frozen=True)
class Compile:
    src: str  # relative to the firmware folder
    obj: str
    flags: tuple[str, ...]


def compile_all(tc: Toolchain, units: list[Compile], cwd: Path, jobs: int = 2) -> None:
    """Compiles every unit (at most ``jobs`` at once: the build machines are small).

    Debug info names paths relative to ``cwd`` (-ffile-prefix-map), so the ELF does not
    depend on where it was built.
    """
    for u in units:
        (cwd / u.obj).parent.mkdir(parents=True, exist_ok=True)
    reproducible = f"-ffile-prefix-map={cwd.resolve()}=."

    def one(u: Compile) -> None:
        _run([tc.gcc, *u.flags, reproducible, "-c", u.src, "-o", u.obj], cwd,
             f"compiling {u.src}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for f in [pool.submit(one, u) for u in units]:
            f.result()


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def link(tc: Toolchain, objs: list[str], elf: str, flags: list[str], cwd: Path) -> None:
    try:
        _run([tc.gcc, *flags, *objs, "-o", elf], cwd, f"linking {elf}")
    except FirmwareError as e:
        over = _OVERFLOW.findall(str(e))
        if over:
            detail = "; ".join(f"{region} by {int(n)} bytes" for region, n in over)
            raise FirmwareError(f"the firmware does not fit the board: overflows {detail}\n{e}")
        raise


def objcopy(tc: Toolchain, elf: str, out: str, fmt: str, cwd: Path) -> None:
    _run([tc.objcopy, "-O", fmt, elf, out], cwd, f"objcopy {fmt}")


@dataclass(frozen=True)
class Section:
    name: str
    size: int
    addr: int


def parse_size_a(text: str) -> list[Section]:
    """Parses ``arm-none-eabi-size -A`` output (sizes and addresses in decimal).

    >>> parse_size_a("fw.elf  :\\nsection  size  addr\\n.text  1200  0\\n.bss  64  536870912\\n"
    ...              "Total  1264\\n")
    [Section(name='.text', size=1200, addr=0), Section(name='.bss', size=64, addr=536870912)]
    """
    sections = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            sections.append(Section(parts[0], int(parts[1]), int(parts[2])))
    return sections


def section_sizes(tc: Toolchain, elf: Path) -> list[Section]:
    return parse_size_a(_run([tc.size, "-A", "-d", str(elf)], elf.parent, "size -A"))


def addr2line(tc: Toolchain, elf: Path, addr: int) -> str:
    """``function at file:line`` for an address, or '' when unknown."""
    proc = subprocess.run([tc.addr2line, "-f", "-C", "-e", str(elf), f"0x{addr:x}"],
                          capture_output=True, text=True)
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) < 2 or lines[0] == "??":
        return ""
    return f"{lines[0]} at {lines[1]}"
