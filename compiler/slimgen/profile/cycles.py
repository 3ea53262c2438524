"""Cycle estimates from the executed blocks: an instruction timing table model, or llvm-mca.

Every estimate is ``nominal [low, high]`` for zero-wait-state memory; never a measurement.

Table model (Cortex-M0+, M3, M4, M33). Each executed instruction is classified from its
disassembly and costed after the processor's Technical Reference Manual timing table:

- Cortex-M4 (TRM, "Instruction set summary" cycle counts): data processing, SSAT/SXTB16/SEL,
  MUL/MLA/SMLAD/SMULBB and the 64-bit SMULL/UMLAL are 1 cycle; a single LDR/STR is 2 cycles, 1
  when it directly follows a single LDR (address and data phases pipeline; nothing pipelines
  after a store); LDRD/STRD 3; LDM/STM/PUSH/POP 1+N; taken branches 1+P, where P (pipeline
  refill) is 1..3 (nominal 2); a conditional branch not taken 1; SDIV/UDIV 2..12 depending on
  the operands (nominal 7); a POP or LDM that loads PC 1+N+P.
- Cortex-M33: the M4 table (same 3-stage in-order class of pipeline).
- Cortex-M3: the M4 table except MLA/MLS 2, SMULL/UMULL 3..5, SMLAL/UMLAL 4..7.
- Cortex-M0+ (2-stage): loads and stores 2, LDM/STM/PUSH/POP 1+N, taken branch 2, BL 3,
  BX/BLX 2, POP {..,pc} 3+N, MULS 1 (single-cycle multiplier), everything else 1.
Whether a block's final conditional branch was taken comes from the run: the engine counts how
often the next block started at the fall-through address.
The band is [sum of low costs, sum of high costs] (refill 1 vs 3, division 2 vs 12, loads after
a store pipelined or not), widened to at least -10 % / +12 % around nominal for what the table
does not model (flash wait states, bus contention, IT folding, branch speculation).

llvm-mca (Cortex-M7, M55). The executed blocks are written as one llvm-mca code region each,
run with ``-mcpu=cortex-m7`` / ``cortex-m55`` for 100 iterations; a block's cycles are its
region's total cycles / 100 (steady state, so dependencies between iterations are included),
weighted by its executions. Band +-25 %. Without llvm-mca the M4 table scaled for dual issue is
used instead, with a +-40 % band, and the estimate says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from slimgen.profile.cores import Core
from slimgen.profile.disasm import Insn, block_insns, disassemble
from slimgen.profile.engine import CallResult

NOTE = "estimate, zero-wait-state memory"
BAND_MIN_LOW, BAND_MIN_HIGH = 0.90, 1.12
MCA_BAND = 0.25
FALLBACK_BAND = 0.40
MCA_ITERATIONS = 100

_CONDS = ("eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt",
          "gt", "le", "al")


@dataclass(frozen=True)
class CycleEstimate:
    nominal: int
    low: int
    high: int
    method: str  # "table:cortex-m4", "llvm-mca-19 -mcpu=cortex-m7", ...
    note: str = NOTE

    def __add__(self, other: CycleEstimate) -> CycleEstimate:
        return CycleEstimate(self.nominal + other.nominal, self.low + other.low,
                             self.high + other.high, self.method, self.note)


def _base(mnemonic: str) -> str:
    m = mnemonic.lower().split(".")[0]
    return m


def _strip_cond(m: str) -> str:
    if len(m) > 2 and m[-2:] in _CONDS and m not in ("teq", "smlsd", "vcmpe"):
        return m[:-2]
    return m


def _reglist_len(ops: str) -> int:
    m = re.search(r"\{([^}]*)\}", ops)
    if not m:
        return 1
    n = 0
    for part in m.group(1).split(","):
        part = part.strip()
        r = re.fullmatch(r"([rsd])(\d+)-[rsd](\d+)", part)
        n += (int(r.group(3)) - int(r.group(2)) + 1) if r else 1
        if part.startswith("d") or (r and r.group(1) == "d"):
            n += (int(r.group(3)) - int(r.group(2)) + 1) if r else 1  # 64-bit: two transfers
    return n


def classify(insn: Insn) -> str:
    """One of: it, branch, cbranch, call, ret_pop, ldm, load, store, ldrd, mul, mla, mul_long,
    mla_long, div, vfp_slow, alu."""
    m = _base(insn.mnemonic)
    ops = insn.operands.lower()
    if re.fullmatch(r"it[te]{0,3}", m):
        return "it"
    if m in ("cbz", "cbnz"):
        return "cbranch"
    if m in ("b",) or (m.startswith("b") and len(m) == 3 and m[1:] in _CONDS):
        return "cbranch" if m != "b" and m[1:] != "al" else "branch"
    if _strip_cond(m) in ("bl", "blx"):
        return "call"
    if _strip_cond(m) in ("bx", "tbb", "tbh"):
        return "branch"
    if m.startswith(("pop", "ldm")) and "pc" in ops:
        return "ret_pop"
    if m.startswith(("ldr", "mov")) and ops.startswith("pc"):
        return "branch"
    if m.startswith(("pop", "push", "ldm", "stm", "vpush", "vpop", "vldm", "vstm")):
        return "ldm"
    if m.startswith(("ldrd", "strd")):
        return "ldrd"
    if m.startswith(("ldr", "vldr", "ldrex")):
        return "load"
    if m.startswith(("str", "vstr", "strex")):
        return "store"
    if _strip_cond(m) in ("sdiv", "udiv"):
        return "div"
    if m.startswith(("umull", "smull")):
        return "mul_long"
    if m.startswith(("umlal", "smlal", "umaal")):
        return "mla_long"
    if m in ("mla", "mls") or _strip_cond(m) in ("mla", "mls"):
        return "mla"
    if m.startswith(("mul", "mla", "mls", "smla", "smul", "smmul", "smmla", "smmls", "smuad",
                     "smusd", "smlsd", "smlad")):
        return "mul"
    if m.startswith(("vdiv", "vsqrt")):
        return "vfp_slow"
    return "alu"


# (nominal, low, high) cycles per class; branches: taken cost. "P" = pipeline refill.
_M4 = {
    "it": (1, 1, 1), "alu": (1, 1, 1), "mul": (1, 1, 1), "mla": (1, 1, 1), "mul_long": (1, 1, 1),
    "mla_long": (1, 1, 1), "div": (7, 2, 12), "vfp_slow": (14, 14, 14),
    "branch": (3, 2, 4), "cbranch": (3, 2, 4), "call": (3, 2, 4),
    "ldrd": (3, 3, 3),
}
_M3 = dict(_M4, mla=(2, 2, 2), mul_long=(4, 3, 5), mla_long=(6, 4, 7))
_M0 = {
    "it": (1, 1, 1), "alu": (1, 1, 1), "mul": (1, 1, 1), "mla": (1, 1, 1), "mul_long": (1, 1, 1),
    "mla_long": (1, 1, 1), "div": (1, 1, 1), "vfp_slow": (1, 1, 1),
    "branch": (2, 2, 2), "cbranch": (2, 2, 2), "call": (3, 3, 3), "ldrd": (2, 2, 2),
}
_TABLES = {"m0plus": _M0, "m3": _M3, "m4": _M4, "m33": _M4, "m7": _M4, "m55": _M4}


def _block_cost(core: str, insns: list[Insn]) -> tuple[int, int, int, int]:
    """(nominal, low, high) cycles of one execution of the block with its last branch taken, and
    the nominal saving when a final conditional branch falls through."""
    table = _TABLES[core]
    nom = low = high = 0
    prev = ""
    m0 = core == "m0plus"
    for insn in insns:
        c = classify(insn)
        if c in ("load", "store"):
            if m0:
                t = (2, 2, 2)
            elif prev == "load":
                t = (1, 1, 2)
            elif prev == "store":
                t = (2, 1, 2)
            else:
                t = (2, 2, 2)
        elif c == "ldm":
            n = _reglist_len(insn.operands)
            t = (1 + n, 1 + n, 1 + n)
        elif c == "ret_pop":
            n = _reglist_len(insn.operands)
            t = (3 + n, 3 + n, 3 + n) if m0 else (3 + n, 2 + n, 4 + n)
        else:
            t = table[c]
        nom, low, high = nom + t[0], low + t[1], high + t[2]
        prev = c
    last = classify(insns[-1]) if insns else ""
    saving = table["cbranch"][0] - 1 if last == "cbranch" else 0
    return nom, low, high, saving


def table_estimate(elf: Path, core: Core, blocks: Counter, calls: CallResult) -> CycleEstimate:
    dis = disassemble(elf, core.objdump_arch)
    nom = low = high = 0.0
    for b, n in blocks.items():
        insns = block_insns(dis, *b)
        bn, bl, bh, saving = _block_cost(core.name, insns)
        total_exec = sum(w.blocks.get(b, 0) for w in (calls.glue, *calls.windows)) or n
        not_taken = calls.fallthrough.get(b, 0) * n / total_exec if saving else 0.0
        nom += n * bn - not_taken * saving
        low += n * bl - not_taken * (_TABLES[core.name]["cbranch"][1] - 1)
        high += n * bh - not_taken * (_TABLES[core.name]["cbranch"][2] - 1)
    return _banded(nom, low, high, f"table:cortex-{core.name}")


def _banded(nom: float, low: float, high: float, method: str,
            lo_f: float = BAND_MIN_LOW, hi_f: float = BAND_MIN_HIGH) -> CycleEstimate:
    return CycleEstimate(round(nom), round(min(low, nom * lo_f)), round(max(high, nom * hi_f)),
                         method)


def find_llvm_mca() -> str | None:
    """llvm-mca-19 if installed, else the newest llvm-mca-N, else plain llvm-mca."""
    if shutil.which("llvm-mca-19"):
        return shutil.which("llvm-mca-19")
    found = []
    for d in {Path(p) for p in (shutil.which("llvm-mca") or "",) if p} | {Path("/usr/bin")}:
        for p in d.glob("llvm-mca-*"):
            v = p.name.rsplit("-", 1)[-1]
            if v.isdigit():
                found.append((int(v), str(p)))
    if found:
        return max(found)[1]
    return shutil.which("llvm-mca")


_FORWARD_ONLY = ("cbz", "cbnz", "wls", "wlstp")


def _mca_line(insn: Insn, back: str, fwd: str) -> str:
    """objdump syntax -> LLVM's: no .w/.n, and a branch target becomes a label of the block
    (its start, or its end for the forward-only CBZ/CBNZ/WLS)."""
    m = re.sub(r"\.[wn]$", "", insn.mnemonic)  # let the assembler pick the encoding
    parts = [p.strip() for p in insn.operands.split(",")] if insn.operands else []
    if parts and re.fullmatch(r"[0-9a-f]+", parts[-1]) and (
            m.startswith(("b", "cb", "le", "wls", "dls"))):
        if m.startswith("le"):
            # LLVM wants a constant here; the M55 model has no timing for LE/LETP and skips it
            # (-skip-unsupported-instructions=lack-sched): the loop end is free, as on the core
            # once its loop branch cache holds the loop.
            parts[-1] = "#-4"
        else:
            parts[-1] = fwd if m.split(".")[0] in _FORWARD_ONLY else back
    return f"{m} {', '.join(parts)}".strip()


def region_cycles(report: str, n: int) -> list[int]:
    """Total cycles of code regions b0 .. b{n-1} in an llvm-mca report. A region all of whose
    instructions were skipped (an LE alone in its block: no timing on the M55) is not printed
    at all; it costs 0, as LE does inside a block."""
    cycles: dict[str, int] = {}
    name = None
    for line in report.splitlines():
        m = re.match(r"^\[\d+\] Code Region - (b\d+)\s*$", line)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"^Total Cycles:\s+(\d+)", line)
        if m and name is not None:
            cycles[name] = int(m.group(1))
            name = None
    if not cycles or any(int(k[1:]) >= n for k in cycles):
        raise RuntimeError(f"llvm-mca reported regions {sorted(cycles)} for {n} blocks")
    return [cycles.get(f"b{i}", 0) for i in range(n)]


def mca_estimate(elf: Path, core: Core, blocks: Counter, mca: str) -> CycleEstimate:
    dis = disassemble(elf, core.objdump_arch)
    keys = sorted(blocks)
    lines = []
    for i, b in enumerate(keys):
        lines += [f"@ LLVM-MCA-BEGIN b{i}", f"s{i}:"]
        lines += [_mca_line(x, f"s{i}", f"e{i}") for x in block_insns(dis, *b)]
        lines += [f"e{i}:", f"@ LLVM-MCA-END b{i}"]
    triple = "thumbv8.1m.main-none-eabi" if core.name == "m55" else "thumbv7em-none-eabi"
    skipped = 0
    with tempfile.TemporaryDirectory(prefix="slimgen-mca-") as tmp:
        src = Path(tmp) / "blocks.s"
        src.write_text("\t.syntax unified\n\t.thumb\n" + "\n".join(lines) + "\n")
        cmd = [mca, f"-mtriple={triple}", f"-mcpu={core.llvm_mca}",
               f"-iterations={MCA_ITERATIONS}", "-summary-view", "-resource-pressure=false",
               "-instruction-info=false", str(src)]
        proc = subprocess.run([*cmd, "-skip-unsupported-instructions=lack-sched"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            # A line LLVM's assembler does not take (an objdump spelling it lacks): leave it
            # out of the timing and say how many were left out.
            skipped = len(re.findall(r"^\S+:\d+:\d+: error:", proc.stderr, re.MULTILINE))
            proc = subprocess.run([*cmd, "-skip-unsupported-instructions=any"],
                                  capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"llvm-mca failed: {proc.stderr.strip()[:2000]}")
    totals = region_cycles(proc.stdout, len(keys))
    nom = sum(blocks[b] * t / MCA_ITERATIONS for b, t in zip(keys, totals))
    method = f"{Path(mca).name} -mcpu={core.llvm_mca}"
    if skipped:
        method += f" ({skipped} unparsable instruction lines left out)"
    return _banded(nom, nom * (1 - MCA_BAND), nom * (1 + MCA_BAND), method,
                   1 - MCA_BAND, 1 + MCA_BAND)


def estimate_cycles(elf: Path, core: Core, blocks: Counter, calls: CallResult) -> CycleEstimate:
    """Cycles of the given blocks (a window's, or all of a run's) on ``core``."""
    if core.llvm_mca is None:
        return table_estimate(elf, core, blocks, calls)
    mca = find_llvm_mca()
    if mca is not None:
        return mca_estimate(elf, core, blocks, mca)
    t = table_estimate(elf, core, blocks, calls)
    return _banded(t.nominal * 0.75, t.nominal * 0.75 * (1 - FALLBACK_BAND),
                   t.nominal * 0.75 * (1 + FALLBACK_BAND),
                   "table:cortex-m4 x0.75 (no llvm-mca; install llvm-19)",
                   1 - FALLBACK_BAND, 1 + FALLBACK_BAND)
