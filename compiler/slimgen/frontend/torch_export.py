"""torch.export ExportedProgram -> slimgen IR at stage "float".

Layout is converted here, once: NCHW activations become NHWC (H, W, C), conv weights OIHW become
OHWI, depthwise weights become (K_h, K_w, C_out). Nothing after this module permutes anything,
except the flatten of a spatial map, whose NCHW element order a pass folds into the next Linear.

Each supported aten op has one small importer function in ``IMPORTERS``; an op missing from the
table is reported with its place in the model and the list of what is supported.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InputError, UnsupportedError
from ..ir.attrs import (
    AddAttrs,
    BatchNormAttrs,
    ClampAttrs,
    ConvAttrs,
    FcAttrs,
    PadAttrs,
    PoolAttrs,
    ReshapeAttrs,
    SoftmaxAttrs,
)
from ..ir.graph import Graph, Node, Value

SUPPORTED_TEXT = (
    "Conv2d (groups=1 or depthwise), Linear, BatchNorm1d/2d, ReLU, ReLU6, Hardtanh, clamp, "
    "MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), mean over H,W, residual add, flatten/view/"
    "reshape, softmax at the output, dropout, F.pad (constant zero) before a conv"
)


# Decomposed spellings shown to users under the name they wrote in PyTorch.
_FRIENDLY = {
    "aten._native_batch_norm_legit_no_training": "aten.batch_norm",
    "aten.convolution": "aten.conv2d",
    "aten.constant_pad_nd": "aten.pad",
    "aten._softmax": "aten.softmax",
}


class _Importer:
    def __init__(self, ep: Any, name: str) -> None:
        self.ep = ep
        self.env: dict[str, Any] = {}  # fx node name -> Value | np.ndarray | tuple | scalar
        self.nodes: list[Node] = []
        self.name = name
        self.counter = 0

    # -- helpers ----------------------------------------------------------------------------
    def origin(self, fx: Any) -> str:
        stack = fx.meta.get("nn_module_stack") or {}
        path = ""
        if stack:
            path = list(stack.values())[-1][0]
        target = str(fx.target).replace(".default", "")
        target = _FRIENDLY.get(target, target)
        return f"{path} ({target})" if path else f"{fx.name} ({target})"

    def torch_shape(self, fx: Any) -> tuple[int, ...]:
        val = fx.meta.get("val")
        if val is None or not hasattr(val, "shape"):
            raise UnsupportedError(f"{self.origin(fx)}: slimgen cannot see the shape of this value.")
        shape = []
        for i, d in enumerate(val.shape):
            if i == 0 and not isinstance(d, int):
                d = 1  # a dynamic batch is fine: the generated code runs one sample at a time
            if not isinstance(d, int):
                raise UnsupportedError(
                    f"{self.origin(fx)} has a dynamic shape {tuple(val.shape)}.",
                    "Export with fixed sizes except the batch (no dynamic_shapes=... on C, H, "
                    "W or F); slimgen generates code for one input size.",
                )
            shape.append(d)
        if 0 in shape[1:]:
            raise UnsupportedError(
                f"{self.origin(fx)} produces a zero-sized tensor {tuple(shape)}.",
                "Every layer needs at least one channel, feature and pixel; remove the empty "
                "layer or give it a size.",
            )
        return tuple(shape)

    def act(self, fx: Any, arg: Any) -> Value:
        v = self.env.get(getattr(arg, "name", None)) if hasattr(arg, "name") else None
        if not isinstance(v, Value) or v.is_const:
            raise UnsupportedError(
                f"{self.origin(fx)} takes a constant where slimgen expects a feature map.",
                f"slimgen supports: {SUPPORTED_TEXT}.",
            )
        return v

    def const(self, arg: Any) -> np.ndarray | None:
        if arg is None:
            return None
        v = self.env.get(arg.name)
        if isinstance(v, Value) and v.is_const:
            return v.data
        if isinstance(v, np.ndarray):
            return v
        return None

    def new_value(self, fx: Any, shape: tuple[int, ...]) -> Value:
        return Value(f"{fx.name}", shape, "f32")

    def emit(self, op: str, fx: Any, inputs: list[Value | None], attrs: Any,
             shape: tuple[int, ...]) -> Value:
        out = self.new_value(fx, shape)
        self.nodes.append(Node(op, inputs, [out], attrs, origin=self.origin(fx)))
        return out

    @staticmethod
    def nhwc(torch_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Per-sample IR shape of a batch-first torch shape."""
        if len(torch_shape) == 4:
            _, c, h, w = torch_shape
            return (h, w, c)
        if len(torch_shape) == 2:
            return (torch_shape[1],)
        raise ValueError(torch_shape)

    def check_rank(self, fx: Any, shape: tuple[int, ...]) -> None:
        if len(shape) not in (2, 4):
            raise UnsupportedError(
                f"{self.origin(fx)} produces a rank-{len(shape)} tensor {shape}; slimgen supports "
                "batch-first 2-D (N, F) and 4-D (N, C, H, W) tensors.",
                "Reshape to (N, C, H, W) or (N, F), or use Conv2d for 1-D signals.",
            )

    def unsupported(self, fx: Any, why: str, fix: str = "") -> UnsupportedError:
        return UnsupportedError(f"unsupported: {self.origin(fx)} {why}",
                                fix or f"slimgen supports: {SUPPORTED_TEXT}.")


