"""The cores ``slimgen profile`` knows: emulator CPU model, compiler flags, cycle model."""

from __future__ import annotations

from dataclasses import dataclass

from slimgen.errors import SlimgenError
from slimgen.firmware.targets import TARGETS, cpu_flags


@dataclass(frozen=True)
class Core:
    name: str  # --core value
    target: str  # slimgen --target / -mcpu name
    uc_cpu: str | None  # unicorn.arm_const name; None: Unicorn cannot run it (M55: no MVE)
    # The flags of ../shared/reference/cmsis-nn-kernels.md (benchmarks/kernels.py).
    bench_flags: tuple[str, ...]
    llvm_mca: str | None  # llvm-mca -mcpu for the cycle estimate; None: the table model

    @property
    def objdump_arch(self) -> str | None:
        return "armv8.1-m.main" if self.name == "m55" else None

    @property
    def firmware_flags(self) -> list[str]:
        """What ``slimgen build --target`` compiles with, on the core's usual FPU."""
        t = TARGETS[self.target]
        return cpu_flags(t, t.fpus[0] if t.fpus else "none")


CORES: dict[str, Core] = {
    c.name: c
    for c in (
        # Unicorn has no M0+ model; the Cortex-M0 runs the same Armv6-M instructions.
        Core("m0plus", "cortex-m0plus", "UC_CPU_ARM_CORTEX_M0",
             ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"), None),
        Core("m3", "cortex-m3", "UC_CPU_ARM_CORTEX_M3",
             ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"), None),
        Core("m4", "cortex-m4", "UC_CPU_ARM_CORTEX_M4",
             ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"), None),
        Core("m7", "cortex-m7", "UC_CPU_ARM_CORTEX_M7",
             ("-mcpu=cortex-m7", "-mthumb", "-DSG_TUNE_CORTEX_M7"), "cortex-m7"),
        Core("m33", "cortex-m33", "UC_CPU_ARM_CORTEX_M33", ("-mcpu=cortex-m33", "-mthumb"),
             None),
        # GCC defines __ARM_FEATURE_MVE only with a hard or softfp float ABI; the reference's
        # M55 figures are CMSIS-NN's MVE path, so the benchmark compiles with Helium too.
        Core("m55", "cortex-m55", None, ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
             "cortex-m55"),
    )
}


def get_core(name: str) -> Core:
    key = name.strip().lower().replace("cortex-", "").replace("+", "plus")
    if key not in CORES:
        raise SlimgenError(f"unknown core '{name}'",
                           f"use one of: {', '.join(CORES)}")
    return CORES[key]


def uc_cpu_model(core: Core) -> int:
    from unicorn import arm_const

    assert core.uc_cpu is not None
    return int(getattr(arm_const, core.uc_cpu))
