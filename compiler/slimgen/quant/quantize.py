"""Float stage -> quant stage, following the TFLite int8 specification exactly.

- activations: asymmetric per-tensor int8, range widened to include 0 so that zero (padding,
  ReLU) is exactly representable;
- conv / depthwise / linear weights: symmetric per output channel, zero point 0, [-127, 127];
- bias: int32 with scale s_in * s_w[c];
- each compute node: Q31 multiplier + shift of s_in * s_w[c] / s_out (quantize_multiplier);
- max/avg pooling, clamp and transposes keep their input's scale and zero point;
- add: TFLite's scheme (left shift 20, both inputs rescaled to twice the larger input scale);
- softmax: output scale 1/256, zero point -128; input scaling as TFLite's PreprocessSoftmaxScaling.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import InputError
from ..ir.attrs import AddAttrs, ClampAttrs, SoftmaxAttrs
from ..ir.graph import Graph, Node, QParams, Value
from ..ref.requant import Requant
from .calibrate import RangeStats
from .multiplier import calculate_input_radius, preprocess_softmax_scaling, quantize_multiplier

ADD_LEFT_SHIFT = 20
SOFTMAX_OUT = QParams(1.0 / 256.0, -128)
_KEEP_QPARAMS = ("maxpool", "avgpool", "clamp", "transpose", "reshape")


def choose_qparams(lo: float, hi: float) -> QParams:
    """Asymmetric int8 parameters for the real range [lo, hi] (TFLite's ChooseQuantizationParams)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"calibration produced a non-finite activation range [{lo}, {hi}].",
                         "Check the calibration data and the model weights for NaN/Inf.")
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1.0  # a constant-zero tensor: any scale represents it exactly
    scale = (hi - lo) / 255.0
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return QParams(float(scale), zp)


def quantize_clamp(act: tuple[float, float], q: QParams) -> tuple[int, int]:
    """A real-valued clamp expressed in the int8 domain of ``q``, within [-128, 127]."""
    lo = -128 if act[0] == -math.inf else max(-128, q.zero_point + round(act[0] / q.scale))
    hi = 127 if act[1] == math.inf else min(127, q.zero_point + round(act[1] / q.scale))
    return int(lo), int(max(lo, hi))


def quantize_weights(w: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-channel int8: returns (q, scale[c])."""
    moved = np.moveaxis(w.astype(np.float64), axis, 0)
    amax = np.abs(moved.reshape(moved.shape[0], -1)).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(moved / scale.reshape((-1,) + (1,) * (moved.ndim - 1))), -127, 127)
    return np.ascontiguousarray(np.moveaxis(q, 0, axis).astype(np.int8)), scale


def quantize_weights_and_bias(w: np.ndarray, b: np.ndarray, axis: int, in_scale: float
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel int8 weights, their scales and the int32 bias (scale ``in_scale * s_w``).

    A channel whose weights are nearly zero but whose bias is not (a BatchNorm with gamma ~ 0,
    common in trained MobileNets) would get a bias far outside int32. Like TFLite's
    AdjustWeightsForBiasScale, its weight scale is raised until the bias, plus the largest sum
    the taps can add (|x + in_offset| <= 255), fits the int32 accumulator.
    """
    wq, ws = quantize_weights(w, axis)
    taps = w.size // w.shape[axis]
    limit = float(max(2**31 - 1 - 255 * 127 * taps, 2**24))
    need = np.abs(b.astype(np.float64)) / (in_scale * limit)
    if np.any(need > ws):
        ws = np.maximum(ws, need)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w.astype(np.float64) / ws.reshape(shape))
        wq = np.clip(q, -127, 127).astype(np.int8)
    bq = np.clip(np.round(b.astype(np.float64) / (in_scale * ws)), -2**31, 2**31 - 1)
    return wq, ws, bq


def _requant_arrays(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(r)) for r in real]
    return (np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.int32))


