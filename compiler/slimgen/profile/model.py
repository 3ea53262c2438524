"""``slimgen profile OUT``: exact instructions and estimated cycles per layer of a build.

The build folder's model.c, weights.c and kernels are compiled for the core with the flags the
firmware uses (firmware/toolchain.py CFLAGS, firmware/targets.py cpu_flags on the core's usual
FPU), with no profiling hooks: the code is the firmware's code. One inference runs in Unicorn
(QEMU mps3-an547 for the Cortex-M55) on a deterministic input; each layer is the window of its
kernel call (profile/engine.py), cycles come from profile/cycles.py. The output is compared bit
for bit with the integer reference, so a profile of wrong code cannot pass unnoticed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from slimgen.errors import SlimgenError
from slimgen.profile.build import FIRMWARE_CFLAGS, build_image
from slimgen.profile.cores import Core, get_core
from slimgen.profile.cycles import NOTE, CycleEstimate, estimate_cycles

INPUT_SEED = 0
INPUT_NOTE = f"fixed pattern: uniform random int8, numpy default_rng({INPUT_SEED})"


def fixed_input(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(INPUT_SEED).integers(-128, 128, shape).astype(np.int8)


def _check_tools(core: Core) -> None:
    from slimgen.firmware import toolchain as tcm

    tcm.find_tool("arm-none-eabi-gcc", tcm.APT_TOOLCHAIN)
    if core.uc_cpu is None:
        tcm.find_tool("qemu-system-arm", tcm.APT_QEMU)
    else:
        try:
            import unicorn  # noqa: F401
        except ImportError:
            raise SlimgenError("slimgen profile needs the unicorn emulator, which is not "
                               "installed.", "pip install 'unicorn>=2.1.4,<2.2'") from None


def profile_build(out: Path, core_name: str = "m4", *, write_report: bool = True,
                  x: np.ndarray | None = None, input_note: str = "") -> dict[str, Any]:
    """Profiles one inference of build folder ``out`` on ``core_name`` (see module docstring).

    ``x``: one int8 sample in the model's (NHWC) layout instead of the fixed pattern.
    """
    from slimgen import api
    from slimgen.ir import interp

    core = get_core(core_name)
    out = Path(out)
    _, qg, rep = api.load_built(out)
    _check_tools(core)
    layers = [lyr for lyr in rep["layers"] if lyr.get("kernel")]
    if x is None:
        x, input_note = fixed_input(qg.inputs[0].shape), INPUT_NOTE
    x = np.asarray(x, dtype=np.int8).reshape(qg.inputs[0].shape)
    expected = interp.run(qg, x[None]).reshape(-1)
    flags = core.firmware_flags
    with tempfile.TemporaryDirectory(prefix="slimgen-profile-") as tmp:
        if core.uc_cpu is None:
            from slimgen.profile.qemu_count import run_inference_qemu

            inf, elf = run_inference_qemu(out, Path(tmp) / "qemu", core, x, FIRMWARE_CFLAGS,
                                          flags)
            counting = "QEMU mps3-an547 block log (-d exec,nochain,in_asm)"
        else:
            from slimgen.profile.run import run_inference

            image = build_image(out, Path(tmp) / "build", flags, FIRMWARE_CFLAGS)
            inf, elf = run_inference(image, core, x), image.elf
            counting = f"Unicorn {core.uc_cpu.removeprefix('UC_CPU_ARM_')} basic-block hook"
        calls = inf.calls
        if len(calls.windows) != len(layers):
            raise SlimgenError(
                f"{out}: model.c made {len(calls.windows)} kernel calls, report.json lists "
                f"{len(layers)} layers with a kernel; the folder is damaged or was edited.",
                "Rebuild it with 'slimgen build'.")
        per_layer = []
        method = ""
        for lyr, w, fn in zip(layers, calls.windows, inf.kernels):
            c = estimate_cycles(elf, core, w.blocks, calls)
            per_layer.append({
                "name": lyr["name"], "op": lyr["op"], "kernel": fn, "macs": int(lyr["macs"]),
                "instructions": calls.count(w), "cycles_est": c.nominal, "cycles_low": c.low,
                "cycles_high": c.high})
            method = c.method
        glue_c = (estimate_cycles(elf, core, calls.glue.blocks, calls) if calls.glue.blocks
                  else CycleEstimate(0, 0, 0, ""))
        method = method or glue_c.method
    total_c = sum(lyr["cycles_est"] for lyr in per_layer) + glue_c.nominal
    macs = sum(lyr["macs"] for lyr in per_layer)
    result = {
        "core": core.name,
        "target": core.target,
        "instructions_per_inference": calls.total,
        "cycles_est_per_inference": total_c,
        "cycles_low_per_inference": sum(lyr["cycles_low"] for lyr in per_layer) + glue_c.low,
        "cycles_high_per_inference": sum(lyr["cycles_high"] for lyr in per_layer) + glue_c.high,
        "glue_instructions": calls.count(calls.glue),
        "macs_per_inference": macs,
        "macs_per_cycle_est": round(macs / total_c, 3) if total_c else None,
        "cycle_model": method,
        "note": NOTE,
        "counting": counting,
        "input": input_note or "int8 sample given by the caller",
        "bit_exact": bool(np.array_equal(inf.output, expected)),
        "compiler_flags": [*flags, *FIRMWARE_CFLAGS],
        "per_layer": per_layer,
    }
    if write_report:
        _write_report(out, result)
    return result


def _write_report(out: Path, result: dict[str, Any]) -> None:
    """Adds ``profile`` to OUT/report.json, atomically (a temp file renamed over it)."""
    path = out / "report.json"
    rep = json.loads(path.read_text())
    rep["profile"] = result
    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".json", dir=out)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(rep, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
