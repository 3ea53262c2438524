"""Reference int8 convolution and depthwise convolution: the spec of kernels/src/conv/.

Activations NHWC, conv weights OHWI, depthwise weights (K_h, K_w, C_out). A tap outside the input
contributes nothing, because there the input holds its zero point and ``x + in_offset == 0``;
so the offset input is padded with zeros and every tap is read from it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._checks import int8_array, int32_bias, positive_pair
from .requant import Requant, check_accumulator_bound, finish

I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]


def _taps(
    x_off: I64,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> list[I64]:
    """For each tap (ky, kx), row-major, the (N, H_out, W_out, C) input values it multiplies."""
    kh, kw = kernel
    sh, sw = positive_pair(stride, "stride")
    dh, dw = positive_pair(dilation, "dilation")
    ho, wo = positive_pair(out_hw, "out_hw")
    top, left = (int(p) for p in pad)
    if top < 0 or left < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    _, h, w, _ = x_off.shape
    # Zero-extend to cover the furthest tap of the last window, however far out it reaches.
    bottom = max(0, (ho - 1) * sh + (kh - 1) * dh + 1 - top - h)
    right = max(0, (wo - 1) * sw + (kw - 1) * dw + 1 - left - w)
    xp = np.pad(x_off, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return [
        xp[
            :,
            ky * dh : ky * dh + (ho - 1) * sh + 1 : sh,
            kx * dw : kx * dw + (wo - 1) * sw + 1 : sw,
        ]
        for ky in range(kh)
        for kx in range(kw)
    ]


def conv2d(
    x: I8,
    weights: I8,
    bias: npt.NDArray[np.int32] | None,
    rq: Requant,
    *,
    stride: tuple[int, int],
    pad: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> I8:
    """Convolution, groups=1: x (N, H, W, C_in), weights OHWI -> (N, H_out, W_out, C_out) int8.

    ``pad`` is (top, left); the bottom and right extents follow from ``out_hw``.
    """
    x = int8_array(x, 4, "conv2d input")
    w = int8_array(weights, 4, "conv2d weights")
    cout, kh, kw, cin = w.shape
    if x.shape[3] != cin or rq.channels != cout:
        raise ValueError(
            f"conv2d: input {x.shape}, weights {w.shape}, {rq.channels} requant channels"
        )
    b = int32_bias(bias, cout)
    x_off = x.astype(np.int64) + rq.in_offset
    w_flat = w.reshape(cout, -1).astype(np.int64)
    check_accumulator_bound(np.abs(x_off).max(), np.abs(w_flat).sum(axis=1), b, "conv2d")
    taps = _taps(x_off, (kh, kw), stride, pad, dilation, out_hw)
    n, ho, wo, _ = taps[0].shape
    patches = np.stack(taps, axis=3).reshape(n * ho * wo, kh * kw * cin)
    # int8 x int8 sums are exact in float64 far below 2**53 (bounded above), and BLAS is fast.
    acc = np.rint(patches.astype(np.float64) @ w_flat.T.astype(np.float64)).astype(np.int64)
    acc = acc.reshape(n, ho, wo, cout)
    if b is not None:
        acc += b
    return finish(acc, rq)


def dwconv2d(
    x: I8,
    weights: I8,
    bias: npt.NDArray[np.int32] | None,
    rq: Requant,
    *,
    ch_mult: int,
    stride: tuple[int, int],
    pad: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> I8:
    """Depthwise convolution: x (N, H, W, C_in), weights (K_h, K_w, C_out = C_in * ch_mult).

    Output channel o reads input channel o // ch_mult (torch's grouped-conv order).
    """
    x = int8_array(x, 4, "dwconv2d input")
    w = int8_array(weights, 3, "dwconv2d weights")
    kh, kw, cout = w.shape
    cin = x.shape[3]
    if ch_mult < 1 or cin * ch_mult != cout or rq.channels != cout:
        raise ValueError(
            f"dwconv2d: input {x.shape}, weights {w.shape}, ch_mult {ch_mult}, "
            f"{rq.channels} requant channels"
        )
    b = int32_bias(bias, cout)
    x_off = np.repeat(x.astype(np.int64) + rq.in_offset, ch_mult, axis=3)
    w64 = w.astype(np.int64)
    check_accumulator_bound(np.abs(x_off).max(), np.abs(w64).sum(axis=(0, 1)), b, "dwconv2d")
    taps = _taps(x_off, (kh, kw), stride, pad, dilation, out_hw)
    acc = np.zeros(taps[0].shape, dtype=np.int64)
    for tap, w_tap in zip(taps, w64.reshape(kh * kw, cout)):
        acc += tap * w_tap
    if b is not None:
        acc += b
    return finish(acc, rq)
