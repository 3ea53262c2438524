"""Reference elementwise ops: the spec of kernels/src/eltwise/.

``add`` is TFLite's int8 ADD: both inputs are offset, shifted left by ``left_shift`` (20) for
headroom, brought to a common scale by their own multipliers, summed, and requantized to the
output scale.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._checks import in_range
from .requant import requantize

I8 = npt.NDArray[np.int8]


def _int8(x: npt.ArrayLike, what: str) -> I8:
    a = np.asarray(x)
    if a.dtype != np.int8:
        raise ValueError(f"{what} must be int8, got {a.dtype}")
    return a


def add(
    x1: I8,
    x2: I8,
    *,
    left_shift: int,
    in1_offset: int,
    in1_mult: int,
    in1_shift: int,
    in2_offset: int,
    in2_mult: int,
    in2_shift: int,
    out_offset: int,
    out_mult: int,
    out_shift: int,
    act_min: int,
    act_max: int,
) -> I8:
    """x1 + x2 (same shape, int8) -> int8, with the ranges sg_add_s8 checks (see its add_check)."""
    a, b = _int8(x1, "add input1"), _int8(x2, "add input2")
    if a.shape != b.shape:
        raise ValueError(f"add inputs differ in shape: {a.shape} vs {b.shape}")
    in_range(left_shift, 0, 22, "left_shift")
    for name, offset, mult, shift in (
        ("in1", in1_offset, in1_mult, in1_shift),
        ("in2", in2_offset, in2_mult, in2_shift),
    ):
        in_range(offset, -127, 128, f"{name}_offset")
        in_range(mult, 0, (1 << 31) - 1, f"{name}_mult")
        in_range(shift, -31, 0, f"{name}_shift")
    in_range(out_mult, 0, (1 << 31) - 1, "out_mult")
    in_range(out_shift, -31, 30, "out_shift")
    in_range(out_offset, -128, 127, "out_offset")
    in_range(act_min, -128, 127, "act_min")
    in_range(act_max, act_min, 127, "act_max")

    scale = 1 << left_shift
    scaled1 = requantize((a.astype(np.int64) + in1_offset) * scale, in1_mult, in1_shift)
    scaled2 = requantize((b.astype(np.int64) + in2_offset) * scale, in2_mult, in2_shift)
    out = requantize(scaled1 + scaled2, out_mult, out_shift) + out_offset
    return np.clip(out, act_min, act_max).astype(np.int8)


def clamp(x: I8, act_min: int, act_max: int) -> I8:
    """Clamp int8 ``x`` to [act_min, act_max] (an unfused ReLU / ReLU6 / hardtanh)."""
    in_range(act_min, -128, 127, "act_min")
    in_range(act_max, act_min, 127, "act_max")
    return np.clip(_int8(x, "clamp input"), act_min, act_max).astype(np.int8)
