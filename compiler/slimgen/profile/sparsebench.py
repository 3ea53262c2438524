"""Profile one fc / 1x1 layer with pruned weights, dense or in a sparse format, on one core.

The layer is a kernelbench case (its quantization setup) whose weights are pruned to a density
in the pattern the format needs; slimgen's own selection (lower/sparse_select.py, the format
forced) picks the kernel, codegen emits it, and the kernel call alone is counted in Unicorn, as
benchmarks/kernels.py counts the dense kernels. The output is checked bit for bit against the
reference (ref.sparse == densify + dense reference). Used by benchmarks/sparse_calibrate.py
(the cost model's coefficients) and benchmarks/sparse_sweep.py.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slimgen import ref
from slimgen.codegen.emit import emit_model, kernel_files
from slimgen.lower.kernels import select_kernels, weight_matrix
from slimgen.lower.sparse_select import choose_sparse
from slimgen.plan.greedy import plan_arena
from slimgen.plan.liveness import graph_buffers
from slimgen.profile.build import BENCH_CFLAGS, build_image
from slimgen.profile.cores import Core
from slimgen.profile.cycles import estimate_cycles
from slimgen.profile.kernelbench import Case, Shape, make_case
from slimgen.profile.qemu_count import run_inference_qemu
from slimgen.profile.run import run_inference

KERNELS_HELP = ("a kernels/ folder to measure instead of the checkout's (e.g. a committed "
                "state: git archive HEAD kernels | tar -x -C /tmp/k)")


def use_kernels(folder: Path) -> None:
    """Measure the kernel sources in ``folder`` (a kernels/ tree) instead of the checkout's."""
    from slimgen import paths

    resolved = Path(folder).resolve()
    paths.kernels_dir = lambda: resolved  # codegen reads kernel sources through this


def prune(w: np.ndarray, fmt: str, density: float, rng: np.random.Generator) -> np.ndarray:
    """``w`` [rows][cols] with about ``density`` of its weights kept, in ``fmt``'s pattern:
    whole 1x4 blocks for bsr1x4, exactly n per group of 4 for N:4 (their density is n/4 at
    most: below it, whole groups are emptied, which N:4 still stores as fillers), single
    weights otherwise. Kept weights are never 0, so the density is exact in expectation."""
    w = np.where(w == 0, 1, w).astype(np.int8)
    rows, cols = w.shape
    if fmt == "bsr1x4":
        keep = np.repeat(rng.random((rows, cols // 4)) < density, 4, axis=1)
    elif fmt.startswith("nm"):
        n = int(fmt[2])
        groups = -(-cols // 4)
        order = np.argsort(rng.random((rows, groups, 4)), axis=2)
        keep = (order < n) & (rng.random((rows, groups, 1)) < density * 4 / n)
        keep = keep.reshape(rows, -1)[:, :cols]
    elif fmt == "dense":
        keep = np.ones_like(w, dtype=bool)
    else:
        keep = rng.random((rows, cols)) < density
    if fmt == "shared":  # weight sharing: 15 values spread over the int8 range, as k-means gives
        levels = np.round(np.linspace(-127, 127, 16)).astype(np.int64)[1:]
        w = levels[np.abs(w.astype(np.int64)[..., None] - levels).argmin(-1)].astype(np.int8)
    return np.where(keep, w, 0).astype(np.int8)


def pruned_case(shape: Shape, fmt: str, density: float, seed: int = 0) -> Case:
    case = make_case(shape, seed)
    node = case.graph.nodes[0]
    wv = node.inputs[1]
    assert wv is not None and wv.data is not None
    w = prune(weight_matrix(node), fmt, density, np.random.default_rng(seed + 1))
    wv.data = w.reshape(wv.data.shape)
    b = node.inputs[2]
    bias = None if b is None else b.data
    if shape.op == "fc":
        case.expected = ref.fc.fc(case.x[None], w, bias, node.attrs.rq)[0]
    else:
        case.expected = ref.conv.conv2d(case.x[None], wv.data, bias, node.attrs.rq,
                                        stride=(1, 1), pad=(shape.pad, shape.pad),
                                        dilation=(1, 1), out_hw=(shape.h, shape.w))[0]
    return case


@dataclass
class SparseResult:
    core: str
    kernel: str
    fmt: str
    density: float  # measured: non-zeros / weights
    instructions: int
    cycles: int  # nominal estimate
    weight_bytes: int  # weights as stored (packed arrays for sparse)
    nonzeros: int
    bit_exact: bool


def run_sparse(case: Case, fmt: str, core: Core) -> SparseResult:
    """Profile ``case`` with kernel format ``fmt`` ("dense" or a sparse format) on ``core``."""
    g = case.graph
    node = g.nodes[0]
    kernels = select_kernels(g)
    decision = {}
    if fmt != "dense":
        decision = choose_sparse(g, kernels, fmt, core.name)[node.name]
        if decision["format"] != fmt:
            raise ValueError(f"{fmt} cannot hold these weights: {decision['reason']}")
    w = weight_matrix(node)
    with tempfile.TemporaryDirectory(prefix="slimgen-sparse-") as tmp:
        model = Path(tmp) / "model"
        scratch = {n.name: kernels[n.name].scratch_bytes(n) for n in g.nodes}
        plan = plan_arena(graph_buffers(g, scratch))
        files = dict(emit_model(g, plan, kernels, "bench", "sparsebench.py"))
        for rel, src in kernel_files(kernels).items():
            files[rel] = src.read_text()
        for rel, text in files.items():
            (model / rel).parent.mkdir(parents=True, exist_ok=True)
            (model / rel).write_text(text)
        if core.uc_cpu is None:  # M55: Unicorn has no MVE, QEMU counts (as kernelbench)
            inf, elf = run_inference_qemu(model, Path(tmp) / "qemu", core, case.x, BENCH_CFLAGS,
                                          list(core.bench_flags))
        else:
            image = build_image(model, Path(tmp) / "build", list(core.bench_flags), BENCH_CFLAGS)
            inf, elf = run_inference(image, core, case.x), image.elf
        window = inf.calls.windows[0]
        cycles = estimate_cycles(elf, core, window.blocks, inf.calls)
        chosen = next((c for c in decision.get("candidates", [])
                       if c["format"] == decision["format"]), None)
        return SparseResult(
            core.name, kernels[node.name].name, fmt, float((w != 0).mean()),
            inf.calls.count(window), cycles.nominal,
            int(w.size) if chosen is None else int(chosen["weight_bytes"]),
            int(np.count_nonzero(w)),
            bool(np.array_equal(inf.output, case.expected.reshape(-1))))
