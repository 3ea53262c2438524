"""Every kernel source compiles with slimgen's warning set as errors, on the host compilers (also
with the DSP path emulated), for Cortex-M0+ (portable path: no DSP, no FPU), for the DSP cores
Cortex-M4, M7 and M33, and for Cortex-M55 (DSP + Helium), with checks compiled in and out."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from slimgen import paths
from slimgen.build.host import WARNING_FLAGS, kernel_sources

TOOLCHAINS = {
    "gcc": ["gcc", "-O2"],
    "clang": ["clang", "-O2"],
    "cortex-m4": [
        "arm-none-eabi-gcc",
        "-O2",
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
    ],
    "cortex-m0plus": ["arm-none-eabi-gcc", "-Os", "-mcpu=cortex-m0plus", "-mthumb"],
    "cortex-m7": ["arm-none-eabi-gcc", "-O3", "-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard",
                  "-mfpu=fpv5-d16", "-DSG_TUNE_CORTEX_M7"],  # as firmware/targets.py builds for M7
    "cortex-m33": ["arm-none-eabi-gcc", "-O3", "-mcpu=cortex-m33", "-mthumb"],
    "cortex-m55": ["arm-none-eabi-gcc", "-O3", "-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"],
    "gcc-dsp-emulated": ["gcc", "-O2", "-DSG_EMULATE_DSP"],
    "clang-dsp-emulated": ["clang", "-O2", "-DSG_EMULATE_DSP"],
}

#: Library symbols the kernels may pull in on Cortex-M0+: 64-bit multiply, integer division,
#: count leading zeros. Anything else (malloc, printf, soft-float __aeabi_f*/__aeabi_d*) means a
#: kernel broke the house rules.
ALLOWED_UNDEFINED_M0 = {
    "__aeabi_lmul",
    "__aeabi_idiv",
    "__aeabi_uidiv",
    "__aeabi_idivmod",
    "__aeabi_ldivmod",
    "__aeabi_uldivmod",
    "__clzsi2",
    "memcpy",
    "memset",
}


def compile_objects(toolchain: str, checks: int, out_dir: Path) -> list[Path]:
    cc, *flags = TOOLCHAINS[toolchain]
    if shutil.which(cc) is None:
        if cc == "clang":
            pytest.skip("clang is not installed")
        pytest.fail(f"{cc} is not installed; the kernel warning check needs it")
    command = [
        cc,
        *flags,
        "-std=c99",
        *WARNING_FLAGS,
        f"-DSG_CHECKS={checks}",
        f"-I{paths.kernels_dir() / 'include'}",
        "-c",
        *map(str, kernel_sources()),
    ]
    result = subprocess.run(command, cwd=out_dir, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"
    objects = sorted(out_dir.glob("*.o"))
    assert len(objects) == len(kernel_sources())
    return objects


#: Toolchains also built with SG_CHECKS=0 (checks compiled out changes no ISA path; one host,
#: one DSP and one portable core cover it and keep the test's compile count down).
CHECKS_OFF = ("gcc", "cortex-m4", "cortex-m0plus")
CASES = [(t, 1) for t in sorted(TOOLCHAINS)] + [(t, 0) for t in CHECKS_OFF]


@pytest.mark.parametrize("toolchain, checks", CASES,
                         ids=[f"{t}-SG_CHECKS={c}" for t, c in CASES])
def test_kernels_compile_without_warnings(tmp_path: Path, toolchain: str, checks: int) -> None:
    compile_objects(toolchain, checks, tmp_path)


def test_kernels_need_no_heap_stdio_or_float_on_cortex_m0plus(tmp_path: Path) -> None:
    """Soft-float M0+ turns any float arithmetic into an __aeabi_f*/__aeabi_d* call, so the
    undefined symbols list every run-time dependency the kernels have."""
    objects = compile_objects("cortex-m0plus", 1, tmp_path)
    result = subprocess.run(
        ["arm-none-eabi-nm", "--undefined-only", "--format=just-symbols", *map(str, objects)],
        capture_output=True,
        text=True,
        check=True,
    )
    undefined = {
        line.strip()
        for line in result.stdout.splitlines()
        if line.strip() and not line.endswith(":")
    }
    assert undefined <= ALLOWED_UNDEFINED_M0, sorted(undefined - ALLOWED_UNDEFINED_M0)