Handler = Callable[[_Importer, Any], Any]
IMPORTERS: dict[str, Handler] = {}


def _op(*names: str) -> Callable[[Handler], Handler]:
    def reg(fn: Handler) -> Handler:
        for n in names:
            IMPORTERS[n] = fn
        return fn

    return reg


def _pair(v: Any, default: int | None = None) -> tuple[int, int]:
    if v is None or (isinstance(v, (list, tuple)) and len(v) == 0):
        assert default is not None
        return (default, default)
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    return (int(v[0]), int(v[-1])) if len(v) <= 2 else (int(v[0]), int(v[1]))


def _args(fx: Any, names: list[str], defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for name, a in zip(names, fx.args):
        out[name] = a
    out.update(fx.kwargs)
    return out


def _conv_common(im: _Importer, fx: Any, x_arg: Any, w_arg: Any, b_arg: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int) -> Value:
    x = im.act(fx, x_arg)
    w = im.const(w_arg)
    if w is None:
        raise im.unsupported(fx, "has weights computed at run time.",
                             "slimgen needs constant convolution weights.")
    if len(x.shape) != 3:
        raise im.unsupported(fx, "is a convolution over a non-4-D input.")
    b = im.const(b_arg)
    out_shape = im.torch_shape(fx)
    cout, cin_g, kh, kw = w.shape
    cin = x.shape[2]
    sh, sw = _pair(stride, 1)
    dh, dw = _pair(dilation, 1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        else:  # "same": torch puts the odd extra element at the end
            th, tw = dh * (kh - 1), dw * (kw - 1)
            pads = (th // 2, tw // 2, th - th // 2, tw - tw // 2)
    else:
        ph, pw = _pair(padding, 0)
        pads = (ph, pw, ph, pw)
    if groups == 1 or (groups == cin and cin_g == 1 and cin == 1):
        attrs = ConvAttrs((kh, kw), (sh, sw), pads, (dh, dw))
        weights = np.ascontiguousarray(w.transpose(0, 2, 3, 1)).astype(np.float32)
    elif groups == cin and cin_g == 1 and cout % cin == 0:
        attrs = ConvAttrs((kh, kw), (sh, sw), pads, (dh, dw), depthwise=True, ch_mult=cout // cin)
        weights = np.ascontiguousarray(w[:, 0].transpose(1, 2, 0)).astype(np.float32)
    else:
        raise im.unsupported(
            fx,
            f"has groups={groups} with {cin} input channels.",
            f"slimgen supports groups=1 (conv) or groups=in_channels (depthwise). Split the layer, "
            f"or set groups to 1 or {cin}.",
        )
    wv = Value(f"{fx.name}.w", weights.shape, "f32", weights)
    bias = b if b is not None else np.zeros(cout, np.float32)
    bv = Value(f"{fx.name}.b", (cout,), "f32", bias.astype(np.float32))
    return im.emit("dwconv2d" if attrs.depthwise else "conv2d", fx, [x, wv, bv], attrs,
                   im.nhwc(out_shape))


@_op("conv2d")
def _conv2d(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "w", "b", "stride", "padding", "dilation", "groups"],
              {"b": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
    return _conv_common(im, fx, a["x"], a["w"], a["b"], a["stride"], a["padding"], a["dilation"],
                        int(a["groups"]))


@_op("convolution")
def _convolution(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "w", "b", "stride", "padding", "dilation", "transposed", "output_padding",
                   "groups"], {})
    if a["transposed"]:
        raise im.unsupported(fx, "is a transposed convolution.")
    if im.const(a["w"]) is not None and im.const(a["w"]).ndim != 4:
        raise im.unsupported(fx, "is not a 2-D convolution.",
                             "Use Conv2d; for 1-D signals use a (1, k) kernel on (N, C, 1, L).")
    return _conv_common(im, fx, a["x"], a["w"], a["b"], a["stride"], a["padding"], a["dilation"],
                        int(a["groups"]))


@_op("linear")
def _linear(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "w", "b"], {"b": None})
    x = im.act(fx, a["x"])
    w = im.const(a["w"])
    if w is None:
        raise im.unsupported(fx, "has weights computed at run time.")
    if len(x.shape) != 1:
        raise im.unsupported(fx, f"applies a Linear to a {len(x.shape) + 1}-D tensor.",
                             "Flatten to (N, F) before the Linear layer.")
    b = im.const(a["b"])
    out_f = w.shape[0]
    wv = Value(f"{fx.name}.w", w.shape, "f32", w.astype(np.float32))
    bias = b if b is not None else np.zeros(out_f, np.float32)
    bv = Value(f"{fx.name}.b", (out_f,), "f32", bias.astype(np.float32))
    return im.emit("fc", fx, [x, wv, bv], FcAttrs(), (out_f,))


def _batchnorm(im: _Importer, fx: Any, a: dict[str, Any]) -> Value:
    x = im.act(fx, a["x"])
    mean, var = im.const(a["mean"]), im.const(a["var"])
    if mean is None or var is None:
        raise im.unsupported(fx, "is a BatchNorm without running statistics.",
                             "Export the model in eval mode (model.eval()) with "
                             "track_running_stats=True.")
    c = x.shape[-1]
    gamma = im.const(a["w"])
    beta = im.const(a["b"])
    gamma = np.ones(c) if gamma is None else gamma.astype(np.float64)
    beta = np.zeros(c) if beta is None else beta.astype(np.float64)
    scale = gamma / np.sqrt(var.astype(np.float64) + float(a["eps"]))
    shift = beta - mean.astype(np.float64) * scale
    attrs = BatchNormAttrs(tuple(float(s) for s in scale), tuple(float(s) for s in shift))
    return im.emit("batchnorm", fx, [x], attrs, x.shape)


@_op("batch_norm")
def _batch_norm(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "w", "b", "mean", "var", "training", "momentum", "eps"], {"eps": 1e-5})
    if a["training"]:
        raise im.unsupported(fx, "is a BatchNorm in training mode.",
                             "Call model.eval() before torch.export.export.")
    return _batchnorm(im, fx, a)


@_op("_native_batch_norm_legit_no_training")
def _bn_no_training(im: _Importer, fx: Any) -> tuple[Value]:
    a = _args(fx, ["x", "w", "b", "mean", "var", "momentum", "eps"], {})
    return (_batchnorm(im, fx, a),)


@_op("_native_batch_norm_legit_functional", "_native_batch_norm_legit", "native_batch_norm")
def _bn_training(im: _Importer, fx: Any) -> Value:
    raise im.unsupported(fx, "is a BatchNorm in training mode.",
                         "Call model.eval() before torch.export.export.")


def _clamp_node(im: _Importer, fx: Any, lo: float, hi: float) -> Value:
    x = im.act(fx, fx.args[0])
    if lo > hi:
        raise im.unsupported(fx, f"clamps to an empty range [{lo}, {hi}].")
    return im.emit("clamp", fx, [x], ClampAttrs((lo, hi)), x.shape)


@_op("relu")
def _relu(im: _Importer, fx: Any) -> Value:
    return _clamp_node(im, fx, 0.0, math.inf)


@_op("relu6")
def _relu6(im: _Importer, fx: Any) -> Value:
    return _clamp_node(im, fx, 0.0, 6.0)


@_op("hardtanh")
def _hardtanh(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "lo", "hi"], {"lo": -1.0, "hi": 1.0})
    return _clamp_node(im, fx, float(a["lo"]), float(a["hi"]))


@_op("clamp", "clip")
def _clamp(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "min", "max"], {"min": None, "max": None})
    for k in ("min", "max"):
        if a[k] is not None and not isinstance(a[k], (int, float)):
            raise im.unsupported(fx, "clamps to tensor bounds.", "Use scalar clamp bounds.")
    lo = -math.inf if a["min"] is None else float(a["min"])
    hi = math.inf if a["max"] is None else float(a["max"])
    return _clamp_node(im, fx, lo, hi)


