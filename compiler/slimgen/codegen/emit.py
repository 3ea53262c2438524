"""(lowered graph, memory plan) -> the generated sources as {relative path: text}.

Every number in the output is computed here, in Python, and handed to the templates, which only
loop and substitute (StrictUndefined: a missing variable is an error, never an empty string).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from .. import __version__, paths
from ..ir.graph import Graph, Node, Value
from ..lower.kernels import KernelSpec
from ..plan.greedy import MemoryPlan
from .cformat import c_float, c_int_array
from .sparse_emit import sparse_fields


@dataclass
class ConstArray:
    symbol: str
    ctype: str
    values: str  # formatted body
    count: int
    comment: str


@dataclass
class CallSite:
    index: int
    fn: str
    params_type: str
    params_name: str
    fields: list[tuple[str, str]]  # designated initializers, in struct order
    args: list[str]  # activation pointers: inputs then output
    comment: str
    scratch: str = "(sg_scratch){ 0, 0 }"


@dataclass
class ModelCode:
    prefix: str
    callsites: list[CallSite] = field(default_factory=list)
    consts: list[ConstArray] = field(default_factory=list)


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _dims(shape: tuple[int, ...]) -> str:
    h, w, c = shape if len(shape) == 3 else (1, 1, shape[0])
    return f"{{ 1, {h}, {w}, {c} }}"


class _Emitter:
    def __init__(self, g: Graph, plan: MemoryPlan, kernels: dict[str, KernelSpec],
                 prefix: str) -> None:
        self.g, self.plan, self.kernels, self.p = g, plan, kernels, prefix
        self.code = ModelCode(prefix)

    def ptr(self, v: Value, const: bool) -> str:
        qual = "const int8_t *" if const else "int8_t *"
        if v is self.g.inputs[0]:
            return "input"
        if v is self.g.outputs[0]:
            return "(const int8_t *)output" if const else "output"
        return f"({qual})(arena + {self.plan.offsets[v.name]})"

    def array(self, n: Node, suffix: str, ctype: str, data: np.ndarray, what: str) -> str:
        sym = f"{self.p}_{n.name}_{suffix}"
        flat = data.reshape(-1)
        self.code.consts.append(ConstArray(sym, ctype, c_int_array(flat), flat.size,
                                           f"{n.name} {what}"))
        return sym

    def requant_fields(self, n: Node) -> str:
        rq = n.attrs.rq
        m = self.array(n, "m", "int32_t", rq.mult, "requant multipliers (Q31)")
        s = self.array(n, "s", "int32_t", rq.shift, "requant shifts")
        return (f"{{ .mult = {m}, .shift = {s}, .in_offset = {rq.in_offset}, "
                f".out_offset = {rq.out_offset}, .act_min = {rq.act_min}, "
                f".act_max = {rq.act_max} }}")

    def weights(self, n: Node) -> tuple[str, str]:
        w, b = n.inputs[1], n.inputs[2]
        assert w is not None and b is not None and w.data is not None and b.data is not None
        layout = {"conv2d": "OHWI", "dwconv2d": "HWC", "fc": "out x in"}[n.op]
        return (self.array(n, "w", "int8_t", w.data, f"weights int8 {layout} {w.shape}"),
                self.array(n, "b", "int32_t", b.data, "bias int32"))

    def folded_bias(self, n: Node) -> str:
        """bias + in_offset * sum(w) per output row, modulo 2**32 as the kernel adds: the term the
        Helium fc path would otherwise recompute on every call (sg_kernels.h)."""
        w, b = n.inputs[1], n.inputs[2]
        assert w is not None and b is not None and w.data is not None and b.data is not None
        rows = w.data.astype(np.int64).reshape(w.data.shape[0], -1).sum(axis=1)
        folded = (b.data.astype(np.int64) + n.attrs.rq.in_offset * rows) & 0xFFFFFFFF
        folded = np.where(folded >= 1 << 31, folded - (1 << 32), folded).astype(np.int32)
        return self.array(n, "fb", "int32_t", folded, "bias + in_offset * sum(w), for Helium")

    def callsite(self, idx: int, n: Node) -> CallSite:
        spec = self.kernels[n.name]
        a = n.attrs
        x = n.x
        out = n.out
        args = [self.ptr(x, True), self.ptr(out, False)]
        comment = f"{n.name}  {n.origin}"
        if spec.sparse:
            fields, ptype, detail = sparse_fields(self, n, spec)
            comment += detail
        elif n.op in ("conv2d", "dwconv2d"):
            w, b = self.weights(n)
            kh, kw = a.kernel
            fields = [("in", _dims(x.shape))]
            if n.op == "conv2d":
                fields.append(("filter", f"{{ {out.shape[2]}, {kh}, {kw}, {x.shape[2]} }}"))
            else:
                fields.append(("filter", f"{{ 1, {kh}, {kw}, {out.shape[2]} }}"))
            fields.append(("out", _dims(out.shape)))
            if n.op == "dwconv2d":
                fields.append(("ch_mult", str(a.ch_mult)))
            fields += [("stride_h", str(a.stride[0])), ("stride_w", str(a.stride[1])),
                       ("pad_top", str(a.pad[0])), ("pad_left", str(a.pad[1])),
                       ("dil_h", str(a.dilation[0])), ("dil_w", str(a.dilation[1])),
                       ("weights", w), ("bias", b), ("rq", self.requant_fields(n))]
            ptype = "sg_conv2d_s8_params" if n.op == "conv2d" else "sg_dwconv2d_s8_params"
            comment += (f"  {kh}x{kw} s{a.stride[0]}x{a.stride[1]} "
                        f"pad {','.join(map(str, a.pad))}  {x.shape[-1]}->{out.shape[-1]} "
                        f"@{out.shape[0]}x{out.shape[1]}")
        elif n.op == "fc":
            w, b = self.weights(n)
            fields = [("in_features", str(x.size)), ("out_features", str(out.size)),
                      ("weights", w), ("bias", b), ("rq", self.requant_fields(n)),
                      ("folded_bias", self.folded_bias(n))]
            ptype = "sg_fc_s8_params"
            comment += f"  {x.size}->{out.size}"
        elif n.op in ("maxpool", "avgpool"):
            fields = [("in", _dims(x.shape)), ("out", _dims(out.shape)),
                      ("kernel_h", str(a.kernel[0])), ("kernel_w", str(a.kernel[1])),
                      ("stride_h", str(a.stride[0])), ("stride_w", str(a.stride[1])),
                      ("pad_top", str(a.pad[0])), ("pad_left", str(a.pad[1])),
                      ("pad_bottom", str(a.pad[2])), ("pad_right", str(a.pad[3])),
                      ("count_include_pad", str(int(a.count_include_pad))),
                      ("pad_value", str(a.pad_value)),
                      ("act_min", str(a.act_q[0])), ("act_max", str(a.act_q[1]))]
            ptype = "sg_pool2d_s8_params"
            comment += f"  {a.kernel[0]}x{a.kernel[1]} s{a.stride[0]}x{a.stride[1]}"
        elif n.op == "add":
            fields = [("size", str(out.size))] + [(k, str(v)) for k, v in a.params.items()]
            ptype = "sg_add_s8_params"
            args = [self.ptr(x, True), self.ptr(n.inputs[1], True), self.ptr(out, False)]
        elif n.op == "clamp":
            fields = [("size", str(out.size)), ("act_min", str(a.act_q[0])),
                      ("act_max", str(a.act_q[1]))]
            ptype = "sg_clamp_s8_params"
        elif n.op == "transpose":
            fields = [("in", _dims(x.shape))]
            ptype = "sg_transpose_nhwc_nchw_s8_params"
        elif n.op == "softmax":
            fields = [("rows", "1"), ("depth", str(x.size)), ("mult", str(a.mult)),
                      ("left_shift", str(a.left_shift)), ("diff_min", str(a.diff_min))]
            ptype = "sg_softmax_s8_params"
        else:
            raise AssertionError(n.op)
        cs = CallSite(idx, spec.name, ptype, f"{self.p}_{n.name}", fields, args, comment)
        scratch = self.plan.offsets.get(f"{n.name}.scratch")
        if scratch is not None:
            size = next(b.size for b in self.plan.buffers if b.name == f"{n.name}.scratch")
            cs.scratch = f"(sg_scratch){{ arena + {scratch}, {size} }}"
        return cs


def io_info(v: Value, torch_shape: tuple[int, ...], layout: str) -> dict[str, Any]:
    assert v.q is not None
    return {"shape": list(v.shape), "torch_shape": list(torch_shape), "layout": layout,
            "bytes": v.size, "scale": v.q.scale, "zero_point": v.q.zero_point}


def emit_model(g: Graph, plan: MemoryPlan, kernels: dict[str, KernelSpec],
               prefix: str, source_name: str) -> dict[str, str]:
    """Render model.h, model.c, weights.c and the Makefile for a lowered, planned graph."""
    em = _Emitter(g, plan, kernels, prefix)
    callsites = [em.callsite(i, n) for i, n in enumerate(n for n in g.nodes if n.op != "reshape")]
    x, y = g.inputs[0], g.outputs[0]
    assert x.q is not None and y.q is not None
    in_layout = "NHWC" if len(x.shape) == 3 else "flat"
    out_layout = "NHWC" if len(y.shape) == 3 else "flat"
    ctx = {
        "version": __version__,
        "source": source_name,
        "p": prefix,
        "P": prefix.upper(),
        "callsites": callsites,
        "consts": em.code.consts,
        "arena_bytes": plan.arena_bytes,
        "num_layers": len(callsites),
        "input": {"bytes": x.size, "shape": " x ".join(map(str, x.shape)), "layout": in_layout,
                  "scale": c_float(x.q.scale), "zero_point": x.q.zero_point},
        "output": {"bytes": y.size, "shape": " x ".join(map(str, y.shape)),
                   "layout": out_layout, "scale": c_float(y.q.scale),
                   "zero_point": y.q.zero_point},
        "kernel_sources": sorted({f"kernels/src/{k.source}" for k in kernels.values()}),
    }
    env = _env()
    return {
        "model.h": env.get_template("model/model.h.j2").render(ctx),
        "model.c": env.get_template("model/model.c.j2").render(ctx),
        "weights.c": env.get_template("model/weights.c.j2").render(ctx),
        "Makefile": env.get_template("model/Makefile.j2").render(ctx),
    }


def kernel_files(kernels: dict[str, KernelSpec]) -> dict[str, Path]:
    """Kernel sources the model needs, as {path in OUT: source file}: headers and used .c files."""
    root = paths.kernels_dir()
    files: dict[str, Path] = {}
    for h in sorted((root / "include").glob("*.h")):
        files[f"kernels/include/{h.name}"] = h
    for h in sorted((root / "src").rglob("*.h")):
        files[f"kernels/src/{h.relative_to(root / 'src').as_posix()}"] = h
    for k in sorted({k.source for k in kernels.values()}):
        files[f"kernels/src/{k}"] = root / "src" / k
    return files
