"""Run a quant-stage graph with the numpy integer reference kernels (slimgen.ref).

This is the executable specification the generated C must equal, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import ref
from .graph import Graph, Node

RefFn = Callable[[Node, list[np.ndarray]], np.ndarray]


def _hw(n: Node) -> tuple[int, int]:
    return n.out.shape[0], n.out.shape[1]


def _conv(n: Node, a: list[np.ndarray]) -> np.ndarray:
    t = n.attrs
    w, b = n.inputs[1].data, n.inputs[2].data  # type: ignore[union-attr]
    common = dict(stride=t.stride, pad=t.pad[:2], dilation=t.dilation, out_hw=_hw(n))
    if n.op == "dwconv2d":
        return ref.conv.dwconv2d(a[0], w, b, t.rq, ch_mult=t.ch_mult, **common)
    return ref.conv.conv2d(a[0], w, b, t.rq, **common)


def _fc(n: Node, a: list[np.ndarray]) -> np.ndarray:
    w, b = n.inputs[1].data, n.inputs[2].data  # type: ignore[union-attr]
    return ref.fc.fc(a[0].reshape(a[0].shape[0], -1), w, b, n.attrs.rq)


def _pool(n: Node, a: list[np.ndarray]) -> np.ndarray:
    t = n.attrs
    common = dict(kernel=t.kernel, stride=t.stride, pad=t.pad, out_hw=_hw(n),
                  act_min=t.act_q[0], act_max=t.act_q[1])
    if t.kind == "max":
        return ref.pool.maxpool2d(a[0], **common)
    return ref.pool.avgpool2d(a[0], count_include_pad=int(t.count_include_pad),
                              pad_value=t.pad_value, **common)


def _softmax(n: Node, a: list[np.ndarray]) -> np.ndarray:
    t = n.attrs
    x = a[0].reshape(a[0].shape[0], -1)
    return ref.softmax.softmax(x, mult=t.mult, left_shift=t.left_shift, diff_min=t.diff_min)


OPS: dict[str, RefFn] = {
    "conv2d": _conv,
    "dwconv2d": _conv,
    "fc": _fc,
    "maxpool": _pool,
    "avgpool": _pool,
    "add": lambda n, a: ref.eltwise.add(a[0], a[1], **n.attrs.params),
    "clamp": lambda n, a: ref.eltwise.clamp(a[0], *n.attrs.act_q),
    "transpose": lambda n, a: ref.layout.transpose_nhwc_nchw(a[0]),
    "reshape": lambda n, a: a[0].reshape((a[0].shape[0],) + n.out.shape),
    "softmax": _softmax,
}


def run(g: Graph, x: np.ndarray) -> np.ndarray:
    """Run quant graph ``g`` on int8 batch ``x`` (N, *IR input shape); return the int8 output."""
    assert g.stage == "quant", g.stage
    env: dict[int, np.ndarray] = {id(g.inputs[0]): np.asarray(x, dtype=np.int8)}
    for n in g.nodes:
        args = [env[id(v)] for v in n.inputs if v is not None and not v.is_const]
        y = OPS[n.op](n, args)
        assert y.dtype == np.int8, (n.name, n.op, y.dtype)
        env[id(n.out)] = y.reshape((y.shape[0],) + n.out.shape)
    return env[id(g.outputs[0])]
