"""Import a fully int8-quantized TFLite model as a quant-stage graph, keeping its quantization.

Nothing is recalibrated: every scale and zero point comes from the file, and every integer the
kernels consume (requant multipliers, add and softmax parameters, activation clamps) is computed
from the file's float32 scales with the same float arithmetic TFLite Micro's kernels use in
Prepare, because one ulp in an effective scale can move a multiplier and flip an output byte.
The result is the same IR ``quantize_graph`` produces (NHWC activations, OHWI conv weights,
(Kh, Kw, C_out) depthwise weights, (out, in) FC weights, i32 bias), plus a float graph with the
dequantized weights that ``verify`` uses as the float model.

The file is untrusted: every offset, shape, buffer and quantization array is checked before use,
and anything malformed is an InputError before any code is generated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, UnsupportedError
from ..ir.attrs import (
    NO_ACT,
    AddAttrs,
    ConvAttrs,
    FcAttrs,
    PoolAttrs,
    SoftmaxAttrs,
)
from ..ir.graph import Graph, Node, QParams, Value
from ..quant.multiplier import calculate_input_radius, preprocess_softmax_scaling
from ..quant.multiplier import quantize_multiplier as _qm
from ..quant.quantize import _add_params
from ..ref.requant import Requant
from .flatbuf import FlatbufferError, Table, root

IDENTIFIER = b"TFL3"

#: Builtin operator codes slimgen reads (tensorflow/lite/schema/schema.fbs BuiltinOperator).
OP_NAMES = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 8: "FLOOR", 9: "FULLY_CONNECTED", 11: "L2_NORMALIZATION",
    12: "L2_POOL_2D", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6",
    22: "RESHAPE", 23: "RESIZE_BILINEAR", 25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 28: "TANH",
    32: "CUSTOM", 34: "PAD", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 43: "SQUEEZE",
    45: "STRIDED_SLICE", 49: "SPLIT", 53: "CAST", 54: "PRELU", 55: "MAXIMUM", 57: "ARG_MAX",
    60: "PADV2", 67: "TRANSPOSE_CONV", 74: "SUM", 83: "PACK", 97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU", 114: "QUANTIZE", 117: "HARD_SWISH",
}
SUPPORTED = ("CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, ADD, "
             "SOFTMAX, RESHAPE, MEAN over height and width, PAD (before a convolution), "
             "QUANTIZE / DEQUANTIZE at the model's input and output")
_TYPES = {0: ("f32", 4), 2: ("i32", 4), 3: ("u8", 1), 4: ("i64", 8), 7: ("i16", 2), 9: ("i8", 1)}
_NP = {"f32": "<f4", "i32": "<i4", "u8": "u1", "i64": "<i8", "i16": "<i2", "i8": "i1"}
#: BuiltinOptions union member each operator's options must be.
_OPTIONS_TYPE = {3: 1, 4: 2, 1: 5, 17: 5, 9: 8, 25: 9, 0: 11, 40: 27}
_ACTS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
MAX_DIM = 1 << 16
MAX_ELEMENTS = 1 << 26


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None  # constants only, already shaped
    scale: np.ndarray | None  # float32, per tensor (1) or per channel
    zero_point: np.ndarray | None  # int64
    qdim: int


@dataclass
class Operator:
    index: int
    code: int
    inputs: list[int]
    outputs: list[int]
    options: Table | None

    @property
    def name(self) -> str:
        return OP_NAMES.get(self.code, f"builtin operator {self.code}")


@dataclass
class TfliteModel:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


def is_tflite(path: Path) -> bool:
    """True when ``path`` carries the TFLite flatbuffer identifier (whatever its suffix)."""
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == IDENTIFIER
    except OSError:
        return False


def _bad(path: Path, why: str) -> InputError:
    return InputError(f"model file {path} is not a valid TFLite flatbuffer: {why}.",
                      "Re-export it with the TFLite converter; the file may be truncated or "
                      "corrupt.")


def parse(buf: bytes, path: Path) -> TfliteModel:
    """Read and validate the single subgraph of a .tflite file."""
    try:
        return _parse(buf, path)
    except FlatbufferError as e:
        raise _bad(path, str(e)) from None


def _parse(buf: bytes, path: Path) -> TfliteModel:
    m = root(buf, IDENTIFIER)
    version = m.scalar(0, "u32")
    if version != 3:
        raise _bad(path, f"schema version {version}, slimgen reads version 3")
    codes = []
    for c in m.tables(1, "operator code"):
        codes.append(max(int(c.scalar(0, "i8")), int(c.scalar(3, "i32"))))
    subgraphs = m.tables(2, "subgraph")
    if len(subgraphs) != 1:
        raise UnsupportedError(f"{path} has {len(subgraphs)} subgraphs; slimgen compiles models "
                               "with exactly one (no control flow).", "Convert a single-graph "
                               "model.")
    buffers = m.tables(4, "buffer")
    sg = subgraphs[0]
    tensors = [_tensor(i, t, buffers, buf, path) for i, t in enumerate(sg.tables(0, "tensor"))]

    def idx(v: np.ndarray | None, what: str, optional: bool = False) -> list[int]:
        out = [int(i) for i in (v if v is not None else [])]
        for i in out:
            if not (0 <= i < len(tensors) or (optional and i == -1)):
                raise _bad(path, f"{what} refers to tensor {i}, but there are {len(tensors)}")
        return out

    ops = []
    for k, op in enumerate(sg.tables(3, "operator")):
        ci = int(op.scalar(0, "u32"))
        if ci >= len(codes):
            raise _bad(path, f"operator {k} uses operator code {ci} of {len(codes)}")
        opts = op.table(4, f"operator {k} options") if op.has(4) else None
        want = _OPTIONS_TYPE.get(codes[ci])
        if opts is not None and want is not None and op.scalar(3, "u8") != want:
            raise _bad(path, f"operator {k} carries options of type {op.scalar(3, 'u8')}, "
                       f"but its operator needs type {want}")
        ops.append(Operator(k, codes[ci], idx(op.vector(1, "i32"), f"operator {k} input", True),
                            idx(op.vector(2, "i32"), f"operator {k} output"), opts))
    return TfliteModel(tensors, ops, idx(sg.vector(1, "i32"), "subgraph input"),
                       idx(sg.vector(2, "i32"), "subgraph output"))


def _tensor(i: int, t: Table, buffers: list[Table], buf: bytes, path: Path) -> Tensor:
    name = t.string(3)
    what = f"tensor {i} ({name!r})"
    raw_shape = t.vector(0, "i32")
    shape = tuple(int(d) for d in (raw_shape if raw_shape is not None else []))
    if len(shape) > 5 or any(d < 1 or d > MAX_DIM for d in shape):
        raise _bad(path, f"{what} has shape {list(shape)} (each dimension must be 1..{MAX_DIM})")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise _bad(path, f"{what} has {count} elements")
    ty = int(t.scalar(1, "i8"))
    if ty not in _TYPES:
        raise UnsupportedError(f"{path}: {what} has TFLite type {ty}; slimgen reads int8 models "
                               "(int8 activations and weights, int32 bias).",
                               "Convert with full int8 quantization.")
    dtype, size = _TYPES[ty]
    b = int(t.scalar(2, "u32"))
    if b >= len(buffers):
        raise _bad(path, f"{what} uses buffer {b}, but there are {len(buffers)}")
    data = None
    bt = buffers[b]
    raw = bt.vector(0, "u8")
    off, nbytes = int(bt.scalar(1, "u64")), int(bt.scalar(2, "u64"))
    if (raw is None or raw.size == 0) and off > 1:
        # Models over 2 GB keep buffers after the flatbuffer, addressed from the file's start.
        if off + nbytes > len(buf):
            raise _bad(path, f"{what}: buffer {b} at byte {off} (+{nbytes}) lies outside the file")
        raw = np.frombuffer(buf, np.uint8, nbytes, off)
    if raw is not None and raw.size:
        if raw.size != count * size:
            raise _bad(path, f"{what} has shape {list(shape)} ({count * size} bytes of {dtype}) "
                       f"but its buffer {b} holds {raw.size} bytes")
        data = raw.view(_NP[dtype]).reshape(shape).astype(_NP[dtype].lstrip("<"))
    scale = zp = None
    qdim = 0
    q = t.table(4, f"{what} quantization") if t.has(4) else None
    if q is not None:
        s, z = q.vector(2, "f32"), q.vector(3, "i64")
        if s is not None and s.size:
            scale = s.astype(np.float32)
            zp = (z if z is not None and z.size else np.zeros(s.size, np.int64)).astype(np.int64)
            qdim = int(q.scalar(6, "i32"))
            if zp.size != scale.size:
                raise _bad(path, f"{what} has {scale.size} scales but {zp.size} zero points")
            if scale.size > 1 and not (0 <= qdim < len(shape) and shape[qdim] == scale.size):
                raise _bad(path, f"{what} has {scale.size} per-channel scales along dimension "
                           f"{qdim} of shape {list(shape)}")
            if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
                raise _bad(path, f"{what} has a scale that is not a positive finite number")
            if dtype == "i8" and (zp.min() < -128 or zp.max() > 127):
                raise _bad(path, f"{what} has an int8 zero point outside [-128, 127]")
    return Tensor(i, name, shape, dtype, data, scale, zp, qdim)


# -- conversion ---------------------------------------------------------------------------------


def _round_away(v: float) -> int:
    """TfLiteRound / std::round: half away from zero."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _act_range(act: int, q: QParams) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized: ``zp + round(f / scale)`` in float32."""
    def quant(f: float) -> int:
        return q.zero_point + _round_away(float(np.float32(f) / np.float32(q.scale)))

    if act == 0:
        return -128, 127
    if act == 1:
        return max(-128, quant(0.0)), 127
    if act == 3:
        return max(-128, quant(0.0)), min(127, quant(6.0))
    return max(-128, quant(-1.0)), min(127, quant(1.0))


