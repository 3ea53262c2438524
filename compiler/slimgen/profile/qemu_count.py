"""Exact instruction counts in QEMU, for the Cortex-M55 (Unicorn has no MVE) and cross-checks.

The model is linked into a firmware for the core's QEMU board (boards/common startup, console
and sections; the board's memory.ld), with the input embedded as initialised data and a main()
that calls ``<prefix>_run`` once and prints its status and output over semihosting. QEMU runs it
with ``-d exec,nochain,in_asm``: ``in_asm`` logs every translated block (each line one guest
instruction, so a block's instruction count is its line count), ``exec`` with ``nochain`` logs
every execution of a block by its address. Replaying that log gives the same per-block
execution profile as the Unicorn hook (profile/engine.py) and the same attribution: blocks
inside ``<prefix>_run`` are its glue, each excursion out of it is one call (one layer), until
control returns to main. Taken-branch counts come from consecutive blocks as in the engine.
QEMU runs without ``-icount`` here: under it, a block whose instruction budget has run out is
logged and left before its first instruction, then entered again, which the log would count
twice. The block log does not depend on timing, so the count is deterministic without it.
"""

from __future__ import annotations

import bisect
import re
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np

from slimgen.firmware import toolchain as tcm
from slimgen.firmware.boards import Board, common_dir, list_boards, load_board
from slimgen.firmware.qemu import qemu_command
from slimgen.profile.build import compile_model, model_includes, model_prefix, model_sources
from slimgen.profile.cores import Core
from slimgen.profile.elf import read_elf
from slimgen.profile.engine import Block, CallResult, EmulationError, Profile
from slimgen.profile.run import Inference

MAIN = """/* slimgen profile under QEMU: one inference, status and output over semihosting. */
#include "model.h"
#include "console.h"

int main(void);

static const int8_t sg_prof_input[{P}_INPUT_BYTES] __attribute__((aligned(16))) = {{ {values} }};
static int8_t sg_prof_output[{P}_OUTPUT_BYTES] __attribute__((aligned(16)));
static uint8_t sg_prof_arena[{P}_ARENA_BYTES + 16] __attribute__((aligned(16)));

int main(void)
{{
    sg_status st = {p}_run(sg_prof_input, sg_prof_output, sg_prof_arena);
    sg_console_write("SG STATUS ");
    sg_console_dec((uint64_t)(uint32_t)st);
    sg_console_write("\\nSG OUT ");
    sg_console_hex_bytes(sg_prof_output, {P}_OUTPUT_BYTES);
    sg_console_write("\\n");
    return 0;
}}
"""

_IN = re.compile(r"^0x([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s")
_EXEC = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")


def board_for(core: Core) -> Board:
    for name in list_boards():
        b = load_board(name)
        if b.emulated and b.core == core.target:
            return b
    raise EmulationError(f"no QEMU board for {core.target}")


def build_qemu_image(model_dir: Path, work: Path, x: np.ndarray, core: Core, board: Board,
                     cflags: tuple[str, ...], core_flags: list[str],
                     defines: tuple[str, ...] = ()) -> Path:
    model_dir, work = Path(model_dir).resolve(), Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    tc = tcm.Toolchain.find()
    prefix = model_prefix((model_dir / "model.c").read_text())
    values = ", ".join(str(int(v)) for v in np.asarray(x, dtype=np.int8).reshape(-1))
    (work / "sg_prof_qemu.c").write_text(MAIN.format(p=prefix, P=prefix.upper(), values=values))
    common = common_dir()
    sources = [work / "sg_prof_qemu.c", common / "startup_cm.c", common / "console.c",
               common / "semihost.c", *sorted(board.directory.glob("*.c")),
               *model_sources(model_dir)]
    units = compile_model(tc, sources, work, (*core_flags, *cflags, *defines,
                                              *model_includes(model_dir), f"-I{common}",
                                              f"-I{board.directory}"))
    tcm.link(tc, [u.obj for u in units], "qemu.elf",
             [*core_flags, *tcm.LDFLAGS, f"-T{board.directory / 'memory.ld'}", f"-L{common}",
              f"-Wl,--defsym=__stack_size={board.stack_bytes}"], work)
    return work / "qemu.elf"


