"""Just enough of ELF32 (little endian, ARM) to load an image and name its functions.

Loadable segments are placed at their virtual (run-time) addresses, so ``.data`` is already where
the program expects it and no startup copy is needed; ``.bss`` is the zero tail of a segment
(``p_memsz > p_filesz``) or a segment without file bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

PT_LOAD = 1
SHT_SYMTAB = 2
STT_FUNC = 2


@dataclass(frozen=True)
class Segment:
    addr: int
    data: bytes  # file bytes
    mem_size: int  # >= len(data); the rest is zero


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int  # Thumb bit cleared
    size: int
    is_func: bool


@dataclass(frozen=True)
class Elf:
    entry: int
    segments: tuple[Segment, ...]
    symbols: dict[str, Symbol]

    def symbol(self, name: str) -> Symbol:
        try:
            return self.symbols[name]
        except KeyError:
            raise KeyError(f"symbol '{name}' is not in the ELF") from None

    def where(self, addr: int) -> str:
        """``function+offset`` for an address, from the symbol table."""
        for s in self.symbols.values():
            if s.is_func and s.addr <= addr < s.addr + max(s.size, 1):
                return f"{s.name}+0x{addr - s.addr:x}"
        return "unknown code"

    def function_at(self, addr: int) -> str:
        """The function starting at ``addr`` (or ``where`` it is)."""
        for s in self.symbols.values():
            if s.is_func and s.addr == addr:
                return s.name
        return self.where(addr)


def read_elf(path: Path) -> Elf:
    raw = Path(path).read_bytes()
    if raw[:4] != b"\x7fELF" or raw[4] != 1 or raw[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF32 file")
    (entry, phoff, shoff) = struct.unpack_from("<III", raw, 24)
    (phentsize, phnum, shentsize, shnum) = struct.unpack_from("<HHHH", raw, 42)
    segments = []
    for i in range(phnum):
        p_type, p_offset, p_vaddr, _p_paddr, p_filesz, p_memsz = struct.unpack_from(
            "<IIIIII", raw, phoff + i * phentsize)
        if p_type == PT_LOAD and p_memsz:
            segments.append(Segment(p_vaddr, raw[p_offset:p_offset + p_filesz], p_memsz))
    sections = [struct.unpack_from("<IIIIIIIIII", raw, shoff + i * shentsize)
                for i in range(shnum)]
    symbols: dict[str, Symbol] = {}
    for sh in sections:
        if sh[1] != SHT_SYMTAB:
            continue
        strtab = sections[sh[6]]
        str_off = strtab[4]
        for k in range(sh[5] // 16):
            st_name, st_value, st_size, st_info, _other, _shndx = struct.unpack_from(
                "<IIIBBH", raw, sh[4] + 16 * k)
            end = raw.index(b"\0", str_off + st_name)
            name = raw[str_off + st_name:end].decode()
            is_func = st_info & 0xF == STT_FUNC
            if name and (is_func or name not in symbols):
                symbols[name] = Symbol(name, st_value & ~1 if is_func else st_value, st_size,
                                       is_func)
    return Elf(entry, tuple(segments), symbols)