@_op("clamp_min")
def _clamp_min(im: _Importer, fx: Any) -> Value:
    return _clamp_node(im, fx, float(fx.args[1]), math.inf)


@_op("clamp_max")
def _clamp_max(im: _Importer, fx: Any) -> Value:
    return _clamp_node(im, fx, -math.inf, float(fx.args[1]))


def _pool_out(n: int, k: int, s: int, p: int, ceil: bool) -> int:
    span = n + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool(im: _Importer, fx: Any, kind: str, a: dict[str, Any]) -> Value:
    x = im.act(fx, a["x"])
    if len(x.shape) != 3:
        raise im.unsupported(fx, "pools a non-4-D tensor.")
    kh, kw = _pair(a["kernel"])
    sh, sw = _pair(a["stride"], None) if a["stride"] else (kh, kw)
    ph, pw = _pair(a["padding"], 0)
    if _pair(a.get("dilation", 1), 1) != (1, 1):
        raise im.unsupported(fx, "is a dilated pooling.", "Use dilation=1.")
    if a.get("divisor_override") is not None:
        raise im.unsupported(fx, "uses divisor_override.", "Remove divisor_override.")
    out_shape = im.nhwc(im.torch_shape(fx))
    oh, ow = out_shape[0], out_shape[1]
    h, w = x.shape[0], x.shape[1]
    # Windows that run past the bottom/right (ceil_mode) are clipped like padding there.
    pb = max(0, (oh - 1) * sh + kh - h - ph)
    pr = max(0, (ow - 1) * sw + kw - w - pw)
    attrs = PoolAttrs(kind, (kh, kw), (sh, sw), (ph, pw, pb, pr),
                      count_include_pad=bool(a.get("count_include_pad", True)))
    if kind == "avg" and attrs.count_include_pad and (pb > ph or pr > pw):
        # torch counts padding only up to the symmetric pad; beyond that (ceil_mode) it does not.
        raise im.unsupported(fx, "is an AvgPool2d with ceil_mode whose last window overhangs "
                             "the padding.", "Use ceil_mode=False or count_include_pad=False.")
    return im.emit(f"{kind}pool", fx, [x], attrs, out_shape)