def _same_pad(n_in: int, k: int, s: int, d: int, padding: int) -> tuple[int, int, int]:
    """(out, before, after) as TFLite's ComputePaddingHeightWidth: extra padding goes after."""
    eff = (k - 1) * d + 1
    if padding == 0:  # SAME
        out = (n_in + s - 1) // s
    else:
        out = (n_in - eff + s) // s
    total = max((out - 1) * s + eff - n_in, 0)
    return out, total // 2, total - total // 2


class _Importer:
    def __init__(self, model: TfliteModel, name: str, path: Path) -> None:
        self.m = model
        self.name = name
        self.path = path
        self.values: dict[int, Value] = {}
        self.pads: dict[int, tuple[int, tuple[int, int, int, int]]] = {}  # PAD out -> (in, pad)
        self.nodes: list[Node] = []

    def unsupported(self, op: Operator, why: str, fix: str = "") -> UnsupportedError:
        return UnsupportedError(f"unsupported: operator {op.index} ({op.name}) {why}",
                                fix or f"slimgen supports: {SUPPORTED}.")

    def qparams(self, t: Tensor, op: Operator) -> QParams:
        if t.dtype != "i8" or t.scale is None or t.zero_point is None or t.scale.size != 1:
            raise self.unsupported(op, f"has tensor {t.index} ({t.name!r}) of type {t.dtype} "
                                   "without per-tensor int8 quantization.",
                                   "Convert with full int8 quantization (int8 input and output).")
        return QParams(float(t.scale[0]), int(t.zero_point[0]))

    def ir_shape(self, t: Tensor, op: Operator) -> tuple[int, ...]:
        if not t.shape or t.shape[0] != 1 or len(t.shape) not in (2, 4):
            raise self.unsupported(op, f"has tensor {t.index} ({t.name!r}) of shape "
                                   f"{list(t.shape)}; slimgen supports batch-1 (1, F) and "
                                   "(1, H, W, C) tensors.")
        return t.shape[1:]

    def act_value(self, ti: int, op: Operator) -> Value:
        t = self.m.tensors[ti]
        return Value(f"t{ti}", self.ir_shape(t, op), "i8", q=self.qparams(t, op))

    def input_of(self, op: Operator, k: int = 0) -> Value:
        ti = op.inputs[k] if k < len(op.inputs) else -1
        if ti in self.pads:
            raise self.unsupported(op, "reads the output of a PAD; slimgen fuses PAD only into "
                                   "a following CONV_2D or DEPTHWISE_CONV_2D.")
        if ti < 0 or ti not in self.values:
            raise self.unsupported(op, f"reads tensor {ti}, which is not a feature map computed "
                                   "earlier in the model.")
        return self.values[ti]

    def _check_fresh(self, op: Operator) -> None:
        """Each tensor is written once: a graph that rewrites one is malformed (or cyclic)."""
        if op.outputs[0] in self.values or op.outputs[0] in self.pads:
            raise InputError(f"{self.path}: operator {op.index} ({op.name}) writes tensor "
                             f"{op.outputs[0]}, which the input or an earlier operator already "
                             "defines.", "The file is malformed; re-convert the model.")

    def options(self, op: Operator) -> Table:
        if op.options is None:
            raise self.unsupported(op, "has no options.")
        return op.options

    def origin(self, op: Operator) -> str:
        out = self.m.tensors[op.outputs[0]].name if op.outputs else ""
        return f"op {op.index} {op.name} ({out})"

    def emit(self, op: Operator, kind: str, ins: list[Value | None], attrs: Any) -> Value:
        if len(op.outputs) != 1:
            raise self.unsupported(op, f"has {len(op.outputs)} outputs.")
        self._check_fresh(op)
        out = self.act_value(op.outputs[0], op)
        self.nodes.append(Node(kind, ins, [out], attrs, "", self.origin(op)))
        self.values[op.outputs[0]] = out
        return out

    def const(self, op: Operator, k: int, dtype: str) -> Tensor:
        ti = op.inputs[k] if k < len(op.inputs) else -1
        if ti < 0:
            raise self.unsupported(op, f"has no input {k}.")
        t = self.m.tensors[ti]
        if t.data is None or t.dtype != dtype:
            raise self.unsupported(op, f"input {k} (tensor {ti}, {t.name!r}) must be a constant "
                                   f"{dtype} tensor, got {'a constant' if t.data is not None else 'a computed'} "
                                   f"{t.dtype} one.")
        return t

    # -- ops --

    def run(self) -> Graph:
        m = self.m
        if len(m.inputs) != 1 or len(m.outputs) != 1:
            raise UnsupportedError(f"{self.path} has {len(m.inputs)} inputs and {len(m.outputs)} "
                                   "outputs; slimgen compiles models with one of each.")
        first = m.tensors[m.inputs[0]]
        ops = list(m.operators)
        # A float model input quantized by its first op: the int8 tensor is the input.
        if first.dtype == "f32" and ops and ops[0].code == 114 and ops[0].inputs[:1] == [
                first.index] and len(ops[0].outputs) == 1:
            first = m.tensors[ops[0].outputs[0]]
            ops = ops[1:]
        pseudo = Operator(-1, -1, [], [first.index], None)
        xin = self.act_value(first.index, pseudo) if first.dtype == "i8" else None
        if xin is None:
            raise UnsupportedError(f"{self.path}: the model input {first.name!r} is {first.dtype}, "
                                   "not int8.", "Convert with full int8 quantization.")
        self.values[first.index] = xin
        out_ti = m.outputs[0]
        for op in ops:
            if len(op.outputs) != 1:
                raise self.unsupported(op, f"has {len(op.outputs)} outputs; slimgen's "
                                       "operators have one.")
            if op.code == 6 and op.outputs == [out_ti]:  # DEQUANTIZE of the model output
                out_ti = op.inputs[0]
                continue
            handler = getattr(self, "op_" + OP_NAMES.get(op.code, "?").lower(), None)
            if handler is None:
                raise self.unsupported(op, "is not supported by slimgen.")
            handler(op)
        if out_ti not in self.values or out_ti == first.index:
            raise UnsupportedError(f"{self.path}: the model output is not computed by an "
                                   "operator slimgen compiles.")
        yout = self.values[out_ti]
        out_t = m.tensors[out_ti]
        layout_in = "nhwc" if len(xin.shape) == 3 else "flat"
        layout_out = "nhwc" if len(yout.shape) == 3 else "flat"
        g = Graph(self.name, [xin], [yout], self.nodes, "quant", layout_in, layout_out,
                  xin.shape, tuple(out_t.shape[1:]))
        for i, n in enumerate(g.nodes):
            n.name = f"L{i}"
        return g

    def _conv(self, op: Operator, depthwise: bool) -> None:
        o = self.options(op)
        ti = op.inputs[0] if op.inputs else -1
        extra = (0, 0, 0, 0)
        if ti in self.pads:
            ti, extra = self.pads[ti]
        x = self.values.get(ti)
        if x is None or len(x.shape) != 3:
            raise self.unsupported(op, "needs a (1, H, W, C) feature map computed earlier.")
        assert x.q is not None
        wt = self.const(op, 1, "i8")
        if len(wt.shape) != 4:
            raise self.unsupported(op, f"has filter shape {list(wt.shape)}.")
        if depthwise:
            padding, sw, sh = (int(o.scalar(i, "i8" if i == 0 else "i32")) for i in range(3))
            dw, dh = int(o.scalar(5, "i32", 1)), int(o.scalar(6, "i32", 1))
            act = int(o.scalar(4, "i8"))
            _, kh, kw, cout = wt.shape
            w = wt.data.reshape(kh, kw, cout)  # type: ignore[union-attr]
        else:
            padding, sw, sh = (int(o.scalar(i, "i8" if i == 0 else "i32")) for i in range(3))
            act = int(o.scalar(3, "i8"))
            dw, dh = int(o.scalar(4, "i32", 1)), int(o.scalar(5, "i32", 1))
            cout, kh, kw, cin = wt.shape
            if cin != x.shape[2]:
                raise self.unsupported(op, f"has {cin} filter input channels for a "
                                       f"{x.shape[2]}-channel input (grouped convolution).")
            w = wt.data
        if min(sw, sh, dw, dh) < 1 or padding not in (0, 1) or act not in _ACTS:
            raise self.unsupported(op, f"has stride ({sh}, {sw}), dilation ({dh}, {dw}), padding "
                                   f"{padding}, fused activation {act}.")
        h, wd, cin = x.shape
        if depthwise and cout % cin:
            raise self.unsupported(op, f"has {cout} outputs for {cin} input channels.")
        hh, wwid = h + extra[0] + extra[2], wd + extra[1] + extra[3]
        oh, pt, pb = _same_pad(hh, kh, sh, dh, padding)
        ow, pl, pr = _same_pad(wwid, kw, sw, dw, padding)
        out_t = self.m.tensors[op.outputs[0]]
        if out_t.shape != (1, oh, ow, cout) or oh < 1 or ow < 1:
            raise InputError(f"{self.path}: operator {op.index} ({op.name}) declares output shape "
                             f"{list(out_t.shape)}, but its input and options give "
                             f"{[1, oh, ow, cout]}.", "The file is inconsistent; re-convert it.")
        pad = (pt + extra[0], pl + extra[1], pb + extra[2], pr + extra[3])
        ws = self._weight_scales(op, wt, cout, 3 if depthwise else 0)
        bias = self._bias(op, cout)
        oq = self.qparams(out_t, op)
        # TFLM PopulateConvolutionQuantizationParams: double(s_in) * double(s_w) / double(s_out).
        rq = self._requant([x.q.scale * s / oq.scale for s in ws], x.q, oq, act, op)
        attrs = ConvAttrs(kernel=(kh, kw), stride=(sh, sw), pad=pad, dilation=(dh, dw),
                          depthwise=depthwise, ch_mult=cout // cin if depthwise else 1, rq=rq)
        wv = Value(f"t{wt.index}", w.shape, "i8", np.ascontiguousarray(w))
        wv.scales = np.asarray(ws)  # type: ignore[attr-defined]
        self.emit(op, "dwconv2d" if depthwise else "conv2d",
                  [x, wv, Value(f"t{wt.index}_bias", (cout,), "i32", bias)], attrs)

    def op_conv_2d(self, op: Operator) -> None:
        self._conv(op, False)

    def op_depthwise_conv_2d(self, op: Operator) -> None:
        self._conv(op, True)

    def _weight_scales(self, op: Operator, wt: Tensor, cout: int, axis: int) -> list[float]:
        if wt.scale is None or wt.zero_point is None:
            raise self.unsupported(op, "has unquantized weights.")
        if np.any(wt.zero_point != 0):
            raise self.unsupported(op, "has weights with a non-zero zero point; the int8 spec "
                                   "(and slimgen) needs symmetric weights.")
        if wt.scale.size == 1:
            return [float(wt.scale[0])] * cout
        if wt.qdim != axis or wt.scale.size != cout:
            raise self.unsupported(op, f"quantizes its weights along dimension {wt.qdim}; "
                                   f"slimgen needs per-output-channel dimension {axis}.")
        return [float(s) for s in wt.scale]

    def _bias(self, op: Operator, cout: int) -> np.ndarray:
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            return np.zeros(cout, np.int32)
        b = self.const(op, 2, "i32")
        if b.shape != (cout,):
            raise InputError(f"{self.path}: operator {op.index} ({op.name}) has bias shape "
                             f"{list(b.shape)} for {cout} outputs.", "Re-convert the model.")
        return np.ascontiguousarray(b.data, np.int32)  # type: ignore[arg-type]

    def _requant(self, real: list[float], qi: QParams, qo: QParams, act: int,
                 op: Operator) -> Requant:
        try:
            pairs = [_qm(r) for r in real]
        except ValueError as e:
            raise self.unsupported(op, f"needs a requantization scale slimgen cannot represent "
                                   f"({e}).") from None
        lo, hi = _act_range(act, qo)
        if lo > hi:
            raise self.unsupported(op, f"has an empty activation range [{lo}, {hi}].")
        return Requant(mult=np.array([p[0] for p in pairs], np.int64),
                       shift=np.array([p[1] for p in pairs], np.int64), in_offset=-qi.zero_point,
                       out_offset=qo.zero_point, act_min=lo, act_max=hi)

    def op_fully_connected(self, op: Operator) -> None:
        x = self.input_of(op)
        assert x.q is not None
        o = op.options
        act = int(o.scalar(0, "i8")) if o is not None else 0
        if o is not None and int(o.scalar(1, "i8")) != 0:
            raise self.unsupported(op, "uses a shuffled weights format.")
        if act not in _ACTS:
            raise self.unsupported(op, f"has fused activation {act}.")
        wt = self.const(op, 1, "i8")
        if len(wt.shape) != 2 or wt.shape[1] != x.size:
            raise self.unsupported(op, f"has weights {list(wt.shape)} for a {x.size}-element "
                                   "input (slimgen runs batch 1).")
        cout = wt.shape[0]
        ws = self._weight_scales(op, wt, cout, 0)
        out_t = self.m.tensors[op.outputs[0]]
        if math.prod(out_t.shape) != cout:
            raise InputError(f"{self.path}: operator {op.index} (FULLY_CONNECTED) declares output "
                             f"shape {list(out_t.shape)} for {cout} outputs.",
                             "Re-convert the model.")
        oq = self.qparams(out_t, op)
        # TFLM takes the effective scale in double from the float32 scales, per-tensor or not
        # (a float32 product moves 9 of AD's 10 multipliers and flips output bytes).
        real = [x.q.scale * s / oq.scale for s in ws]
        rq = self._requant(real, x.q, oq, act, op)
        wv = Value(f"t{wt.index}", wt.shape, "i8", np.ascontiguousarray(wt.data))
        wv.scales = np.asarray(ws)  # type: ignore[attr-defined]
        self.emit(op, "fc", [x, wv, Value(f"t{wt.index}_bias", (cout,), "i32",
                                          self._bias(op, cout))], FcAttrs(rq=rq))

    def _pool(self, op: Operator, kind: str) -> None:
        x = self.input_of(op)
        o = self.options(op)
        if len(x.shape) != 3:
            raise self.unsupported(op, "needs a (1, H, W, C) input.")
        padding, sw, sh, fw, fh = (int(o.scalar(i, "i8" if i == 0 else "i32")) for i in range(5))
        act = int(o.scalar(5, "i8"))
        if min(sw, sh, fw, fh) < 1 or padding not in (0, 1) or act not in _ACTS:
            raise self.unsupported(op, f"has stride ({sh}, {sw}), filter ({fh}, {fw}), padding "
                                   f"{padding}, fused activation {act}.")
        h, w, c = x.shape
        oh, pt, pb = _same_pad(h, fh, sh, 1, padding)
        ow, pl, pr = _same_pad(w, fw, sw, 1, padding)
        out_t = self.m.tensors[op.outputs[0]]
        if out_t.shape != (1, oh, ow, c) or oh < 1 or ow < 1 or pt >= fh or pl >= fw:
            raise InputError(f"{self.path}: operator {op.index} ({op.name}) declares output shape "
                             f"{list(out_t.shape)}, but its input and options give "
                             f"{[1, oh, ow, c]}.", "The file is inconsistent; re-convert it.")
        oq = self.qparams(out_t, op)
        # TFLM pools integers as they are (no rescaling) and clamps in the output's domain;
        # averages count only the taps inside the input.
        self.emit(op, kind, [x], PoolAttrs(kind[:3], (fh, fw), (sh, sw), (pt, pl, pb, pr),
                                           count_include_pad=False,
                                           act_q=_act_range(act, oq)))

    def op_average_pool_2d(self, op: Operator) -> None:
        self._pool(op, "avgpool")

    def op_max_pool_2d(self, op: Operator) -> None:
        self._pool(op, "maxpool")

    def op_add(self, op: Operator) -> None:
        a, b = self.input_of(op, 0), self.input_of(op, 1)
        if a.shape != b.shape:
            raise self.unsupported(op, f"broadcasts {list(a.shape)} with {list(b.shape)}; "
                                   "slimgen adds tensors of equal shape.")
        act = int(op.options.scalar(0, "i8")) if op.options is not None else 0
        if act not in _ACTS:
            raise self.unsupported(op, f"has fused activation {act}.")
        oq = self.qparams(self.m.tensors[op.outputs[0]], op)
        assert a.q is not None and b.q is not None
        # TFLM's int8 ADD Prepare, in double from the float32 scales (as _add_params does).
        try:
            params = _add_params(a.q, b.q, oq, NO_ACT)
        except ValueError as e:
            raise self.unsupported(op, f"has scales slimgen cannot represent ({e}).") from None
        params["act_min"], params["act_max"] = _act_range(act, oq)
        self.emit(op, "add", [a, b], AddAttrs(params=params))

    def op_softmax(self, op: Operator) -> None:
        x = self.input_of(op)
        assert x.q is not None
        if math.prod(x.shape[:-1]) != 1:
            raise self.unsupported(op, f"runs over the last axis of a {list(x.shape)} tensor; "
                                   "slimgen supports softmax over one feature vector.")
        beta = float(op.options.scalar(0, "f32", 1.0)) if op.options is not None else 1.0
        out_t = self.m.tensors[op.outputs[0]]
        oq = self.qparams(out_t, op)
        if oq != QParams(1.0 / 256.0, -128):
            raise self.unsupported(op, f"has output quantization {oq}; TFLite int8 softmax "
                                   "outputs scale 1/256, zero point -128.")
        try:
            mult, left_shift = preprocess_softmax_scaling(beta, x.q.scale, 5)
        except ValueError as e:
            raise self.unsupported(op, f"has input scale {x.q.scale} and beta {beta} ({e}).")
        self.emit(op, "softmax", [x], SoftmaxAttrs(mult, left_shift,
                                                   -calculate_input_radius(5, left_shift, 31)))

    def op_reshape(self, op: Operator) -> None:
        x = self.input_of(op)
        out_t = self.m.tensors[op.outputs[0]]
        if math.prod(out_t.shape) != x.size:
            raise InputError(f"{self.path}: operator {op.index} (RESHAPE) changes {x.size} "
                             f"elements into shape {list(out_t.shape)}.", "Re-convert the model.")
        oq = self.qparams(out_t, op)
        if oq != x.q:
            raise self.unsupported(op, "changes the quantization of its input.")
        # Both sides are row-major NHWC, so a reshape is free: readers take the input buffer
        # (a model output keeps its producer's shape; the bytes are the same).
        self._check_fresh(op)
        self.values[op.outputs[0]] = x

    def op_pad(self, op: Operator) -> None:
        x = self.input_of(op)
        p = self.const(op, 1, "i32").data
        assert p is not None
        out_t = self.m.tensors[op.outputs[0]]
        if len(x.shape) != 3 or p.shape != (4, 2) or np.any(p[0] != 0) or np.any(p[3] != 0) \
                or np.any(p < 0):
            raise self.unsupported(op, "pads other than height and width, or by a negative "
                                   "amount.")
        if self.qparams(out_t, op) != x.q:
            raise self.unsupported(op, "changes the quantization of its input.")
        pad = (int(p[1, 0]), int(p[2, 0]), int(p[1, 1]), int(p[2, 1]))
        want = (1, x.shape[0] + pad[0] + pad[2], x.shape[1] + pad[1] + pad[3], x.shape[2])
        if out_t.shape != want:
            raise InputError(f"{self.path}: operator {op.index} (PAD) declares output shape "
                             f"{list(out_t.shape)}, but its input and paddings give {list(want)}.",
                             "Re-convert the model.")
        ti = op.inputs[0]
        self._check_fresh(op)
        # PAD fills with the zero point, exactly the taps a convolution skips: fuse it.
        self.pads[op.outputs[0]] = (ti, pad)

    def op_mean(self, op: Operator) -> None:
        x = self.input_of(op)
        axes = self.const(op, 1, "i32").data
        assert axes is not None and x.q is not None
        resolved = sorted({int(a) % 4 for a in axes.reshape(-1)})
        if len(x.shape) != 3 or resolved != [1, 2] or axes.size != 2:
            raise self.unsupported(op, f"averages axes {axes.reshape(-1).tolist()} of a "
                                   f"{[1, *x.shape]} tensor; slimgen supports the global mean "
                                   "over height and width.")
        h, w, c = x.shape
        out_t = self.m.tensors[op.outputs[0]]
        if math.prod(out_t.shape) != c:
            raise InputError(f"{self.path}: operator {op.index} (MEAN) declares output shape "
                             f"{list(out_t.shape)} for {c} channels.", "Re-convert the model.")
        oq = self.qparams(out_t, op)
        n = h * w
        mult, shift = self._mean_multiplier(x.q.scale / oq.scale, n, op)
        # TFLM's int8 MEAN is sum(x - zp_in) requantized by (s_in / s_out) / n, with the 1/n
        # folded into the multiplier: exactly a depthwise HxW convolution with unit weights.
        rq = Requant(mult=np.full(c, mult), shift=np.full(c, shift), in_offset=-x.q.zero_point,
                     out_offset=oq.zero_point, act_min=-128, act_max=127)
        attrs = ConvAttrs(kernel=(h, w), stride=(1, 1), pad=(0, 0, 0, 0), depthwise=True, rq=rq)
        ones = Value(f"t{op.outputs[0]}_ones", (h, w, c), "i8", np.ones((h, w, c), np.int8))
        ones.scales = np.full(c, 1.0 / n)  # type: ignore[attr-defined]
        self.emit(op, "dwconv2d", [x, ones, Value(f"t{op.outputs[0]}_bias", (c,), "i32",
                                                  np.zeros(c, np.int32))], attrs)
        out = self.values[op.outputs[0]]
        out.shape = (1, 1, c)

    def _mean_multiplier(self, real: float, n: int, op: Operator) -> tuple[int, int]:
        """TFLite's QuantizedMeanOrSum: QuantizeMultiplier(s_in / s_out), then 1/n folded in as
        ``(mult << s) / n`` (truncating) with ``s = min(floor(log2 n), 32, 31 + shift)``."""
        try:
            mult, shift = _qm(real)
        except ValueError as e:
            raise self.unsupported(op, f"has scales slimgen cannot represent ({e}).") from None
        s = min(n.bit_length() - 1, 32, 31 + shift)
        return (mult << s) // n, shift - s

    def op_quantize(self, op: Operator) -> None:
        raise self.unsupported(op, "requantizes inside the model; slimgen accepts QUANTIZE only "
                               "on the float model input.")

    def op_dequantize(self, op: Operator) -> None:
        raise self.unsupported(op, "dequantizes inside the model; slimgen accepts DEQUANTIZE "
                               "only on the model output.")


def import_tflite(path: Path, name: str) -> tuple[Graph, Graph]:
    """(float graph with dequantized weights, quant graph) for the .tflite file at ``path``."""
    if not path.exists() or path.is_dir():
        raise InputError(f"model file {path} does not exist or is a folder.", "Check the path.")
    buf = path.read_bytes()
    try:
        qg = _Importer(parse(buf, path), name, path).run()
    except FlatbufferError as e:  # operator options are read as each operator is imported
        raise _bad(path, str(e)) from None
    if not qg.nodes:
        raise UnsupportedError(f"{path} does no computation slimgen can compile.")
    return dequantized_graph(qg), qg


def _real_act(lo: int, hi: int, q: QParams) -> tuple[float, float]:
    # A fused ReLU often clamps nothing in int8 (zero point -128 puts real 0 at the range's
    # bottom), yet the float model it stands for still clamps at 0.
    return ((q.dequantize(np.array(lo)).item() if lo > -128 or q.zero_point == -128
             else -math.inf),
            (q.dequantize(np.array(hi)).item() if hi < 127 else math.inf))


def dequantized_graph(qg: Graph) -> Graph:
    """The float model a quant graph approximates: weights and bias dequantized, clamps real.

    ``verify`` compares the int8 output with it, the way it compares a PyTorch model's.
    """
    fv: dict[int, Value] = {}

    def f(v: Value) -> Value:
        if id(v) not in fv:
            fv[id(v)] = Value(v.name, v.shape, "f32")
        return fv[id(v)]

    nodes = []
    for n in qg.nodes:
        ins: list[Value | None] = [f(n.x)]
        a = n.attrs
        oq = n.out.q
        assert oq is not None
        if n.op in ("conv2d", "dwconv2d", "fc"):
            w, b = n.inputs[1], n.inputs[2]
            assert w is not None and b is not None and w.data is not None and b.data is not None
            s = np.asarray(w.scales)  # type: ignore[attr-defined]
            ws = s if n.op == "dwconv2d" else s.reshape((-1,) + (1,) * (w.data.ndim - 1))
            sin = n.x.q.scale  # type: ignore[union-attr]
            ins += [Value(w.name, w.shape, "f32", (w.data * ws).astype(np.float32)),
                    Value(b.name, b.shape, "f32", (b.data * sin * s).astype(np.float32))]
            a = replace(a, rq=None, act=_real_act(a.rq.act_min, a.rq.act_max, oq))
        elif n.op == "add":
            ins.append(f(n.inputs[1]))  # type: ignore[arg-type]
            a = replace(a, params={}, act=_real_act(a.params["act_min"], a.params["act_max"], oq))
        elif n.op in ("maxpool", "avgpool"):
            a = replace(a, act=_real_act(*a.act_q, oq), act_q=(-128, 127))
        elif n.op == "softmax":
            a = SoftmaxAttrs()
        nodes.append(Node(n.op, ins, [f(n.out)], a, n.name, n.origin))
    return Graph(qg.name, [f(qg.inputs[0])], [f(qg.outputs[0])], nodes, "float",
                 qg.input_layout, qg.output_layout, qg.input_torch_shape, qg.output_torch_shape)
