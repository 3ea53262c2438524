"""Compile a generated model (model.c, weights.c, kernels) into an ELF for the emulator.

The image has no startup code: Unicorn loads each segment at its run-time address and Python
calls ``<prefix>_run`` directly. Code sits in "flash" at 0, everything else (constants, data,
bss: weights, activations, arena) in RAM at 0x20000000; the emulator has no wait states either
way. The harness only declares the input, output and arena buffers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from slimgen.firmware import toolchain as tcm
from slimgen.profile.engine import FLASH_BASE, FLASH_SIZE, RAM_BASE, RAM_SIZE

LINK_SCRIPT = f"""/* slimgen profile image: code in flash, all data in RAM (written by Python). */
MEMORY
{{
    FLASH (rx)  : ORIGIN = 0x{FLASH_BASE:08x}, LENGTH = 0x{FLASH_SIZE - 0x1000:x}
    RAM   (rwx) : ORIGIN = 0x{RAM_BASE:08x}, LENGTH = 0x{RAM_SIZE - 0x1000:x}
}}
SECTIONS
{{
    .text : {{ *(.text .text.*) }} > FLASH
    .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
    .rodata : {{ *(.rodata .rodata.*) }} > RAM
    .data : {{ *(.data .data.*) }} > RAM
    .bss : {{ *(.bss .bss.* COMMON) KEEP(*(.sg_prof)) }} > RAM
}}
"""

HARNESS = """/* slimgen profile harness: the buffers {p}_run() reads and writes. */
#include "model.h"

/* Only Python reads and writes these: a KEEP section so --gc-sections leaves them. */
#define SG_PROF_BUF __attribute__((section(".sg_prof"), aligned(16)))
int8_t sg_prof_input[{P}_INPUT_BYTES] SG_PROF_BUF;
int8_t sg_prof_output[{P}_OUTPUT_BYTES] SG_PROF_BUF;
uint8_t sg_prof_arena[{P}_ARENA_BYTES + 16] SG_PROF_BUF;
"""

# Firmware flags without the outputs profiling does not need (stack usage, call graph).
FIRMWARE_CFLAGS = tuple(f for f in tcm.CFLAGS if f not in ("-fstack-usage", "-fcallgraph-info=su"))
# The flags of ../shared/reference/cmsis-nn-kernels.md: -O3 plus the core flags.
BENCH_CFLAGS = ("-std=c99", "-O3", *tcm.WARNINGS, "-ffunction-sections", "-fdata-sections")


@dataclass(frozen=True)
class Image:
    elf: Path
    prefix: str
    input_bytes: int
    output_bytes: int
    arena_bytes: int


def model_prefix(model_c: str) -> str:
    m = re.search(r"^sg_status (\w+)_run\(", model_c, re.MULTILINE)
    if m is None:
        raise ValueError("model.c has no <prefix>_run function")
    return m.group(1)


def _macro(text: str, name: str) -> int:
    m = re.search(rf"^#define {name} (-?\d+)", text, re.MULTILINE)
    if m is None:
        raise ValueError(f"model.h does not define {name}")
    return int(m.group(1))


def model_sources(model_dir: Path) -> list[Path]:
    """model.c, weights.c and every kernel source a build folder holds."""
    return [model_dir / "model.c", model_dir / "weights.c",
            *sorted((model_dir / "kernels" / "src").rglob("*.c"))]


def model_includes(model_dir: Path) -> tuple[str, ...]:
    kdir = model_dir / "kernels"
    return (f"-I{model_dir}", f"-I{kdir / 'include'}", f"-I{kdir / 'src'}")


def compile_model(tc: tcm.Toolchain, sources: list[Path], work: Path, flags: tuple[str, ...],
                  jobs: int = 2) -> list[tcm.Compile]:
    """Compiles each source into work/obj; returns the units (their .obj paths link)."""
    units = [tcm.Compile(str(s), f"obj/{i:03d}_{s.stem}.o", flags)
             for i, s in enumerate(sources)]
    tcm.compile_all(tc, units, work, jobs)
    return units


def build_image(model_dir: Path, work: Path, core_flags: list[str], cflags: tuple[str, ...],
                jobs: int = 2, defines: tuple[str, ...] = ()) -> Image:
    """Compiles ``model_dir`` (a slimgen output folder, or the same files) into ``work``."""
    model_dir, work = Path(model_dir).resolve(), Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    tc = tcm.Toolchain.find()
    prefix = model_prefix((model_dir / "model.c").read_text())
    header = (model_dir / "model.h").read_text()
    P = prefix.upper()
    (work / "sg_prof_main.c").write_text(HARNESS.format(p=prefix, P=P))
    (work / "link.ld").write_text(LINK_SCRIPT)
    sources = [work / "sg_prof_main.c", *model_sources(model_dir)]
    units = compile_model(tc, sources, work, (*core_flags, *cflags, *defines,
                                              *model_includes(model_dir)), jobs)
    tcm.link(tc, [u.obj for u in units], "profile.elf",
             [*core_flags, "-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections",
              "-Wl,--no-warn-rwx-segments", f"-Wl,-e,{prefix}_run", "-Tlink.ld"], work)
    return Image(work / "profile.elf", prefix, _macro(header, f"{P}_INPUT_BYTES"),
                 _macro(header, f"{P}_OUTPUT_BYTES"), _macro(header, f"{P}_ARENA_BYTES"))