@_op("max_pool2d")
def _max_pool2d(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "kernel", "stride", "padding", "dilation", "ceil_mode"],
              {"stride": None, "padding": 0, "dilation": 1})
    return _pool(im, fx, "max", a)


@_op("max_pool2d_with_indices")
def _max_pool2d_idx(im: _Importer, fx: Any) -> tuple[Value, None]:
    return (_max_pool2d(im, fx), None)


@_op("avg_pool2d")
def _avg_pool2d(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "kernel", "stride", "padding", "ceil_mode", "count_include_pad",
                   "divisor_override"], {"stride": None, "padding": 0, "count_include_pad": True})
    return _pool(im, fx, "avg", a)


def _global_avg(im: _Importer, fx: Any, x: Value, out_shape: tuple[int, ...]) -> Value:
    h, w, _ = x.shape
    attrs = PoolAttrs("avg", (h, w), (h, w), (0, 0, 0, 0), count_include_pad=False)
    return im.emit("avgpool", fx, [x], attrs, out_shape)


@_op("adaptive_avg_pool2d", "_adaptive_avg_pool2d")
def _adaptive_avg(im: _Importer, fx: Any) -> Value:
    x = im.act(fx, fx.args[0])
    if len(x.shape) != 3:
        raise im.unsupported(fx, "pools a non-4-D tensor.")
    oh, ow = _pair(fx.args[1])
    h, w, _ = x.shape
    if (oh, ow) == (1, 1):
        return _global_avg(im, fx, x, (1, 1, x.shape[2]))
    if h % oh or w % ow:
        raise im.unsupported(fx, f"adapts {h}x{w} to {oh}x{ow}, which is not a whole-window "
                             "average.", "Use AdaptiveAvgPool2d(1) or an AvgPool2d.")
    k = (h // oh, w // ow)
    attrs = PoolAttrs("avg", k, k, (0, 0, 0, 0), count_include_pad=False)
    return im.emit("avgpool", fx, [x], attrs, (oh, ow, x.shape[2]))


@_op("mean")
def _mean(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "dims", "keepdim"], {"dims": None, "keepdim": False})
    x = im.act(fx, a["x"])
    dims = a["dims"]
    if len(x.shape) != 3 or dims is None or sorted(d % 4 for d in dims) != [2, 3]:
        raise im.unsupported(fx, f"is a mean over dims {dims}; slimgen supports the mean over "
                             "H and W of an (N, C, H, W) tensor.")
    out = _global_avg(im, fx, x, (1, 1, x.shape[2]))
    if a["keepdim"]:
        return out
    return _reshape_to(im, fx, out, (x.shape[2],))