def replay(log: str, run_lo: int, run_hi: int, ret: int) -> CallResult:
    """Per-block profile of one ``<prefix>_run`` call from a ``-d exec,nochain,in_asm`` log.

    ``[run_lo, run_hi)`` is ``<prefix>_run``; ``ret`` the address main resumes at after it.
    """
    # One pc can have several translations alive at once (QEMU keys blocks by pc and flags, e.g.
    # MVE predication state), of different lengths. A block runs right after it is translated,
    # so the first execution of each host code pointer binds it to the translation just logged.
    by_ptr: dict[str, tuple[int, int]] = {}  # host pointer -> (bytes, instructions)
    pending: tuple[int, int, int] | None = None  # (pc, bytes, instructions) not yet run
    tb: list[int] = []  # [start, end, instructions] of the translation being read
    glue = Profile()
    windows: list[Profile] = []
    callees: list[int] = []
    ninsn: dict[Block, int] = {}
    fall: Counter = Counter()
    state = "before"  # before -> glue <-> window -> done
    cur = glue.blocks
    prev: Block = (-1, 0)
    for line in log.splitlines():
        m = _IN.match(line)
        if m:
            addr = int(m.group(1), 16)
            if not tb:
                tb = [addr, addr, 0]
            tb[1], tb[2] = addr + (4 if m.group(3) else 2), tb[2] + 1
            continue
        if tb:
            pending = (tb[0], tb[1] - tb[0], tb[2])
            tb = []
        m = _EXEC.match(line)
        if not m:
            continue
        ptr, pc = m.group(1), int(m.group(2), 16)
        if pending is not None and pending[0] == pc:
            by_ptr[ptr] = pending[1:]
            pending = None
        inside = run_lo <= pc < run_hi
        if state == "before":
            if pc != run_lo:
                continue
            state = "glue"
        elif pc == ret:
            break
        elif state == "glue" and not inside:
            w = Profile()
            windows.append(w)
            callees.append(pc)
            cur, state = w.blocks, "window"
        elif state == "window" and inside:
            cur, state = glue.blocks, "glue"
        nbytes, n = by_ptr[ptr]
        key = (pc, nbytes)
        ninsn[key] = n
        if pc == prev[0] + prev[1]:
            fall[prev] += 1
        cur[key] += 1
        prev = key
    if state == "before":
        raise EmulationError("the QEMU log never reached the model's run function")
    return CallResult(0, glue, windows, callees, ninsn, fall)


def recount_blocks(ninsn: dict[Block, int], starts: list[int]) -> None:
    """Sets each block's instruction count from the ELF's instruction addresses ``starts``.

    QEMU 7.2's ``in_asm`` cannot decode most 32-bit MVE and low-overhead-loop instructions
    (VMLADAVA, VADDVA, DLS, LE, ...): it prints each as two lines, ``.byte`` and its second
    halfword read as a 16-bit instruction, so counting lines counts those instructions twice.
    The blocks' byte ranges are right, and objdump knows where every instruction starts.
    """
    for key in ninsn:
        pc, nbytes = key
        ninsn[key] = bisect.bisect_left(starts, pc + nbytes) - bisect.bisect_left(starts, pc)


_OUT = re.compile(r"SG OUT ([0-9a-f]*)")
_STATUS = re.compile(r"SG STATUS (\d+)")


def run_inference_qemu(model_dir: Path, work: Path, core: Core, x: np.ndarray,
                       cflags: tuple[str, ...], core_flags: list[str],
                       defines: tuple[str, ...] = (), timeout: float = 900.0
                       ) -> tuple[Inference, Path]:
    """Builds the model for the core's QEMU board, runs one inference, replays the block log."""
    from slimgen.profile.disasm import disassemble

    board = board_for(core)
    elf = build_qemu_image(model_dir, work, x, core, board, cflags, core_flags, defines)
    info = read_elf(elf)
    prefix = model_prefix((Path(model_dir) / "model.c").read_text())
    run = info.symbol(f"{prefix}_run")
    main = info.symbol("main")
    dis = disassemble(elf)
    calls = [i for a, i in sorted(dis.items()) if main.addr <= a < main.addr + main.size
             and i.mnemonic.startswith("bl") and i.operands == f"{run.addr:x}"]
    if len(calls) != 1:
        raise EmulationError(f"main calls {prefix}_run {len(calls)} times, expected once")
    ret = calls[0].addr + calls[0].size
    log = Path(work) / "qemu.log"
    cmd = qemu_command(board, elf)
    # Without -icount: under it a block whose instruction budget has run out is entered, logged,
    # and left before its first instruction, then entered again, so the log would count it twice.
    i = cmd.index("-icount")
    cmd = [*cmd[:i], *cmd[i + 2:], "-d", "exec,nochain,in_asm", "-D", str(log)]
    try:
        proc = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise EmulationError(f"QEMU did not finish within {timeout:g} s") from None
    out = proc.stdout.decode(errors="replace")
    mo, ms = _OUT.search(out), _STATUS.search(out)
    if proc.returncode != 0 or mo is None or ms is None:
        raise EmulationError(f"QEMU run failed (exit {proc.returncode}):\n{out[-2000:]}")
    status = int(ms.group(1))
    if status != 0:
        raise EmulationError(f"{prefix}_run returned status {status - (1 << 32)} under QEMU")
    res = replay(log.read_text(errors="replace"), run.addr, run.addr + run.size, ret)
    log.unlink()
    recount_blocks(res.ninsn, sorted(dis))
    output = np.frombuffer(bytes.fromhex(mo.group(1)), dtype=np.int8).copy()
    return Inference(output, 0, res, [info.function_at(a) for a in res.callees]), elf
