"""Float-stage rewrites that run before quantization.

Each pass is a plain function ``Graph -> Graph`` (it may mutate and returns the graph).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir.attrs import ConvAttrs, ReshapeAttrs, TransposeAttrs
from ..ir.graph import Graph, Node, Value

_FOLDABLE_INTO = ("conv2d", "dwconv2d", "fc")
_FUSES_ACT = ("conv2d", "dwconv2d", "fc", "add", "maxpool", "avgpool", "clamp")


def _single_consumer(g: Graph, v: Value) -> bool:
    return len(g.consumers(v)) == 1 and v not in g.outputs


def fold_batchnorm(g: Graph) -> Graph:
    """BN after conv/linear folds into its weights; any other BN becomes a 1x1 depthwise conv.

    Folding first means calibration observes the folded weights, as the int8 model computes.
    """
    for bn in [n for n in g.nodes if n.op == "batchnorm"]:
        scale = np.asarray(bn.attrs.scale)
        shift = np.asarray(bn.attrs.shift)
        prev = g.producer(bn.x)
        if prev is not None and prev.op in _FOLDABLE_INTO and _single_consumer(g, bn.x):
            w, b = prev.inputs[1], prev.inputs[2]
            assert w is not None and w.data is not None and b is not None and b.data is not None
            # Output channel is axis 0 for OHWI and (out, in), the last axis for depthwise HWC.
            if prev.op == "dwconv2d":
                w.data = (w.data * scale).astype(np.float32)
            else:
                w.data = (w.data * scale.reshape((-1,) + (1,) * (w.data.ndim - 1))).astype(
                    np.float32)
            b.data = (b.data * scale + shift).astype(np.float32)
            g.replace_uses(bn.out, prev.out)
            prev.origin += " + " + bn.origin
            g.nodes.remove(bn)
            continue
        # Standalone BN: a per-channel affine map, i.e. a 1x1 depthwise conv on (H, W, C).
        c = bn.x.shape[-1]
        w = Value(f"{bn.out.name}.w", (1, 1, c), "f32", scale.reshape(1, 1, c).astype(np.float32))
        b = Value(f"{bn.out.name}.b", (c,), "f32", shift.astype(np.float32))
        x = bn.x
        if len(x.shape) == 1:
            flat_in = Value(f"{bn.out.name}.in", (1, 1, c), "f32")
            idx = g.nodes.index(bn)
            g.nodes.insert(idx, Node("reshape", [x], [flat_in], ReshapeAttrs(), bn.name + "r",
                                     bn.origin))
            x = flat_in
            new_out = Value(f"{bn.out.name}.dw", (1, 1, c), "f32")
            conv = Node("dwconv2d", [x, w, b], [new_out],
                        ConvAttrs((1, 1), (1, 1), (0, 0, 0, 0), depthwise=True), bn.name, bn.origin)
            g.nodes[g.nodes.index(bn)] = conv
            after = Node("reshape", [new_out], [bn.out], ReshapeAttrs(), bn.name + "f", bn.origin)
            g.nodes.insert(g.nodes.index(conv) + 1, after)
        else:
            g.nodes[g.nodes.index(bn)] = Node(
                "dwconv2d", [x, w, b], [bn.out],
                ConvAttrs((1, 1), (1, 1), (0, 0, 0, 0), depthwise=True), bn.name, bn.origin)
    return g


def fuse_pad(g: Graph) -> Graph:
    """Zero padding in front of convolutions becomes the convolutions' own padding.

    Padded taps hold the input zero point, so they cost nothing in the int8 kernels.
    """
    for pad in [n for n in g.nodes if n.op == "pad"]:
        users = g.consumers(pad.out)
        if pad.out in g.outputs or not users or any(u.op not in ("conv2d", "dwconv2d")
                                                    for u in users):
            bad = next((u for u in users if u.op not in ("conv2d", "dwconv2d")), None)
            where = f" before {bad.origin}" if bad else " at the model output"
            raise UnsupportedError(
                f"unsupported: {pad.origin} pads{where}; slimgen fuses F.pad only into a "
                "following convolution.", "Move the padding into the conv (padding=...) or "
                "pad the convolution's input instead.")
        for u in users:
            t, l, b, r = u.attrs.pad
            pt, pl, pb, pr = pad.attrs.pad
            u.attrs = _replace(u.attrs, pad=(t + pt, l + pl, b + pb, r + pr))
            u.origin = pad.origin + " + " + u.origin
        g.replace_uses(pad.out, pad.x)
        g.nodes.remove(pad)
    return g


def fold_flatten(g: Graph) -> Graph:
    """torch flattens NCHW; slimgen's maps are NHWC.

    When every consumer is a Linear, its weight columns are permuted to NHWC order once, here,
    and the flatten becomes a free reshape. Otherwise the flatten is an explicit transpose.
    """
    for fl in [n for n in g.nodes if n.op == "flatten"]:
        h, w, c = fl.x.shape
        users = g.consumers(fl.out)
        if users and fl.out not in g.outputs and all(u.op == "fc" for u in users):
            # Column j of the NHWC-ordered input is element (y, x, ch) = torch column ch*H*W+y*W+x.
            perm = np.arange(h * w * c).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
            for u in users:
                wv = u.inputs[1]
                assert wv is not None and wv.data is not None
                wv.data = np.ascontiguousarray(wv.data[:, perm])
            fl.op, fl.attrs = "reshape", ReshapeAttrs()
        else:
            fl.op, fl.attrs = "transpose", TransposeAttrs()
    return g


def remove_reshapes(g: Graph) -> Graph:
    """A reshape of an NHWC buffer that keeps element order is free: consumers read its input."""
    for r in [n for n in g.nodes if n.op == "reshape"]:
        if r.out in g.outputs and r.x in g.inputs:
            continue  # keep the only node of a model that merely reshapes its input
        g.replace_uses(r.out, r.x)
        g.nodes.remove(r)
    return g


def fuse_activation(g: Graph) -> Graph:
    """A clamp (ReLU, ReLU6, hardtanh, clamp) after a layer becomes that layer's output clamp.

    The clamp is then free: requantization already ends with one.
    """
    for cl in [n for n in g.nodes if n.op == "clamp"]:
        prev = g.producer(cl.x)
        if prev is None or prev.op not in _FUSES_ACT or not _single_consumer(g, cl.x):
            continue
        lo, hi = prev.attrs.act
        clo, chi = cl.attrs.act
        prev.attrs = _replace(prev.attrs, act=(max(lo, clo), min(hi, chi)))
        prev.origin += " + " + cl.origin
        g.replace_uses(cl.out, prev.out)
        g.nodes.remove(cl)
    return g


def _replace(attrs, **kw):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(attrs, **kw)