def _reshape_to(im: _Importer, fx: Any, x: Value, shape: tuple[int, ...]) -> Value:
    out = Value(f"{fx.name}.flat", shape, "f32")
    im.nodes.append(Node("reshape", [x], [out], ReshapeAttrs(), origin=im.origin(fx)))
    return out


@_op("add")
def _add(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["a", "b", "alpha"], {"alpha": 1})
    if a["alpha"] != 1:
        raise im.unsupported(fx, "is an add with alpha != 1.")
    if not (hasattr(a["a"], "name") and hasattr(a["b"], "name")):
        raise im.unsupported(fx, "adds a scalar to a tensor.", "slimgen supports the add of two "
                             "feature maps of the same shape (residual add).")
    x1, x2 = im.act(fx, a["a"]), im.act(fx, a["b"])
    if x1.shape != x2.shape:
        raise im.unsupported(fx, f"adds tensors of different shapes {x1.shape} and {x2.shape} "
                             "(broadcasting).", "Add feature maps of the same shape.")
    return im.emit("add", fx, [x1, x2], AddAttrs(), x1.shape)


@_op("view", "reshape", "_unsafe_view", "flatten", "squeeze", "unsqueeze")
def _view(im: _Importer, fx: Any) -> Value:
    x = im.act(fx, fx.args[0])
    shape = im.torch_shape(fx)
    im.check_rank(fx, shape)
    new = im.nhwc(shape)
    if new == x.shape:
        return x
    if len(new) == 1 and len(x.shape) == 3 and new[0] == x.size:
        if x.shape[0] * x.shape[1] == 1:
            return _reshape_to(im, fx, x, new)
        out = Value(f"{fx.name}", new, "f32")
        im.nodes.append(Node("flatten", [x], [out], ReshapeAttrs(), origin=im.origin(fx)))
        return out
    raise im.unsupported(fx, f"reshapes {x.shape} (NHWC) to {shape}; slimgen supports flattening "
                         "(N, C, H, W) to (N, C*H*W) and identity views.")


