"""Run firmware under qemu-system-arm, parse what it prints, count instructions per layer.

Instruction counting. QEMU runs with ``-icount shift=S,sleep=off``: every guest instruction
advances virtual time by exactly 2**S ns, and nothing else moves virtual time. SysTick, on the
processor clock (board ``clock_hz``), is a QEMU timer on that virtual clock, so a difference of
``t`` ticks between two reads is ``t * 1e9 / clock_hz`` ns of virtual time, i.e.
``t * 1e9 / (clock_hz * 2**S)`` instructions. S is the smallest shift that makes one instruction
last at least two ticks; then the tick difference of two reads ``n`` instructions apart lies
within one tick of ``n * r`` (r >= 2 ticks per instruction), and rounding ``t / r`` gives ``n``
exactly. tests/firmware/test_counter.py proves it on every emulated board with a loop of known
length, and shows that two runs give identical counts.
Limits: the count is of instructions, not cycles (QEMU has no pipeline or memory timing); the
SysTick wrap handler adds 5 instructions to whichever layer is running every 2**24 ticks
(~5 million instructions); the measurement's own cost is measured (SG OVERHEAD) and subtracted.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from slimgen.firmware import toolchain as tcm
from slimgen.firmware.boards import Board
from slimgen.firmware.errors import FirmwareError, FirmwareFault, FirmwareTimeout

QEMU = "qemu-system-arm"
INPUTS_FILE = "sg_inputs.bin"  # the name main.c.j2 opens, relative to QEMU's working directory
EXIT_FAULT = 3


def icount_shift(clock_hz: int) -> int:
    """Smallest S with 2**S ns per instruction >= 2 SysTick periods.

    >>> icount_shift(25_000_000), icount_shift(32_000_000), icount_shift(16_000_000)
    (7, 6, 7)
    """
    shift = 0
    while (1 << shift) * clock_hz < 2 * 10**9:
        shift += 1
    return shift


def ticks_to_instructions(ticks: int, clock_hz: int, shift: int) -> int:
    """Exact conversion (see the module docstring); rounds half up."""
    q = Fraction(ticks * 10**9, clock_hz << shift)
    return int(q + Fraction(1, 2))


def qemu_command(board: Board, elf: Path) -> list[str]:
    if board.qemu is None:
        raise FirmwareError(f"board {board.name} is real hardware, not emulated; "
                            f"flash it with `slimgen flash` instead")
    return [
        tcm.find_tool(QEMU, tcm.APT_QEMU), "-M", board.qemu.machine,
        "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native",
        "-icount", f"shift={icount_shift(board.clock_hz)},sleep=off",
        "-kernel", str(elf),
    ]


@dataclass
class RunResult:
    board: str
    exit_code: int
    stdout: str
    outputs: np.ndarray  # (samples, output_bytes) int8
    statuses: list[int]  # sg_status per sample
    ticks: np.ndarray  # (samples, 1 + layers): whole inference, then each layer
    overhead_ticks: tuple[int, int]  # (layer pair, outer pair)
    instructions: np.ndarray  # same shape as ticks, overhead subtracted


_LINE = re.compile(r"^SG (\w+) ?(.*)$")


def _parse(stdout: str, output_bytes: int) -> tuple[list, list, list, tuple[int, int], int]:
    outs, statuses, ticks = {}, {}, {}
    overhead: tuple[int, int] = (0, 0)
    end = -1
    for line in stdout.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        kind, rest = m.group(1), m.group(2).split()
        if kind == "OUT":
            raw = bytes.fromhex(rest[1]) if len(rest) > 1 else b""
            if len(raw) != output_bytes:
                raise FirmwareError(f"firmware printed {len(raw)} output bytes for sample "
                                    f"{rest[0]}, the model has {output_bytes}")
            outs[int(rest[0])] = np.frombuffer(raw, dtype=np.int8)
        elif kind == "STATUS":
            statuses[int(rest[0])] = int(rest[1])
        elif kind == "TICKS":
            ticks[int(rest[0])] = [int(v) for v in rest[1:]]
        elif kind == "OVERHEAD":
            overhead = (int(rest[0]), int(rest[1]))
        elif kind == "END":
            end = int(rest[0])
    order = sorted(outs)
    return ([outs[i] for i in order], [statuses.get(i, 0) for i in order],
            [ticks.get(i, []) for i in order], overhead, end)


def _fault(stdout: str, elf: Path) -> FirmwareFault | None:
    m = re.search(r"SG FAULT pc=0x([0-9a-f]+)", stdout)
    if not m:
        return None
    pc = int(m.group(1), 16)
    try:
        where = tcm.addr2line(tcm.Toolchain.find(), elf, pc)
    except FirmwareError:
        where = ""
    line = next(ln for ln in stdout.splitlines() if "SG FAULT" in ln)
    return FirmwareFault(
        f"firmware HardFault at pc=0x{pc:08x}{' (' + where + ')' if where else ''}\n  {line}",
        pc=pc, output=stdout, where=where)


def run_firmware(elf: Path, board: Board, inputs_int8: np.ndarray, timeout: float = 120.0,
                 *, output_bytes: int, layers: int) -> RunResult:
    """Boots ``elf`` once, streams every sample of ``inputs_int8`` (samples, input_bytes).

    Raises FirmwareTimeout when QEMU has not exited after ``timeout`` seconds (a hang) and
    FirmwareFault when the firmware reports a HardFault (with the stacked PC and, when the ELF
    has debug info, the function and line).
    """
    elf = Path(elf).resolve()
    samples = np.ascontiguousarray(inputs_int8, dtype=np.int8)
    with tempfile.TemporaryDirectory(prefix="slimgen-qemu-") as tmp:
        samples.tofile(Path(tmp) / INPUTS_FILE)
        cmd = qemu_command(board, elf)
        try:
            # QEMU 7.2 writes the semihosting console to stderr; its own messages go there too.
            proc = subprocess.run(cmd, cwd=tmp, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            raise FirmwareTimeout(
                f"firmware on {board.name} did not finish within {timeout:g} s (hung?); "
                f"last output: {out.strip().splitlines()[-1] if out.strip() else '(none)'}",
                output=out) from None
    stdout = proc.stdout.decode(errors="replace")
    fault = _fault(stdout, elf)
    if fault is not None:
        raise fault
    outs, statuses, ticks, overhead, end = _parse(stdout, output_bytes)
    if "SG ERROR" in stdout or end < 0:
        raise FirmwareError(f"firmware on {board.name} stopped early (exit code "
                            f"{proc.returncode}):\n{stdout}")
    if end != len(samples) or len(outs) != len(samples):
        raise FirmwareError(f"firmware ran {end} sample(s), expected {len(samples)}; is the "
                            f"input size right?\n{stdout}")
    tick_arr = np.array(ticks, dtype=np.int64).reshape(len(samples), 1 + layers)
    shift = icount_shift(board.clock_hz)

    def insns(t: int) -> int:
        return ticks_to_instructions(t, board.clock_hz, shift)

    layer_oh, outer_oh = insns(overhead[0]), insns(overhead[1])
    instr = np.array([[insns(int(t)) - (outer_oh if j == 0 else layer_oh)
                       for j, t in enumerate(row)] for row in tick_arr], dtype=np.int64)
    return RunResult(
        board=board.name, exit_code=proc.returncode, stdout=stdout,
        outputs=np.stack(outs) if outs else np.zeros((0, output_bytes), np.int8),
        statuses=statuses, ticks=tick_arr, overhead_ticks=overhead,
        instructions=instr.reshape(len(samples), 1 + layers))


def run_on_board(out_dir: Path, x_int8: np.ndarray, expected_int8: np.ndarray, *,
                 timeout: float | None = None) -> dict:
    """Runs every sample through OUT/firmware in one QEMU boot and compares bit for bit.

    ``x_int8`` holds the samples as the C model reads them (any shape whose size is a multiple
    of the input bytes); ``expected_int8`` the host reference outputs, likewise. Returns the
    JSON-ready result (``bit_exact``, ``samples``, ``board``, ``instructions_per_inference``,
    ``per_layer``, ...). Hangs and HardFaults raise FirmwareTimeout / FirmwareFault.
    """
    import json

    from slimgen.firmware.boards import load_board
    from slimgen.firmware.build import ELF, FIRMWARE, read_model

    out_dir = Path(out_dir)
    fw_json = out_dir / FIRMWARE / "firmware.json"
    if not fw_json.is_file():
        raise FirmwareError(f"{out_dir} has no firmware; build it with "
                            "`slimgen build ... --target T --board B` first")
    figures = json.loads(fw_json.read_text())
    board = load_board(figures["board"])
    if not board.emulated:
        raise FirmwareError(f"{out_dir} holds firmware for {board.name}, a real board that QEMU "
                            f"cannot run; flash it with `slimgen flash {out_dir}`, or build "
                            "for an emulated board (slimgen build ... --board mps2-an386)")
    model = read_model(out_dir)
    x = np.asarray(x_int8)
    expected = np.asarray(expected_int8)
    if x.dtype != np.int8 or expected.dtype != np.int8:
        raise FirmwareError(f"inputs and expected outputs must be int8 (got {x.dtype}, "
                            f"{expected.dtype})")
    if x.size == 0 or x.size % model.input_bytes:
        raise FirmwareError(f"inputs hold {x.size} values; the model reads "
                            f"{model.input_bytes} per sample")
    x = x.reshape(-1, model.input_bytes)
    if expected.size != len(x) * model.output_bytes:
        raise FirmwareError(f"expected outputs hold {expected.size} values; {len(x)} samples "
                            f"of {model.output_bytes} bytes need {len(x) * model.output_bytes}")
    expected = expected.reshape(len(x), model.output_bytes)
    if not figures.get("inputs", "").startswith("semihosting"):
        raise FirmwareError("this firmware embeds its inputs; rebuild it without inputs to "
                            "stream samples from the host")
    if timeout is None:
        timeout = 60.0 + 2.0 * len(x)
    res = run_firmware(out_dir / FIRMWARE / ELF, board, x, timeout,
                       output_bytes=model.output_bytes, layers=len(model.layers))
    equal = res.outputs == expected
    mismatches = []
    for i in np.flatnonzero(~equal.all(axis=1))[:10]:
        j = int(np.flatnonzero(~equal[i])[0])
        mismatches.append({"sample": int(i), "index": j, "expected": int(expected[i, j]),
                           "got": int(res.outputs[i, j]),
                           "differing": int((~equal[i]).sum())})
    bad_status = [{"sample": i, "status": s} for i, s in enumerate(res.statuses) if s != 0]
    per_layer = []
    for k, layer in enumerate(model.layers):
        per_layer.append({
            "name": layer.get("name", f"L{k}"),
            "op": layer.get("op", ""),
            "macs": layer.get("macs", 0),
            "instructions": int(res.instructions[:, 1 + k].max()),
        })
    total = res.instructions[:, 0]
    return {
        "bit_exact": bool(equal.all()) and not bad_status,
        "samples": len(x),
        "board": board.name,
        "target": figures.get("target"),
        "mismatched_samples": int((~equal.all(axis=1)).sum()),
        "mismatches": mismatches,
        "status_errors": bad_status,
        "instructions_per_inference": int(total.max()),
        "instructions_min": int(total.min()),
        "per_layer": per_layer,
        "cycles": None,  # QEMU counts instructions only; cycles come from DWT on hardware
        "counting": f"SysTick under qemu -icount shift={icount_shift(board.clock_hz)}",
        "exit_code": res.exit_code,
    }
