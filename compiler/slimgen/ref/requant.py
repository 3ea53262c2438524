"""The one rounding, in numpy: mirrors ``sg_requantize`` in kernels/src/sg_requant.h bit for bit.

Everything is computed on int64 arrays holding int32 values, so no intermediate can overflow
silently; tests/unit/test_requant.py checks these functions against Python big-int arithmetic and
against the C. ``Requant`` and ``finish`` are the output stage shared by conv, depthwise conv
and fc.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

ArrayLike = npt.ArrayLike
I64 = npt.NDArray[np.int64]


def assert_fits_int32(values: ArrayLike, what: str) -> None:
    """Raise OverflowError if any value is outside int32, where the C kernel would overflow."""
    v = np.asarray(values)
    if v.size and (v.min() < INT32_MIN or v.max() > INT32_MAX):
        raise OverflowError(f"{what} leaves int32 (range [{v.min()}, {v.max()}])")


def _int32_values(values: ArrayLike, what: str) -> I64:
    v = np.asarray(values, dtype=np.int64)
    assert_fits_int32(v, what)
    return v


def saturating_rounding_doubling_high_mul(a: ArrayLike, b: ArrayLike) -> I64:
    """gemmlowp SaturatingRoundingDoublingHighMul: ``round(a * b / 2**31)``, ties up.

    ``(INT32_MIN, INT32_MIN)``, the one pair whose result does not fit, saturates to INT32_MAX.
    """
    a64 = _int32_values(a, "srdhm operand a")
    b64 = _int32_values(b, "srdhm operand b")
    # |a * b| <= 2**62, so the product and the nudge fit int64; >> is a floor, as in the C.
    high = (a64 * b64 + (1 << 30)) >> 31
    saturated = (a64 == INT32_MIN) & (b64 == INT32_MIN)
    return np.where(saturated, np.int64(INT32_MAX), high)


def rounding_divide_by_pot(x: ArrayLike, exponent: ArrayLike) -> I64:
    """gemmlowp RoundingDivideByPOT: ``x / 2**exponent`` rounded to nearest, ties away from zero.

    The C takes exponents in [0, 31]; here any exponent in [0, 62] is exact, which the softmax
    reference uses for its (TFLite-undefined) exponents above 31.
    """
    x64 = _int32_values(x, "rounding_divide_by_pot operand")
    e = np.asarray(exponent, dtype=np.int64)
    if e.size and (e.min() < 0 or e.max() > 62):
        raise ValueError(f"exponent out of [0, 62]: {e.min()}..{e.max()}")
    mask = (np.int64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0)
    return (x64 >> e) + (remainder > threshold)


def _wrap_int32(v: I64) -> I64:
    return ((v - INT32_MIN) & 0xFFFFFFFF) + INT32_MIN


def requantize(acc: ArrayLike, mult: ArrayLike, shift: ArrayLike) -> I64:
    """``acc * mult * 2**shift / 2**31`` with TFLite/CMSIS-NN double rounding; broadcasts.

    ``shift`` in [-31, 30], ``> 0`` a left shift applied before the high multiply, wrapping modulo
    2**32 like the C (TFLite leaves that overflow undefined). Returns int64 holding int32 values.
    """
    acc64 = _int32_values(acc, "requantize accumulator")
    mult64 = _int32_values(mult, "requantize multiplier")
    shift64 = np.asarray(shift, dtype=np.int64)
    if shift64.size and (shift64.min() < -31 or shift64.max() > 30):
        raise ValueError(f"shift out of [-31, 30]: {shift64.min()}..{shift64.max()}")
    left = np.maximum(shift64, 0)
    right = np.maximum(-shift64, 0)
    scaled = _wrap_int32(acc64 << left)  # < 2**61: exact in int64 before the wrap
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(scaled, mult64), right)


def _int32_channels(values: Any, name: str) -> npt.NDArray[np.int32]:
    v = np.asarray(values)
    if v.ndim != 1 or v.size == 0 or not np.issubdtype(v.dtype, np.integer):
        raise ValueError(f"Requant.{name} must be a non-empty 1-D integer array, got {v!r}")
    assert_fits_int32(v, f"Requant.{name}")
    out = v.astype(np.int32)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class Requant:
    """Output stage of conv / depthwise conv / fc: the fields of the C ``sg_requant`` struct.

    ``mult`` and ``shift`` have one int32 entry per output channel (per-tensor requantization
    repeats one value). ``in_offset = -zero_point(input)``, ``out_offset = zero_point(output)``,
    and ``[act_min, act_max]`` is the fused activation clamp in the output int8 domain.
    Construction checks the ranges sg_kernels.h documents, so a bad value fails here, in Python,
    rather than as SG_ERR_ARG on the device.
    """

    mult: npt.NDArray[np.int32]
    shift: npt.NDArray[np.int32]
    in_offset: int
    out_offset: int
    act_min: int
    act_max: int

    def __post_init__(self) -> None:
        mult = _int32_channels(self.mult, "mult")
        shift = _int32_channels(self.shift, "shift")
        if mult.shape != shift.shape:
            raise ValueError(f"Requant mult {mult.shape} and shift {shift.shape} differ")
        if mult.min() < 0 or shift.min() < -31 or shift.max() > 30:
            raise ValueError("Requant needs mult >= 0 and shift in [-31, 30]")
        if not -127 <= self.in_offset <= 128 or not -128 <= self.out_offset <= 127:
            raise ValueError(
                f"Requant offsets out of range: in_offset={self.in_offset} (needs [-127, 128]), "
                f"out_offset={self.out_offset} (needs [-128, 127])"
            )
        if not -128 <= self.act_min <= self.act_max <= 127:
            raise ValueError(f"Requant clamp [{self.act_min}, {self.act_max}] not within int8")
        object.__setattr__(self, "mult", mult)
        object.__setattr__(self, "shift", shift)
        for name in ("in_offset", "out_offset", "act_min", "act_max"):
            object.__setattr__(self, name, int(getattr(self, name)))

    @property
    def channels(self) -> int:
        return int(self.mult.shape[0])


def finish(acc: ArrayLike, rq: Requant) -> npt.NDArray[np.int8]:
    """int64 accumulators ``(..., C_out)`` to int8: requantize per channel, + out_offset, clamp."""
    acc64 = np.asarray(acc, dtype=np.int64)
    if acc64.shape[-1:] != (rq.channels,):
        raise ValueError(f"accumulator channels {acc64.shape} != requant channels {rq.channels}")
    assert_fits_int32(acc64, "accumulator")
    out = requantize(acc64, rq.mult, rq.shift) + rq.out_offset
    return np.clip(out, rq.act_min, rq.act_max).astype(np.int8)


def check_accumulator_bound(
    x_offset_absmax: int, weights_abs_sum: ArrayLike, bias: ArrayLike | None, what: str
) -> None:
    """Fail if some accumulation order could overflow the C kernel's int32 accumulator.

    The C adds the bias and the taps in its own order, so a final sum inside int32 is not enough:
    every partial sum lies within ``bias +- max|x + in_offset| * sum|w|`` per channel.
    """
    spread = np.asarray(weights_abs_sum, dtype=np.int64) * int(x_offset_absmax)
    b = np.zeros_like(spread) if bias is None else np.asarray(bias, dtype=np.int64)
    if spread.size and ((b + spread).max() > INT32_MAX or (b - spread).min() < INT32_MIN):
        raise OverflowError(
            f"{what}: int32 accumulator may overflow (partial sums reach "
            f"[{(b - spread).min()}, {(b + spread).max()}]); reduce the reduction size or the bias"
        )