@_op("dropout", "clone", "contiguous", "alias", "detach", "lift_fresh_copy", "_to_copy",
     "feature_dropout", "alpha_dropout")
def _identity(im: _Importer, fx: Any) -> Any:
    v = im.env[fx.args[0].name]
    if isinstance(v, Value) and not v.is_const and fx.kwargs.get("dtype") not in (None,):
        import torch

        if fx.kwargs["dtype"] != torch.float32:
            raise im.unsupported(fx, f"casts to {fx.kwargs['dtype']}.")
    return v


@_op("pad", "constant_pad_nd")
def _pad(im: _Importer, fx: Any) -> Value:
    a = _args(fx, ["x", "pad", "mode", "value"], {"mode": "constant", "value": None})
    if a["mode"] != "constant" or (a["value"] not in (None, 0, 0.0)):
        raise im.unsupported(fx, f"pads with mode={a['mode']!r} value={a['value']}.",
                             "slimgen fuses F.pad(x, pads) with constant zero into the next conv.")
    x = im.act(fx, a["x"])
    p = [int(v) for v in a["pad"]] + [0] * 4
    if len(x.shape) != 3 or any(v != 0 for v in p[4:]) or any(v < 0 for v in p[:4]):
        raise im.unsupported(fx, f"pads {a['pad']}; slimgen supports non-negative zero padding of "
                             "the last two dims (W, H) of an (N, C, H, W) tensor.")
    left, right, top, bottom = p[:4]
    return im.emit("pad", fx, [x], PadAttrs((top, left, bottom, right)),
                   im.nhwc(im.torch_shape(fx)))


@_op("softmax", "_softmax")
def _softmax(im: _Importer, fx: Any) -> Value:
    x = im.act(fx, fx.args[0])
    dim = int(fx.args[1])
    if len(x.shape) != 1 or dim not in (1, -1):
        raise im.unsupported(fx, "is a softmax over a non-flat tensor.",
                             "slimgen supports softmax over the features of an (N, F) output.")
    return im.emit("softmax", fx, [x], SoftmaxAttrs(), x.shape)


def _getitem(im: _Importer, fx: Any) -> Any:
    src = im.env[fx.args[0].name]
    v = src[fx.args[1]]
    if v is None:
        raise im.unsupported(fx, "uses max-pool indices.")
    return v


