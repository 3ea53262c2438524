"""Disassembly of an ELF with arm-none-eabi-objdump, by address."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from slimgen.firmware import toolchain as tcm

_LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t(\S+)(?:\t(.*))?$")


@dataclass(frozen=True)
class Insn:
    addr: int
    size: int  # bytes
    mnemonic: str  # as objdump prints it, e.g. "ldr.w", "bne.n", "smlad"
    operands: str  # without objdump's "@ comment" / "<symbol>" annotations


def parse_objdump(text: str) -> dict[int, Insn]:
    """Instructions by address from ``objdump -d`` output (Thumb).

    >>> d = parse_objdump("    8034:\\tf8d3 3004 \\tldr.w\\tr3, [r3, #4]\\n"
    ...                   "    8038:\\td1fb      \\tbne.n\\t8032 <f+0x2>\\n")
    >>> d[0x8034], d[0x8038].operands
    (Insn(addr=32820, size=4, mnemonic='ldr.w', operands='r3, [r3, #4]'), '8032')
    """
    out = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        size = 4 if " " in m.group(2) else 2
        ops = re.split(r"[;@]", m.group(4) or "")[0]
        ops = re.sub(r"\s*<[^>]*>", "", ops).strip()
        out[addr] = Insn(addr, size, m.group(3), ops)
    return out


@cache
def _disassemble_cached(elf: str, mtime: float, arch: str | None) -> dict[int, Insn]:
    objdump = tcm.find_tool("arm-none-eabi-objdump", tcm.APT_TOOLCHAIN)
    # objdump takes the architecture from the ELF attributes, which do not always name the
    # Armv8.1-M instructions (CINC, CSEL, LSLL, ...); ``arch`` names it.
    cmd = [objdump, "-d", *(["-m", arch] if arch else []), elf]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return parse_objdump(proc.stdout)


def disassemble(elf: Path, arch: str | None = None) -> dict[int, Insn]:
    p = Path(elf).resolve()
    return _disassemble_cached(str(p), p.stat().st_mtime, arch)


def block_insns(dis: dict[int, Insn], addr: int, size: int) -> list[Insn]:
    out = []
    a = addr
    while a < addr + size:
        insn = dis.get(a)
        if insn is None:
            raise KeyError(f"no instruction at 0x{a:08x} in the disassembly")
        out.append(insn)
        a += insn.size
    return out
