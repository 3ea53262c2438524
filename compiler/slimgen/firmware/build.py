"""``build_firmware``: a generated model folder (OUT) in, ``OUT/firmware/`` out.

Steps, in order:
1. load the board and check the target runs on its core;
2. refuse, before compiling, a model that cannot fit (weights + code vs flash, arena + stack
   vs RAM), with the numbers and by how much;
3. write the firmware sources (main.c from templates/firmware, a copy of boards/common and the
   board folder), a Makefile and a CMakeLists.txt that rebuild the same thing outside slimgen;
4. compile each source with arm-none-eabi-gcc, link, objcopy to .bin and .hex;
5. check every section with ``size -A`` against the board memory map and estimate the stack.
The figures are returned (and written to ``OUT/firmware/firmware.json``) for report.json.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

import slimgen
from slimgen import paths
from slimgen.firmware import toolchain as tcm
from slimgen.firmware.boards import Board, common_dir, load_board
from slimgen.firmware.errors import FirmwareError
from slimgen.firmware.images import boot2_crc_ok, to_uf2
from slimgen.firmware.stack import estimate
from slimgen.firmware.targets import Target, check_target, cpu_flags, get_target, target_for_core

FIRMWARE = "firmware"
ELF = "firmware.elf"
INPUTS_FILE = "sg_inputs.bin"  # streamed over semihosting, relative to QEMU's working directory

# Before compiling, code size is estimated (the linker has the final word afterwards):
# startup, console, counter and main; each kernel source file; each layer's call site and
# params struct. The numbers are round upper bounds of what -O2 produces for them.
CODE_BASE_BYTES = 3 * 1024
CODE_PER_KERNEL_FILE_BYTES = 2 * 1024
CODE_PER_LAYER_BYTES = 128
STATIC_RAM_BYTES = 512  # console line buffer, counter state, profile table header

_NON_ALLOC = (".debug", ".comment", ".ARM.attributes", ".stab")


@dataclass(frozen=True)
class ModelInfo:
    name: str  # report.json name, lower case: the C prefix
    input_bytes: int
    output_bytes: int
    input_zero_point: int
    arena_bytes: int
    weight_bytes: int
    layers: list[dict]
    kernel_sources: list[Path]

    @property
    def upper(self) -> str:
        return self.name.upper()


def read_model(out_dir: Path) -> ModelInfo:
    report_path = out_dir / "report.json"
    for needed in ("model.h", "model.c", "weights.c", "report.json"):
        if not (out_dir / needed).is_file():
            raise FirmwareError(f"{out_dir} is not a slimgen output folder: {needed} is missing "
                                "(run `slimgen build` first)")
    report = json.loads(report_path.read_text())
    try:
        return ModelInfo(
            name=str(report["name"]).lower(),
            input_bytes=int(report["input"]["bytes"]),
            output_bytes=int(report["output"]["bytes"]),
            input_zero_point=int(report["input"].get("zero_point", 0)),
            arena_bytes=int(report["arena_bytes"]),
            weight_bytes=int(report["weight_bytes"]),
            layers=list(report["layers"]),
            kernel_sources=sorted((out_dir / "kernels" / "src").rglob("*.c")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise FirmwareError(f"{report_path}: missing or malformed field {e}") from None


@dataclass(frozen=True)
class Fit:
    """Memory a model needs on a board, estimated before compiling."""

    board: str
    weight_bytes: int
    code_bytes: int  # estimate: CODE_* constants
    embedded_input_bytes: int
    flash_need: int
    flash_size: int
    arena_bytes: int
    io_bytes: int  # input + output buffers
    stack_bytes: int
    static_bytes: int
    ram_need: int
    ram_size: int

    def problems(self) -> list[str]:
        out = []
        if self.flash_need > self.flash_size:
            out.append(
                f"flash: weights {self.weight_bytes} B + code ~{self.code_bytes} B"
                + (f" + embedded inputs {self.embedded_input_bytes} B"
                   if self.embedded_input_bytes else "")
                + f" = {self.flash_need} B > {self.flash_size} B of flash, "
                f"over by {self.flash_need - self.flash_size} B")
        if self.ram_need > self.ram_size:
            out.append(
                f"RAM: arena {self.arena_bytes} B + input/output {self.io_bytes} B + stack "
                f"{self.stack_bytes} B + static ~{self.static_bytes} B = {self.ram_need} B > "
                f"{self.ram_size} B of RAM, over by {self.ram_need - self.ram_size} B")
        return out


def estimate_fit(board: Board, *, weight_bytes: int, arena_bytes: int, input_bytes: int,
                 output_bytes: int, layers: int, kernel_files: int,
                 embedded_input_bytes: int = 0) -> Fit:
    code = (CODE_BASE_BYTES + CODE_PER_KERNEL_FILE_BYTES * kernel_files
            + CODE_PER_LAYER_BYTES * layers)
    static = STATIC_RAM_BYTES + 8 * layers
    io = input_bytes + output_bytes
    return Fit(
        board=board.name, weight_bytes=weight_bytes, code_bytes=code,
        embedded_input_bytes=embedded_input_bytes,
        flash_need=weight_bytes + code + embedded_input_bytes, flash_size=board.flash.size,
        arena_bytes=arena_bytes, io_bytes=io, stack_bytes=board.stack_bytes, static_bytes=static,
        ram_need=arena_bytes + io + board.stack_bytes + static, ram_size=board.ram.size)


def fit_check(model: ModelInfo, board: Board, embedded_input_bytes: int = 0) -> dict:
    """Refuses a model that cannot fit the board, before anything is compiled."""
    fit = estimate_fit(board, weight_bytes=model.weight_bytes, arena_bytes=model.arena_bytes,
                       input_bytes=model.input_bytes, output_bytes=model.output_bytes,
                       layers=len(model.layers), kernel_files=len(model.kernel_sources),
                       embedded_input_bytes=embedded_input_bytes)
    problems = fit.problems()
    if problems:
        raise FirmwareError(
            f"model '{model.name}' does not fit board {board.name}:\n  " + "\n  ".join(problems)
            + "\n  Pick a board with more memory, or shrink the model (prune, smaller layers).")
    return {"flash_estimate": fit.flash_need, "ram_estimate": fit.ram_need}


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(paths.templates_dir() / "firmware"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Plan:
    """Every path and flag of one firmware build, shared by Python, Makefile and CMake."""

    cpu: list[str]
    defines: list[str]
    includes: list[str]
    cflags: list[str]
    asflags: list[str]
    ldflags: list[str]
    units: list[tcm.Compile]


def _object_for(src: str) -> str:
    rel = src[3:] if src.startswith("../") else src
    prefix = "model/" if src.startswith("../") else ""
    return "build/" + prefix + rel.rsplit(".", 1)[0] + ".o"


def _plan(fw: Path, model: ModelInfo, board: Board, target: Target) -> Plan:
    cpu = cpu_flags(target, board.fpu)
    defines = {"dwt": ["-DSG_COUNTER_DWT"], "systick": ["-DSG_COUNTER_SYSTICK"], "none": []}[
        board.counter]
    if board.counter == "dwt" and board.core == "cortex-m7":
        defines.append("-DSG_DWT_UNLOCK")
    if board.console == "uart":
        defines.append("-DSG_CONSOLE_UART")
    includes = ["-I.", "-Iboard", "-I..", "-I../kernels/include", "-I../kernels/src"]
    cflags = [*cpu, *tcm.CFLAGS, *defines, *includes]
    asflags = [*cpu, *tcm.ASFLAGS, *defines, "-Iboard"]
    sources = (
        ["main.c"]
        + [f"board/{p.name}" for p in sorted(common_dir().glob("*.c"))]
        + [f"board/{p.name}" for p in board.sources]
        + ["../model.c", "../weights.c"]
        + [f"../{p.relative_to(fw.parent).as_posix()}" for p in model.kernel_sources]
    )
    units = []
    for src in sources:
        if src.endswith(".S"):
            units.append(tcm.Compile(src, _object_for(src), tuple(asflags)))
        else:
            profile = ("-include", "sg_profile.h") if src == "../model.c" else ()
            units.append(tcm.Compile(src, _object_for(src), (*cflags, *profile)))
    ldflags = [*cpu, *tcm.LDFLAGS, "-Tboard/memory.ld", "-Lboard",
               f"-Wl,--defsym=__stack_size={board.stack_bytes}", "-Wl,-Map=firmware.map"]
    return Plan(cpu, defines, includes, cflags, asflags, ldflags, units)


def _write_sources(fw: Path, model: ModelInfo, board: Board, target: Target, plan: Plan,
                   inputs: np.ndarray | None) -> None:
    if fw.exists():
        shutil.rmtree(fw)
    (fw / "board").mkdir(parents=True)
    for p in sorted(common_dir().iterdir()):
        if p.suffix in (".c", ".h", ".ld"):
            shutil.copy2(p, fw / "board" / p.name)
    for p in (board.directory / "memory.ld", board.directory / "board.toml", *board.sources):
        shutil.copy2(p, fw / "board" / p.name)
    env = _env()
    ctx = {
        "version": slimgen.__version__,
        "model": model.name,
        "prefix": model.name,
        "upper": model.upper,
        "board": board.name,
        "target": target.name,
        "inputs_embedded": inputs is not None,
        "n_embedded": 0 if inputs is None else len(inputs),
        "inputs_file": INPUTS_FILE,
    }
    (fw / "main.c").write_text(env.get_template("main.c.j2").render(ctx))
    if inputs is not None:
        rows = [", ".join(str(int(v)) for v in row) for row in inputs]
        (fw / "inputs.h").write_text(env.get_template("inputs.h.j2").render(ctx, rows=rows))
    units = [{"src": u.src, "obj": u.obj, "asm": u.src.endswith(".S"),
              "profile": "-include" in u.flags} for u in plan.units]
    build_ctx = dict(ctx, cpu=plan.cpu, cflags=list(tcm.CFLAGS), asflags=list(tcm.ASFLAGS),
                     defines=plan.defines, includes=plan.includes, ldflags=plan.ldflags,
                     linker_flags=list(tcm.LDFLAGS), stack_bytes=board.stack_bytes, units=units)
    (fw / "Makefile").write_text(env.get_template("Makefile.j2").render(build_ctx))
    (fw / "CMakeLists.txt").write_text(env.get_template("CMakeLists.txt.j2").render(build_ctx))


def _embedded_inputs(model: ModelInfo, board: Board,
                     inputs: np.ndarray | None) -> np.ndarray | None:
    """Hardware boards carry their samples in flash; emulated ones stream them (semihosting)."""
    if inputs is not None:
        arr = np.asarray(inputs)
        if arr.dtype != np.int8:
            raise FirmwareError(f"inputs must be int8, got {arr.dtype}")
        if arr.size % model.input_bytes:
            raise FirmwareError(f"inputs hold {arr.size} values, not a multiple of the model's "
                                f"{model.input_bytes} input bytes")
        return arr.reshape(-1, model.input_bytes)
    if board.emulated:
        return None
    return np.full((1, model.input_bytes), model.input_zero_point, dtype=np.int8)


def build_firmware(out_dir: Path, target: str | None, board: str, *,
                   inputs: np.ndarray | None = None, jobs: int = 2,
                   keep_objects: bool = False) -> dict:
    """Builds ``OUT/firmware/`` and returns its size figures (merge them into report.json).

    ``target`` None means the board's own core. ``inputs`` (int8, any shape whose size is a
    multiple of the input bytes) embeds samples in the firmware; by default emulated boards
    stream samples from the host at run time and hardware boards embed one sample filled with
    the input zero point. Objects (``firmware/build/``) are deleted afterwards unless
    ``keep_objects``; the Makefile rebuilds them.
    """
    out_dir = Path(out_dir).resolve()
    brd = load_board(board)
    tgt = get_target(target) if target else target_for_core(brd.core)
    check_target(tgt, brd.name, brd.core, brd.fpu)
    model = read_model(out_dir)
    embedded = _embedded_inputs(model, brd, inputs)
    estimates = fit_check(model, brd, 0 if embedded is None else embedded.size)
    tc = tcm.Toolchain.find()

    fw = out_dir / FIRMWARE
    plan = _plan(fw, model, brd, tgt)
    _write_sources(fw, model, brd, tgt, plan, embedded)
    tcm.compile_all(tc, plan.units, fw, jobs)
    tcm.link(tc, [u.obj for u in plan.units], ELF, plan.ldflags, fw)
    tcm.objcopy(tc, ELF, "firmware.bin", "binary", fw)
    tcm.objcopy(tc, ELF, "firmware.hex", "ihex", fw)

    _finish_image(fw, brd)
    figures = _figures(tc, fw, brd, tgt, model, plan)
    figures.update(estimates)
    figures["inputs"] = "semihosting" if embedded is None else f"embedded:{len(embedded)}"
    (fw / "firmware.json").write_text(json.dumps(figures, indent=2) + "\n")
    if not keep_objects:
        shutil.rmtree(fw / "build")
    return figures


def _finish_image(fw: Path, board: Board) -> None:
    image = (fw / "firmware.bin").read_bytes()
    if board.has_boot2:
        ok, want = boot2_crc_ok(image)
        if not ok:
            raise FirmwareError(
                f"boards/{board.name}/boot2.S: the boot ROM would reject it, its CRC word is "
                f"wrong; set SG_BOOT2_CRC to 0x{want:08x}")
    if board.uf2_family is not None:
        (fw / "firmware.uf2").write_bytes(to_uf2(image, board.flash.origin, board.uf2_family))


def _figures(tc: tcm.Toolchain, fw: Path, board: Board, target: Target, model: ModelInfo,
             plan: Plan) -> dict:
    sections = [s for s in tcm.section_sizes(tc, fw / ELF)
                if s.size > 0 and not s.name.startswith(_NON_ALLOC)]
    outside = [s for s in sections
               if not (board.flash.holds(s.addr, s.size) or board.ram.holds(s.addr, s.size))]
    if outside:
        raise FirmwareError(
            f"sections outside the memory map of {board.name}: "
            + ", ".join(f"{s.name} [0x{s.addr:08x}, +{s.size}]" for s in outside))
    in_flash = [s for s in sections if board.flash.holds(s.addr, s.size)]
    by_name = {s.name: s.size for s in sections}
    text = sum(s.size for s in in_flash)
    data = by_name.get(".data", 0)
    bss = by_name.get(".bss", 0)
    stack = by_name.get(".stack", 0)
    fpu_frame = 104 if board.fpu != "none" else 32  # stacked registers, with or without S0-S15
    est = estimate(sorted(fw.glob("build/**/*.ci")), fpu_frame)
    flash_used = text + data
    ram_used = stack + data + bss
    if est.bytes > stack:
        raise FirmwareError(
            f"estimated stack {est.bytes} B exceeds the {stack} B reserved on {board.name} "
            f"(deepest path: {' -> '.join(est.main_path)}); raise stack_bytes in "
            f"boards/{board.name}/board.toml")
    return {
        "board": board.name,
        "target": target.name,
        "model": model.name,
        "elf": f"{FIRMWARE}/{ELF}",
        "text": text,
        "data": data,
        "bss": bss,
        "stack_reserved": stack,
        "stack_estimate": est.bytes,
        "stack_path": est.main_path,
        "stack_unknown": est.unknown,
        "flash_used": flash_used,
        "flash_size": board.flash.size,
        "flash_free": board.flash.size - flash_used,
        "ram_used": ram_used,
        "ram_size": board.ram.size,
        "ram_free": board.ram.size - ram_used,
        "sections": [{"name": s.name, "size": s.size, "addr": s.addr} for s in sections],
    }


def merge_into_report(out_dir: Path, figures: dict) -> None:
    """Adds the figures under ``"firmware"`` in OUT/report.json."""
    path = Path(out_dir) / "report.json"
    report = json.loads(path.read_text())
    report["firmware"] = figures
    path.write_text(json.dumps(report, indent=2) + "\n")