def import_program(ep: Any, name: str) -> Graph:
    """Translate an ExportedProgram into a float-stage Graph."""
    import torch

    try:
        ep = ep.run_decompositions({})
    except Exception:
        pass  # the program is used as exported; unknown ops are reported below
    sig = ep.graph_signature
    consts: dict[str, Any] = {}
    user_inputs: list[str] = []
    for spec in sig.input_specs:
        kind = spec.kind.name
        if kind == "USER_INPUT":
            user_inputs.append(spec.arg.name)
            continue
        t = ep.state_dict.get(spec.target)
        if t is None:
            t = ep.constants.get(spec.target)
        consts[spec.arg.name] = t
    im = _Importer(ep, name)
    inputs: list[Value] = []
    output_vals: list[Any] = []
    for fx in ep.graph.nodes:
        if fx.op == "placeholder":
            if fx.name in consts:
                t = consts[fx.name]
                if isinstance(t, torch.Tensor):
                    arr = t.detach().to(torch.float64).cpu().numpy()
                    if not np.all(np.isfinite(arr)):
                        raise InputError(
                            f"the model's tensor {fx.name} contains NaN or Inf values.",
                            "Fix the training run that produced them before exporting.",
                        )
                    if arr.size == 0:
                        raise UnsupportedError(
                            f"the model's tensor {fx.name} is zero-sized {arr.shape}.",
                            "Every layer needs at least one channel and feature; remove the "
                            "empty layer or give it a size.",
                        )
                    im.env[fx.name] = Value(fx.name, arr.shape, "f32", arr)
                else:
                    im.env[fx.name] = t
                continue
            if fx.name not in user_inputs:
                continue
            shape = im.torch_shape(fx)
            val = fx.meta.get("val")
            if val is not None and val.dtype != torch.float32:
                raise UnsupportedError(f"the model input {fx.name} has dtype {val.dtype}.",
                                       "slimgen compiles models with one float32 input.")
            im.check_rank(fx, shape)
            if 0 in shape:
                raise UnsupportedError(f"the model input {fx.name} has a zero-sized shape {shape}.",
                                       "Export with a real example input.")
            v = Value("input", im.nhwc(shape), "f32")
            inputs.append(v)
            im.env[fx.name] = v
            im.input_torch_shape = shape
        elif fx.op == "call_function":
            val = fx.meta.get("val")
            if val is not None and not isinstance(val, (torch.Tensor, tuple, list)):
                # Shape arithmetic on the (dynamic) batch size, e.g. x.view(x.size(0), -1):
                # slimgen reads shapes from metadata, so these values are never needed.
                im.env[fx.name] = None
                continue
            if fx.target is operator.getitem:
                im.env[fx.name] = _getitem(im, fx)
                continue
            key = getattr(getattr(fx.target, "_overloadpacket", None), "__name__", None)
            key = key or getattr(fx.target, "__name__", str(fx.target))
            handler = IMPORTERS.get(key)
            if handler is None:
                raise UnsupportedError(
                    f"unsupported op: {im.origin(fx)} (node {fx.name}) is not supported.",
                    f"slimgen supports: {SUPPORTED_TEXT}. Replace or remove this layer.",
                )
            im.env[fx.name] = handler(im, fx)
            if isinstance(im.env[fx.name], Value):
                im.torch_shape(fx)  # rejects dynamic shapes on every node
        elif fx.op == "output":
            output_vals = [a for a in (fx.args[0] if isinstance(fx.args[0], (list, tuple))
                                       else [fx.args[0]])]
        elif fx.op == "get_attr":
            raise UnsupportedError(f"unsupported: {fx.name} reads a module attribute at run time.")
    if len(inputs) != 1:
        raise UnsupportedError(f"the model has {len(inputs)} inputs; slimgen supports exactly one.",
                               "Wrap the model so it takes one tensor.")
    if len(output_vals) != 1:
        raise UnsupportedError(f"the model returns {len(output_vals)} tensors; slimgen supports "
                               "exactly one output tensor.", "Return a single tensor.")
    out = im.env.get(getattr(output_vals[0], "name", ""))
    if not isinstance(out, Value) or out.is_const:
        raise UnsupportedError("the model output is not computed from its input.")
    if out is inputs[0]:
        raise UnsupportedError("the model returns its input unchanged; there is nothing to compile.")
    out_torch = tuple(output_vals[0].meta["val"].shape)
    for i, n in enumerate(im.nodes):
        n.name = f"L{i}"
    g = Graph(name, inputs, [out], im.nodes, stage="float",
              input_layout="nchw" if len(im.input_torch_shape) == 4 else "flat",
              output_layout="nhwc" if len(out_torch) == 4 else "flat",
              input_torch_shape=tuple(im.input_torch_shape[1:]),
              output_torch_shape=tuple(int(d) for d in out_torch[1:]))
    return g
