"""Fit the sparse cost model (compiler/slimgen/lower/cost.py) to measured kernel profiles.

    python3 benchmarks/sparse_calibrate.py                 # m4, m7, m33 -> lower/sparse_costs.json
    python3 benchmarks/sparse_calibrate.py --core m4 --dry-run
    python3 benchmarks/sparse_calibrate.py --core m55 --merge   # only the m55 rows (QEMU counts)

For each core, the dense and every sparse fc / 1x1 / conv kernel runs on a few layer shapes
and densities, quantized as models are (per-channel multipliers, fused ReLU), profiled by
compiler/slimgen/profile/sparsebench.py (Unicorn instruction counts, cycle estimates, bit-exact
outputs); a non-negative least-squares fit gives, per (family, format), the coefficients of
``cycles = fixed + passes * (per_row * rows + per_unit * units + per_col * cols) + per_win *
pixels * kernel_h`` (lower/cost.py). The table is written with the worst relative error of the
fit on its own points, so a reader can judge it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
try:
    import slimgen  # noqa: F401
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "compiler"))

from slimgen import ref  # noqa: E402
from slimgen.ir.attrs import ConvAttrs  # noqa: E402
from slimgen.ir.graph import Graph, Node, QParams, Value  # noqa: E402
from slimgen.lower import sparse_format as sf  # noqa: E402
from slimgen.lower.cost import COSTS_FILE, passes, units_of  # noqa: E402
from slimgen.lower.kernels import weight_matrix  # noqa: E402
from slimgen.profile.cores import get_core  # noqa: E402
from slimgen.profile.kernelbench import IN_OFFSET, OUT_OFFSET, Case, Shape  # noqa: E402
from slimgen.profile.sparsebench import (  # noqa: E402
    KERNELS_HELP,
    prune,
    pruned_case,
    run_sparse,
    use_kernels,
)

FC_SHAPES = [Shape("fc", "fc", 1, 1, cin, cout, 1, 0)
             for cin, cout in ((640, 128), (256, 64), (128, 32), (640, 16))]
PW_SHAPES = [Shape("pw", "conv2d", h, w, cin, cout, 1, 0)
             for h, w, cin, cout in ((5, 5, 64, 64), (4, 3, 32, 64), (5, 3, 64, 16))]
CONV_SHAPES: list = [Shape("conv", "conv2d", h, w, cin, cout, 3, 1)
                     for h, w, cin, cout in ((8, 8, 16, 16), (6, 5, 8, 32), (4, 4, 32, 8))]
DENSITIES = {"dense": (1.0,), "unstructured": (0.05, 0.2, 0.5), "bsr1x4": (0.05, 0.2, 0.5),
             "shared": (0.05, 0.2, 0.5),
             "nm2:4": (0.5,), "nm1:4": (0.25,)}


@dataclass(frozen=True)
class ConvShape:
    """A general convolution kernelbench's square, stride-1 shapes cannot express."""

    name: str
    h: int
    w: int
    cin: int
    cout: int
    kh: int
    kw: int
    stride: int
    pad: tuple[int, int, int, int]  # top, left, bottom, right

    @property
    def out_hw(self) -> tuple[int, int]:
        t, left, b, r = self.pad
        return ((self.h + t + b - self.kh) // self.stride + 1,
                (self.w + left + r - self.kw) // self.stride + 1)


# Beyond 3x3 stride 1: few input channels (the im2col copies short runs), tall or wide kernels,
# stride 2; the first is KWS DS-CNN's first layer (10x4, stride 2, one input channel).
CONV_SHAPES += [ConvShape("conv", *dims) for dims in (
    (49, 10, 1, 64, 10, 4, 2, (4, 1, 5, 1)),
    (16, 16, 4, 16, 3, 3, 2, (1, 1, 0, 0)),
    (12, 12, 4, 24, 5, 5, 1, (2, 2, 2, 2)),
    (20, 6, 4, 32, 1, 3, 1, (0, 1, 0, 1)),
)]


def conv_case(s: ConvShape, fmt: str, density: float, seed: int) -> Case:
    """kernelbench's quantization setup on a general conv, weights pruned in ``fmt``'s
    pattern (sparsebench.prune), the reference output computed on the pruned weights."""
    rng = np.random.default_rng(seed)
    mult = rng.integers(1 << 30, 1 << 31, s.cout).astype(np.int64)
    shift = -rng.integers(7, 12, s.cout)
    rq = ref.requant.Requant(mult, shift, IN_OFFSET, OUT_OFFSET, -128, 127)
    bias = (rng.integers(3000, 20001, s.cout) * rng.choice([-1, 1], s.cout)).astype(np.int32)
    x = rng.integers(-128, 128, (s.h, s.w, s.cin)).astype(np.int8)
    w2 = rng.integers(-127, 128, (s.cout, s.kh * s.kw * s.cin)).astype(np.int8)
    w = prune(w2, fmt, density, np.random.default_rng(seed + 1)).reshape(
        s.cout, s.kh, s.kw, s.cin)
    out_hw = s.out_hw
    expected = ref.conv.conv2d(x[None], w, bias, rq, stride=(s.stride, s.stride),
                               pad=(s.pad[0], s.pad[1]), dilation=(1, 1), out_hw=out_hw)[0]
    attrs = ConvAttrs(kernel=(s.kh, s.kw), stride=(s.stride, s.stride), pad=s.pad, rq=rq)
    xv = Value("x", tuple(x.shape), "i8", q=QParams(0.05, -IN_OFFSET))
    yv = Value("y", (*out_hw, s.cout), "i8", q=QParams(0.1, OUT_OFFSET))
    node = Node("conv2d", [xv, Value("w", tuple(w.shape), "i8", data=w),
                           Value("b", (s.cout,), "i32", data=bias)], [yv], attrs, name=s.name,
                origin=f"calibration {s.name}")
    g = Graph("bench", [xv], [yv], [node], stage="quant")
    return Case(Shape(s.name, "conv2d", s.h, s.w, s.cin, s.cout, s.kh, 0), g, x, expected)


def with_relu_per_channel(case: Case, seed: int) -> Case:
    """The layer as models quantize it: per-channel multipliers and shifts (kernelbench's fc is
    per-tensor, CMSIS-NN's setup) and a fused ReLU (act_min = the output zero point), so the
    output stage takes its clamped path and its shifts change from row to row."""
    node = case.graph.nodes[0]
    rq = node.attrs.rq
    rows = len(rq.mult)
    rng = np.random.default_rng(seed + 1000)
    relu = ref.requant.Requant(rng.integers(1 << 30, 1 << 31, rows).astype(np.int64),
                               -rng.integers(7, 10, rows), rq.in_offset, rq.out_offset,
                               rq.out_offset, 127)
    node.attrs = replace(node.attrs, rq=relu)
    w = node.inputs[1].data
    bias = node.inputs[2].data
    if node.op == "fc":
        case.expected = ref.fc.fc(case.x[None], w, bias, relu)[0]
    else:
        a = node.attrs
        case.expected = ref.conv.conv2d(case.x[None], w, bias, relu, stride=a.stride,
                                        pad=(a.pad[0], a.pad[1]), dilation=a.dilation,
                                        out_hw=node.outputs[0].shape[:2])[0]
    return case


def measure(core_name: str, families: tuple[str, ...] = ("fc", "pw", "conv")) -> list[dict]:
    core = get_core(core_name)
    points = []
    for family, shapes in (("fc", FC_SHAPES), ("pw", PW_SHAPES), ("conv", CONV_SHAPES)):
        if family not in families:
            continue
        for shape in shapes:
            for fmt, densities in DENSITIES.items():
                for d in densities:
                    if isinstance(shape, ConvShape):
                        case = conv_case(shape, fmt, d, seed=len(points))
                        pixels = shape.out_hw[0] * shape.out_hw[1]
                    else:
                        case = pruned_case(shape, fmt, d, seed=len(points))
                        pixels = shape.h * shape.w
                    case = with_relu_per_channel(case, len(points))
                    r = run_sparse(case, fmt, core)
                    if not r.bit_exact:
                        raise SystemExit(f"{core_name} {shape} {fmt}: output not bit-exact")
                    w = weight_matrix(case.graph.nodes[0])
                    packed = None if fmt == "dense" else sf.pack(w, fmt)
                    n_passes = passes(family, fmt, pixels, core_name)
                    key = f"{family}:{'nm' if fmt.startswith('nm') else fmt}"
                    points.append({"key": key, "fmt": fmt, "rows": shape.cout,
                                   "kh": shape.kh if isinstance(shape, ConvShape) else shape.k,
                                   "pixels": pixels, "passes": n_passes,
                                   "units": units_of(packed, w), "cols": w.shape[1],
                                   "density": r.density,
                                   "cycles": r.cycles, "instructions": r.instructions})
                    print(f"{core_name} {key:17s} {shape.cin}->{shape.cout} x{pixels} "
                          f"d={r.density:.3f} cycles={r.cycles}", file=sys.stderr)
    return points


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with non-negative coefficients (every subset of the few unknowns)."""
    from itertools import combinations

    best, best_err = np.zeros(a.shape[1]), np.inf
    for k in range(1, a.shape[1] + 1):
        for cols in combinations(range(a.shape[1]), k):
            x, *_ = np.linalg.lstsq(a[:, cols], b, rcond=None)
            if (x < 0).any():
                continue
            full = np.zeros(a.shape[1])
            full[list(cols)] = x
            err = float(np.sum((a @ full - b) ** 2))
            if err < best_err:
                best, best_err = full, err
    return best


def fit(points: list[dict]) -> tuple[dict, dict]:
    coefs, quality = {}, {}
    for key in sorted({p["key"] for p in points}):
        ps = [p for p in points if p["key"] == key]
        # Relative error is what matters (layers differ by 100x): weight rows by 1 / cycles.
        # per_col: the im2col copy of general conv, the per-call tables of N:4 and shared
        # (0 where nothing scales with the columns); per_win (window rows gathered) only
        # where there is an im2col: general conv.
        conv = key.startswith("conv")
        a = np.array([[1.0, p["passes"] * p["rows"], p["passes"] * p["units"],
                       p["passes"] * p["cols"]] + ([p["pixels"] * p["kh"]] if conv else [])
                      for p in ps])
        b = np.array([float(p["cycles"]) for p in ps])
        wgt = 1.0 / b
        x = nnls(a * wgt[:, None], b * wgt)
        rel = np.abs(a @ x - b) / b
        coefs[key] = [round(float(v), 3) for v in x]
        quality[key] = {"points": len(ps), "max_rel_error": round(float(rel.max()), 4)}
    return coefs, quality


def merge_rows(old: dict, new: dict, cores: str) -> dict:
    """``old`` with the rows and fit of ``new``'s cores replaced (a colleague may re-fit the
    other cores in the same file: read it just before writing)."""
    merged = dict(old)
    merged["cores"] = {**old.get("cores", {}), **new["cores"]}
    merged["fit"] = {**old.get("fit", {}), **new["fit"]}
    merged["generated_by"] = (f"{old.get('generated_by', '')}; {cores} re-fitted with "
                              f"--core {cores} --merge")
    return merged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", default="m4,m7,m33")
    ap.add_argument("--dry-run", action="store_true", help="print the table, write nothing")
    ap.add_argument("--points", type=Path, default=None,
                    help="also write the measured points (JSON) to this file")
    ap.add_argument("--family", default="fc,pw,conv",
                    help="layer families to measure (with --dry-run: a quick look at one fit)")
    ap.add_argument("--kernels", type=Path, default=None, help=KERNELS_HELP)
    ap.add_argument("--merge", action="store_true",
                    help="replace only the measured cores' rows in the existing table (read "
                         "just before writing), keeping the other cores' rows")
    args = ap.parse_args(argv)
    if args.kernels is not None:
        use_kernels(args.kernels)
    if args.family != "fc,pw,conv" and not args.dry_run:
        ap.error("--family measures part of the table: use it with --dry-run")
    table = {"generated_by": "python3 benchmarks/sparse_calibrate.py --core " + args.core,
             "model": "cycles = fixed + passes * (per_row * rows + per_unit * units + per_col * "
                      "cols) + per_win * pixels * kernel_h",
             "cores": {}, "fit": {}}
    all_points: list[dict] = []
    for core in args.core.split(","):
        points = measure(core, tuple(args.family.split(",")))
        all_points += [dict(p, core=core) for p in points]
        coefs, quality = fit(points)
        table["cores"][core] = coefs
        table["fit"][core] = quality
    if args.points is not None:
        args.points.write_text(json.dumps(all_points, indent=0) + "\n")
    if args.merge and COSTS_FILE.is_file():
        table = merge_rows(json.loads(COSTS_FILE.read_text()), table, args.core)
    text = json.dumps(table, indent=1, sort_keys=True) + "\n"
    print(text)
    if not args.dry_run:
        COSTS_FILE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
