"""The five layer shapes of ../shared/reference/cmsis-nn-kernels.md, built as slimgen builds them.

Each shape becomes a one-node quantized graph with the reference's quantization setup (per-channel
Q31 multipliers in [2^30, 2^31), shifts -7..-11, per-tensor for FC, input offset 7, output offset
-5, activation range [-128, 127], int32 bias +-(3k..20k), batch 1, NHWC, OHWI). slimgen's own
pipeline picks the kernel (lower/kernels.py), plans the arena and emits model.c / weights.c, so a
new specialization in the KERNELS table is benchmarked without touching this file. The image is
profiled like any model (profile/engine.py): the layer's window is the kernel call alone. The
output is checked bit for bit against slimgen.ref.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slimgen import ref
from slimgen.codegen.emit import emit_model, kernel_files
from slimgen.ir.attrs import ConvAttrs, FcAttrs
from slimgen.ir.graph import Graph, Node, QParams, Value
from slimgen.lower.kernels import select_kernels
from slimgen.plan.greedy import plan_arena
from slimgen.plan.liveness import graph_buffers
from slimgen.profile.build import BENCH_CFLAGS, build_image
from slimgen.profile.cores import Core
from slimgen.profile.cycles import CycleEstimate, estimate_cycles
from slimgen.profile.disasm import block_insns, disassemble
from slimgen.profile.elf import read_elf
from slimgen.profile.engine import CallResult, Profile
from slimgen.profile.qemu_count import run_inference_qemu
from slimgen.profile.run import run_inference

IN_OFFSET, OUT_OFFSET = 7, -5


@dataclass(frozen=True)
class Shape:
    name: str
    op: str  # "fc" | "conv2d" | "dwconv2d"
    h: int
    w: int
    cin: int
    cout: int
    k: int  # kernel size (1 for fc)
    pad: int

    @property
    def macs(self) -> int:
        if self.op == "fc":
            return self.cin * self.cout
        per_out = self.k * self.k * (1 if self.op == "dwconv2d" else self.cin)
        return self.h * self.w * self.cout * per_out


SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("fc640", "fc", 1, 1, 640, 128, 1, 0),
    Shape("fc128", "fc", 1, 1, 128, 128, 1, 0),
    Shape("pw1x1", "conv2d", 25, 5, 64, 64, 1, 0),
    Shape("dw3x3", "dwconv2d", 25, 5, 64, 64, 3, 1),
    Shape("conv3x3", "conv2d", 32, 32, 16, 16, 3, 1),
)}


@dataclass
class Case:
    shape: Shape
    graph: Graph
    x: np.ndarray  # int8, IR layout (H, W, C) or (K,)
    expected: np.ndarray  # int8, ref output


def make_case(shape: Shape, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    s = shape
    per_channel = s.op != "fc"
    n_rq = s.cout if per_channel else 1
    mult = rng.integers(1 << 30, 1 << 31, n_rq).astype(np.int64)
    shift = -rng.integers(7, 12, n_rq)
    if not per_channel:
        mult, shift = np.repeat(mult, s.cout), np.repeat(shift, s.cout)
    rq = ref.requant.Requant(mult, shift, IN_OFFSET, OUT_OFFSET, -128, 127)
    bias = (rng.integers(3000, 20001, s.cout) * rng.choice([-1, 1], s.cout)).astype(np.int32)
    if s.op == "fc":
        x = rng.integers(-128, 128, s.cin).astype(np.int8)
        w = rng.integers(-127, 128, (s.cout, s.cin)).astype(np.int8)
        expected = ref.fc.fc(x[None], w, bias, rq)[0]
        attrs = FcAttrs(rq=rq)
        out_shape: tuple[int, ...] = (s.cout,)
    else:
        x = rng.integers(-128, 128, (s.h, s.w, s.cin)).astype(np.int8)
        kw = {"stride": (1, 1), "pad": (s.pad, s.pad), "dilation": (1, 1), "out_hw": (s.h, s.w)}
        if s.op == "dwconv2d":
            w = rng.integers(-127, 128, (s.k, s.k, s.cout)).astype(np.int8)
            expected = ref.conv.dwconv2d(x[None], w, bias, rq, ch_mult=1, **kw)[0]
        else:
            w = rng.integers(-127, 128, (s.cout, s.k, s.k, s.cin)).astype(np.int8)
            expected = ref.conv.conv2d(x[None], w, bias, rq, **kw)[0]
        attrs = ConvAttrs(kernel=(s.k, s.k), stride=(1, 1), pad=(s.pad,) * 4,
                          depthwise=s.op == "dwconv2d", rq=rq)
        out_shape = (s.h, s.w, s.cout)
    xv = Value("x", tuple(x.shape), "i8", q=QParams(0.05, -IN_OFFSET))
    yv = Value("y", out_shape, "i8", q=QParams(0.1, OUT_OFFSET))
    node = Node(s.op, [xv, Value("w", tuple(w.shape), "i8", data=w),
                       Value("b", (s.cout,), "i32", data=bias)], [yv], attrs, name=s.name,
                origin=f"benchmark {s.name}")
    g = Graph("bench", [xv], [yv], [node], stage="quant")
    return Case(s, g, x, expected)


def write_model(case: Case, folder: Path) -> str:
    """Emits the case's model folder (model.c, weights.c, kernels/) as `slimgen build` does."""
    g = case.graph
    kernels = select_kernels(g)
    scratch = {n.name: kernels[n.name].scratch_bytes(n) for n in g.nodes}
    plan = plan_arena(graph_buffers(g, scratch))
    files = dict(emit_model(g, plan, kernels, "bench", "kernels.py"))
    for rel, src in kernel_files(kernels).items():
        files[rel] = src.read_text()
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return kernels[case.shape.name].name


