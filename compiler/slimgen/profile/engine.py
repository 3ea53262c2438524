"""Exact instruction counts of Cortex-M code, by running an ELF in Unicorn.

How it counts. A basic-block hook (``UC_HOOK_BLOCK``) fires once each time QEMU's translated
block starts, with the block's address and byte size; the profile keeps ``(addr, size) ->
executions``. After the run each distinct block is decoded once (Thumb: a halfword whose top five
bits are 0b11101, 0b11110 or 0b11111 starts a 32-bit instruction, anything else is 16 bits) and
instructions = sum over blocks of executions x instructions in the block. A block always runs to
its end unless it faults (then the run stops with an error), so the count is exact. Instructions
inside an IT block whose condition fails are counted: they are issued, as on the real core (and
as QEMU ``-icount`` counts them). A per-instruction hook (``UC_HOOK_CODE``) is not used: QEMU
skips it for IT-block instructions whose condition fails.

How it attributes. :meth:`Machine.call` runs one function (``entry``) from Python with its
arguments in r0-r3 and a return address that stops the emulation. Every call that ``entry``
makes itself opens a *window* ``[callee's first block, return to entry)`` whose blocks are kept
apart; blocks of ``entry`` itself are its *glue*. The generated model's ``<p>_run`` calls exactly
one kernel per layer, so window i is layer i, measured without adding one instruction to the code
(no marker calls, no counter reads): the profiled ELF is the code the firmware runs. A tail call
(``b`` to a kernel as the last statement) is a window too: it ends at ``entry``'s return.

Taken branches. The cycle models need to know how often a block's last instruction (a branch)
was taken; the hook also counts, per block, how many times the next block started at its
fall-through address.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from slimgen.profile.elf import Elf, read_elf

FLASH_BASE, FLASH_SIZE = 0x0000_0000, 16 << 20
RAM_BASE, RAM_SIZE = 0x2000_0000, 16 << 20
RETURN_ADDR = FLASH_BASE + FLASH_SIZE - 0x100  # never code: reaching it ends the call

Block = tuple[int, int]  # (address, size in bytes)


def thumb_lengths(code: bytes) -> list[int]:
    """Byte length of each Thumb instruction in ``code``.

    >>> thumb_lengths(bytes.fromhex("0230" "d3f8 0430".replace(" ", "")))
    [2, 4]
    """
    out = []
    i = 0
    while i + 1 < len(code):
        top = code[i + 1] >> 3  # bits 15..11 of the little-endian halfword
        n = 4 if top in (0x1D, 0x1E, 0x1F) else 2
        out.append(n)
        i += n
    return out


class EmulationError(RuntimeError):
    """The emulated code faulted or did not return (a slimgen or kernel bug, not a user error)."""


@dataclass
class Profile:
    """Block execution counts of one region (a window or the glue)."""

    blocks: Counter = field(default_factory=Counter)  # Block -> executions

    def instructions(self, sizes: dict[Block, int]) -> int:
        return sum(n * sizes[b] for b, n in self.blocks.items())


@dataclass
class CallResult:
    r0: int
    glue: Profile  # blocks of the entry function itself
    windows: list[Profile]  # one per call the entry function made, in order
    callees: list[int]  # first address of each window
    ninsn: dict[Block, int]  # instructions per distinct block
    fallthrough: Counter  # Block -> times the next block started at its end

    def count(self, p: Profile) -> int:
        return p.instructions(self.ninsn)

    @property
    def total(self) -> int:
        return self.count(self.glue) + sum(self.count(w) for w in self.windows)


class Machine:
    """One ELF loaded into a fresh Unicorn Cortex-M (see the module docstring)."""

    def __init__(self, elf_path: Path, uc_cpu: int) -> None:
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc

        self.elf: Elf = read_elf(Path(elf_path))
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(uc_cpu)
        self.uc.mem_map(FLASH_BASE, FLASH_SIZE)
        self.uc.mem_map(RAM_BASE, RAM_SIZE)
        for seg in self.elf.segments:
            if not (FLASH_BASE <= seg.addr and seg.addr + seg.mem_size <= FLASH_BASE + FLASH_SIZE
                    or RAM_BASE <= seg.addr and seg.addr + seg.mem_size <= RAM_BASE + RAM_SIZE):
                raise EmulationError(f"segment at 0x{seg.addr:08x} (+{seg.mem_size}) is outside "
                                     "the emulated flash and RAM")
            self.uc.mem_write(seg.addr, seg.data)

    def addr(self, symbol: str) -> int:
        return self.elf.symbol(symbol).addr

    def write(self, symbol: str, data: bytes) -> None:
        sym = self.elf.symbol(symbol)
        if sym.size and len(data) > sym.size:
            raise EmulationError(f"{len(data)} bytes do not fit {symbol} ({sym.size} bytes)")
        self.uc.mem_write(sym.addr, bytes(data))

    def read(self, symbol: str, size: int) -> bytes:
        return bytes(self.uc.mem_read(self.elf.symbol(symbol).addr, size))

    def call(self, entry: str, *args: int, max_instructions: int = 0) -> CallResult:
        """Runs ``entry(args...)`` to its return; see the module docstring for the windows."""
        from unicorn import UC_HOOK_BLOCK, UcError
        from unicorn.arm_const import UC_ARM_REG_LR, UC_ARM_REG_PC, UC_ARM_REG_R0, UC_ARM_REG_SP

        if len(args) > 4:
            raise ValueError("at most four (register) arguments")
        uc = self.uc
        fn = self.elf.symbol(entry)
        lo, hi = fn.addr, fn.addr + max(fn.size, 2)
        glue = Profile()
        windows: list[Profile] = []
        callees: list[int] = []
        fall: Counter = Counter()
        state = {"cur": glue.blocks, "ret": -1, "prev": (-1, 0)}

        def on_block(uc_: object, addr: int, size: int, _u: object) -> None:
            prev = state["prev"]
            if addr == prev[0] + prev[1]:
                fall[prev] += 1
            if state["ret"] < 0:
                if not lo <= addr < hi:  # entry called someone: a new window
                    w = Profile()
                    windows.append(w)
                    callees.append(addr)
                    state["cur"] = w.blocks
                    state["ret"] = uc.reg_read(UC_ARM_REG_LR) & ~1
            elif addr == state["ret"]:
                state["cur"] = glue.blocks
                state["ret"] = -1
            key = (addr, size)
            state["cur"][key] += 1
            state["prev"] = key

        for reg, value in zip(range(UC_ARM_REG_R0, UC_ARM_REG_R0 + 4), args):
            uc.reg_write(reg, value & 0xFFFFFFFF)
        uc.reg_write(UC_ARM_REG_SP, RAM_BASE + RAM_SIZE - 64)
        uc.reg_write(UC_ARM_REG_LR, RETURN_ADDR | 1)
        hook = uc.hook_add(UC_HOOK_BLOCK, on_block)
        try:
            uc.emu_start(fn.addr | 1, RETURN_ADDR, count=max_instructions)
        except UcError as e:
            pc = uc.reg_read(UC_ARM_REG_PC)
            raise EmulationError(f"{entry} faulted at pc=0x{pc:08x} "
                                 f"({self.where(pc)}): {e}") from None
        finally:
            uc.hook_del(hook)
        pc = uc.reg_read(UC_ARM_REG_PC)
        if pc != RETURN_ADDR:
            raise EmulationError(f"{entry} did not return (stopped at pc=0x{pc:08x}, "
                                 f"{self.where(pc)})")
        ninsn: dict[Block, int] = {}
        for prof in (glue, *windows):
            for b in prof.blocks:
                if b not in ninsn:
                    ninsn[b] = len(thumb_lengths(bytes(uc.mem_read(b[0], b[1]))))
        return CallResult(uc.reg_read(UC_ARM_REG_R0), glue, windows, callees, ninsn, fall)

    def where(self, addr: int) -> str:
        return self.elf.where(addr)

    def function_at(self, addr: int) -> str:
        return self.elf.function_at(addr)
