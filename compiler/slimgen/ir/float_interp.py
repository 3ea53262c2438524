"""Run a float-stage graph in numpy: the float oracle for verify and the observer for calibration.

Activations are batch-first NHWC arrays; computation is float64 so the oracle is not limited by
float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .graph import Graph, Node, Value


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
            pad: tuple[int, int, int, int], dilation: tuple[int, int], out_hw: tuple[int, int],
            fill: float) -> np.ndarray:
    """(N, H, W, C) -> (N, Ho, Wo, Kh, Kw, C) sliding windows over the padded input (a view)."""
    t, l, b, r = pad
    n, h, w, c = x.shape
    kh, kw = kernel
    dh, dw = dilation
    sh, sw = stride
    oh, ow = out_hw
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    bottom = max(b, need_h - h - t)
    right = max(r, need_w - w - l)
    xp = np.pad(x, ((0, 0), (t, bottom), (l, right), (0, 0)), constant_values=fill)
    s = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dh, s[2] * dw, s[3]),
        writeable=False)


def _act(y: np.ndarray, act: tuple[float, float]) -> np.ndarray:
    return np.clip(y, act[0], act[1])


def _conv(n: Node, x: np.ndarray) -> np.ndarray:
    a = n.attrs
    w, b = n.inputs[1].data, n.inputs[2].data  # type: ignore[union-attr]
    oh, ow = n.out.shape[0], n.out.shape[1]
    win = windows(x, a.kernel, a.stride, a.pad, a.dilation, (oh, ow), 0.0)
    if n.op == "dwconv2d":
        # Output channel o reads input channel o // ch_mult.
        win = np.repeat(win, a.ch_mult, axis=-1)
        y = np.einsum("nyxhwc,hwc->nyxc", win, w.astype(np.float64), optimize=True)
    else:
        y = np.tensordot(win, w.astype(np.float64), axes=([3, 4, 5], [1, 2, 3]))
    return _act(y + b, a.act)


def _pool(n: Node, x: np.ndarray) -> np.ndarray:
    a = n.attrs
    oh, ow = n.out.shape[0], n.out.shape[1]
    if a.kind == "max":
        y = windows(x, a.kernel, a.stride, a.pad, (1, 1), (oh, ow), -np.inf).max(axis=(3, 4))
        return _act(y, a.act)
    win = windows(x, a.kernel, a.stride, a.pad, (1, 1), (oh, ow), 0.0)
    ones = np.ones((1,) + x.shape[1:3] + (1,))
    valid = windows(ones, a.kernel, a.stride, a.pad, (1, 1), (oh, ow), 0.0).sum(axis=(3, 4))
    if a.count_include_pad:
        # torch counts the padded area (not what lies beyond it) in the divisor.
        t, l, b, r = a.pad
        h, w = x.shape[1], x.shape[2]
        ys = np.arange(oh) * a.stride[0] - t
        xs = np.arange(ow) * a.stride[1] - l
        ch = np.minimum(ys + a.kernel[0], h + b) - ys
        cw = np.minimum(xs + a.kernel[1], w + r) - xs
        count = (ch[:, None] * cw[None, :])[None, :, :, None]
    else:
        count = valid
    return _act(win.sum(axis=(3, 4)) / count, a.act)


def _transpose(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def eval_node(n: Node, args: list[np.ndarray]) -> np.ndarray:
    op = n.op
    if op in ("conv2d", "dwconv2d"):
        return _conv(n, args[0])
    if op == "fc":
        w, b = n.inputs[1].data, n.inputs[2].data  # type: ignore[union-attr]
        x = args[0].reshape(args[0].shape[0], -1)  # reshapes before a Linear are free
        return _act(x @ w.astype(np.float64).T + b, n.attrs.act)
    if op in ("maxpool", "avgpool"):
        return _pool(n, args[0])
    if op == "add":
        return _act(args[0] + args[1], n.attrs.act)
    if op == "clamp":
        return _act(args[0], n.attrs.act)
    if op == "batchnorm":
        return args[0] * np.asarray(n.attrs.scale) + np.asarray(n.attrs.shift)
    if op == "pad":
        t, l, b, r = n.attrs.pad
        return np.pad(args[0], ((0, 0), (t, b), (l, r), (0, 0)))
    if op in ("reshape", "flatten"):
        if op == "flatten":
            return _transpose(args[0])
        return args[0].reshape((args[0].shape[0],) + n.out.shape)
    if op == "transpose":
        return _transpose(args[0])
    if op == "softmax":
        return _softmax(args[0])
    raise NotImplementedError(op)


def run(g: Graph, x: np.ndarray,
        observe: Callable[[Value, np.ndarray], None] | None = None) -> np.ndarray:
    """Run ``g`` on a batch ``x`` (N, *input shape in IR layout); return the single output."""
    env: dict[int, np.ndarray] = {id(g.inputs[0]): np.asarray(x, dtype=np.float64)}
    if observe:
        observe(g.inputs[0], env[id(g.inputs[0])])
    last_use = {}
    for i, n in enumerate(g.nodes):
        for v in n.inputs:
            if v is not None:
                last_use[id(v)] = i
    keep = {id(v) for v in g.outputs}
    for i, n in enumerate(g.nodes):
        args = [env[id(v)] for v in n.inputs if v is not None and not v.is_const]
        y = eval_node(n, args)
        env[id(n.out)] = y
        if observe:
            observe(n.out, y)
        for v in n.inputs:  # free what is dead, calibration batches can be large
            if v is not None and last_use.get(id(v)) == i and id(v) not in keep:
                env.pop(id(v), None)
    return env[id(g.outputs[0])]