@dataclass
class KernelResult:
    core: str
    layer: str
    kernel: str  # the C function slimgen's KERNELS table picked
    macs: int
    instructions: int
    cycles: CycleEstimate
    bit_exact: bool
    hot: list[str] = field(default_factory=list)  # text: the hottest blocks, disassembled


def hot_blocks(elf: Path, core: Core, calls: CallResult, blocks: Counter, top: int) -> list[str]:
    """The ``top`` blocks with the most executed instructions, with their disassembly."""
    dis = disassemble(elf, core.objdump_arch)
    info = read_elf(elf)
    total = calls.count(Profile(blocks)) or 1
    ranked = sorted(blocks, key=lambda b: -blocks[b] * calls.ninsn[b])[:top]
    lines = []
    for b in ranked:
        n = blocks[b] * calls.ninsn[b]
        lines.append(f"  {info.where(b[0])}: {blocks[b]:,} x {calls.ninsn[b]} = {n:,} "
                     f"instructions ({100 * n / total:.1f} %)")
        lines += [f"      {i.mnemonic:10} {i.operands}" for i in block_insns(dis, *b)]
    return lines


def run_case(case: Case, core: Core, checks: bool = True, hot: int = 0) -> KernelResult:
    """Builds the case for ``core`` with the reference flags (-O3) and profiles the kernel call;
    ``hot`` > 0 also lists that many of the hottest blocks."""
    with tempfile.TemporaryDirectory(prefix="slimgen-kbench-") as tmp:
        model = Path(tmp) / "model"
        kernel = write_model(case, model)
        defines = () if checks else ("-DSG_CHECKS=0",)
        flags = list(core.bench_flags)
        if core.uc_cpu is None:
            inf, elf = run_inference_qemu(model, Path(tmp) / "qemu", core, case.x, BENCH_CFLAGS,
                                          flags, defines)
        else:
            image = build_image(model, Path(tmp) / "build", flags, BENCH_CFLAGS, defines=defines)
            inf, elf = run_inference(image, core, case.x), image.elf
        if len(inf.calls.windows) != 1:
            raise AssertionError(f"expected one kernel call, saw {len(inf.calls.windows)}")
        window = inf.calls.windows[0]
        cycles = estimate_cycles(elf, core, window.blocks, inf.calls)
        return KernelResult(core.name, case.shape.name, kernel, case.shape.macs,
                            inf.calls.count(window), cycles,
                            bool(np.array_equal(inf.output, case.expected.reshape(-1))),
                            hot_blocks(elf, core, inf.calls, window.blocks, hot) if hot else [])


_ROW = re.compile(r"^\|\s*(M\d+\w*)\s*\|\s*(\w+)\s*\|\s*([\d,]+)\s*\|\s*[\d.]+\s*\|\s*([\d,]+)\s*\|")


def cmsis_figures(path: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(core, layer) -> (CMSIS-NN instructions, est. cycles), read from the reference file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = _ROW.match(line)
        if m:
            out[(m.group(1).lower(), m.group(2))] = (int(m.group(3).replace(",", "")),
                                                     int(m.group(4).replace(",", "")))
    return out
