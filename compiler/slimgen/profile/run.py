"""One inference of a compiled profile image in Unicorn: outputs, status, per-layer profiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimgen.profile.build import Image
from slimgen.profile.cores import Core, uc_cpu_model
from slimgen.profile.engine import CallResult, EmulationError, Machine


@dataclass
class Inference:
    output: np.ndarray  # int8
    status: int  # sg_status of <prefix>_run
    calls: CallResult  # windows = layers, in order
    kernels: list[str]  # function each window called


def run_inference(image: Image, core: Core, x: np.ndarray) -> Inference:
    x = np.ascontiguousarray(x, dtype=np.int8).reshape(-1)
    if x.size != image.input_bytes:
        raise ValueError(f"input has {x.size} values, the model reads {image.input_bytes}")
    m = Machine(image.elf, uc_cpu_model(core))
    m.write("sg_prof_input", x.tobytes())
    res = m.call(f"{image.prefix}_run", m.addr("sg_prof_input"), m.addr("sg_prof_output"),
                 (m.addr("sg_prof_arena") + 15) & ~15)
    status = res.r0 - (1 << 32) if res.r0 >= 1 << 31 else res.r0
    out = np.frombuffer(m.read("sg_prof_output", image.output_bytes), dtype=np.int8).copy()
    if status != 0:
        raise EmulationError(f"{image.prefix}_run returned status {status} on {core.name}")
    return Inference(out, status, res, [m.function_at(a) for a in res.callees])