def quantize_graph(g: Graph, stats: RangeStats) -> Graph:
    """Return a new quant-stage graph for float-stage ``g``."""
    qv: dict[int, Value] = {}

    def q_of(v: Value) -> Value:
        return qv[id(v)]

    def new_act(v: Value, q: QParams) -> Value:
        out = Value(v.name, v.shape, "i8", q=q)
        qv[id(v)] = out
        return out

    x = g.inputs[0]
    qin = new_act(x, choose_qparams(*stats.range(x)))
    nodes: list[Node] = []
    for n in g.nodes:
        xin = q_of(n.x)
        assert xin.q is not None
        if n.op in _KEEP_QPARAMS:
            out = new_act(n.out, xin.q)
            attrs = n.attrs
            if n.op in ("maxpool", "avgpool"):
                attrs = dataclasses.replace(attrs, act_q=quantize_clamp(attrs.act, xin.q),
                                            pad_value=xin.q.zero_point)
            elif n.op == "clamp":
                attrs = ClampAttrs(attrs.act, quantize_clamp(attrs.act, xin.q))
            nodes.append(Node(n.op, [xin], [out], attrs, n.name, n.origin))
            continue
        if n.op == "softmax":
            out = new_act(n.out, SOFTMAX_OUT)
            mult, left_shift = preprocess_softmax_scaling(1.0, xin.q.scale, 5)
            attrs = SoftmaxAttrs(mult, left_shift, -calculate_input_radius(5, left_shift, 31))
            nodes.append(Node("softmax", [xin], [out], attrs, n.name, n.origin))
            continue
        out = new_act(n.out, choose_qparams(*stats.range(n.out)))
        assert out.q is not None
        if n.op == "add":
            x2 = q_of(n.inputs[1])  # type: ignore[arg-type]
            nodes.append(Node("add", [xin, x2], [out], AddAttrs(n.attrs.act, _add_params(
                xin.q, x2.q, out.q, n.attrs.act)), n.name, n.origin))  # type: ignore[arg-type]
            continue
        # conv2d / dwconv2d / fc
        w, b = n.inputs[1], n.inputs[2]
        assert w is not None and w.data is not None and b is not None and b.data is not None
        axis = -1 if n.op == "dwconv2d" else 0
        wq, ws, bq = quantize_weights_and_bias(w.data, b.data, axis, xin.q.scale)
        bias_scale = xin.q.scale * ws
        mult, shift = _requant_arrays(bias_scale / out.q.scale)
        act_min, act_max = quantize_clamp(n.attrs.act, out.q)
        rq = Requant(mult=mult, shift=shift, in_offset=-xin.q.zero_point,
                     out_offset=out.q.zero_point, act_min=act_min, act_max=act_max)
        wv = Value(w.name, w.shape, "i8", wq)
        wv.scales = ws  # type: ignore[attr-defined]  # kept for reports and dequantization
        bv = Value(b.name, b.shape, "i32", bq.astype(np.int32))
        nodes.append(Node(n.op, [xin, wv, bv], [out], dataclasses.replace(n.attrs, rq=rq),
                          n.name, n.origin))
    qg = Graph(g.name, [qin], [q_of(v) for v in g.outputs], nodes, "quant", g.input_layout,
               g.output_layout, g.input_torch_shape, g.output_torch_shape)
    return qg


def _add_params(q1: QParams, q2: QParams, qo: QParams, act: tuple[float, float]) -> dict[str, int]:
    twice_max = 2.0 * max(q1.scale, q2.scale)
    m1, s1 = quantize_multiplier(q1.scale / twice_max)
    m2, s2 = quantize_multiplier(q2.scale / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * qo.scale))
    lo, hi = quantize_clamp(act, qo)
    return dict(left_shift=ADD_LEFT_SHIFT, in1_offset=-q1.zero_point, in1_mult=m1, in1_shift=s1,
                in2_offset=-q2.zero_point, in2_mult=m2, in2_shift=s2, out_offset=qo.zero_point,
                out_mult=mo, out_shift=so, act_min=lo, act_max=hi)
