"""Reference int8 max and average pooling: the spec of kernels/src/pool/.

Input and output share scale and zero point, so there is no requantization, only the clamp.
``pad`` is (top, left, bottom, right). ``out_hw`` may be torch's floor or ceil_mode size, as
long as every window overlaps the input; average pooling follows torch's count_include_pad
(the divisor counts padding up to the padded extent, never past it) and TFLite's rounding.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from ._checks import in_range, int8_array, positive_pair

I8 = npt.NDArray[np.int8]
I64 = npt.NDArray[np.int64]


class _Axis(NamedTuple):
    lo: list[int]  # first input index of each window inside the input
    hi: list[int]  # one past the last
    padded: list[int]  # window length clipped to [-pad_lo, in + pad_hi): count_include_pad's


def _axis(n_in: int, n_out: int, k: int, s: int, pad_lo: int, pad_hi: int, what: str) -> _Axis:
    padded = n_in + pad_lo + pad_hi
    floor_out = (padded - k) // s + 1
    ceil_out = -(-(padded - k) // s) + 1
    if (
        min(pad_lo, pad_hi) < 0
        or pad_lo >= k
        or padded < k
        or n_out not in (floor_out, ceil_out)
        or (n_out - 1) * s >= n_in + pad_lo
    ):
        raise ValueError(
            f"pool {what}: in={n_in} out={n_out} kernel={k} stride={s} pad=({pad_lo}, {pad_hi}) "
            f"is inconsistent (out must be {floor_out} or {ceil_out}, and every window must "
            "overlap the input)"
        )
    starts = [o * s - pad_lo for o in range(n_out)]
    return _Axis(
        lo=[max(a, 0) for a in starts],
        hi=[min(a + k, n_in) for a in starts],
        padded=[min(a + k, n_in + pad_hi) - a for a in starts],
    )


def _axes(
    x: I8,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    out_hw: tuple[int, int],
) -> tuple[_Axis, _Axis]:
    kh, kw = positive_pair(kernel, "kernel")
    sh, sw = positive_pair(stride, "stride")
    ho, wo = positive_pair(out_hw, "out_hw")
    top, left, bottom, right = (int(p) for p in pad)
    _, h, w, _ = x.shape
    return _axis(h, ho, kh, sh, top, bottom, "rows"), _axis(w, wo, kw, sw, left, right, "columns")


def _check_act(act_min: int, act_max: int) -> None:
    in_range(act_min, -128, 127, "act_min")
    in_range(act_max, act_min, 127, "act_max")


def maxpool2d(
    x: I8,
    *,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    out_hw: tuple[int, int],
    act_min: int,
    act_max: int,
) -> I8:
    """Max pooling, padding skipped (as -inf): x (N, H, W, C) -> (N, H_out, W_out, C) int8."""
    x = int8_array(x, 4, "maxpool2d input")
    _check_act(act_min, act_max)
    ay, ax = _axes(x, kernel, stride, pad, out_hw)
    out = np.empty((x.shape[0], len(ay.lo), len(ax.lo), x.shape[3]), dtype=np.int8)
    for oy, (y0, y1) in enumerate(zip(ay.lo, ay.hi)):
        for ox, (x0, x1) in enumerate(zip(ax.lo, ax.hi)):
            out[:, oy, ox] = x[:, y0:y1, x0:x1].max(axis=(1, 2))
    return np.clip(out, act_min, act_max).astype(np.int8)


def _divide_round_away(total: I64, count: int) -> I64:
    """total / count, ties away from zero, the way C computes TFLite's expression with truncation:
    (total + (total > 0 ? count / 2 : -count / 2)) / count."""
    nudged = np.where(total > 0, total + count // 2, total - count // 2)
    return np.sign(nudged) * (np.abs(nudged) // count)


def avgpool2d(
    x: I8,
    *,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int, int, int],
    out_hw: tuple[int, int],
    count_include_pad: int,
    pad_value: int,
    act_min: int,
    act_max: int,
) -> I8:
    """Average pooling: x (N, H, W, C) -> (N, H_out, W_out, C) int8.

    With ``count_include_pad`` the padded taps inside the padded extent count in the divisor and
    add ``pad_value`` (the input zero point, i.e. real 0) to the sum, like torch.
    """
    x = int8_array(x, 4, "avgpool2d input")
    _check_act(act_min, act_max)
    in_range(count_include_pad, 0, 1, "count_include_pad")
    in_range(pad_value, -128, 127, "pad_value")
    ay, ax = _axes(x, kernel, stride, pad, out_hw)
    if kernel[0] * kernel[1] > 1 << 22:
        raise ValueError(f"avgpool2d window {kernel} exceeds 2**22 taps")
    out = np.empty((x.shape[0], len(ay.lo), len(ax.lo), x.shape[3]), dtype=np.int64)
    for oy, (y0, y1, ph) in enumerate(zip(ay.lo, ay.hi, ay.padded)):
        for ox, (x0, x1, pw) in enumerate(zip(ax.lo, ax.hi, ax.padded)):
            total = x[:, y0:y1, x0:x1].sum(axis=(1, 2), dtype=np.int64)
            count = (y1 - y0) * (x1 - x0)
            if count_include_pad:
                total += pad_value * (ph * pw - count)
                count = ph * pw
            out[:, oy, ox] = _divide_round_away(total, count)
    return np.clip(out, act_min, act_max).astype(np.int8)
