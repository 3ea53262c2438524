"""Argument checks shared by the reference kernels: the Python side of the C's SG_REQUIRE."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def int8_array(x: Any, ndim: int, what: str) -> npt.NDArray[np.int8]:
    a = np.asarray(x)
    if a.dtype != np.int8 or a.ndim != ndim or a.size == 0:
        raise ValueError(f"{what} must be a non-empty {ndim}-D int8 array, got {a.dtype} {a.shape}")
    return a


def int32_bias(bias: Any, channels: int) -> npt.NDArray[np.int64] | None:
    if bias is None:
        return None
    b = np.asarray(bias)
    if b.shape != (channels,) or not np.issubdtype(b.dtype, np.integer):
        raise ValueError(f"bias must be {channels} integers, got {b.dtype} {b.shape}")
    if b.size and (b.min() < -(1 << 31) or b.max() > (1 << 31) - 1):
        raise ValueError("bias leaves int32")
    return b.astype(np.int64)


def positive_pair(value: tuple[int, int], what: str) -> tuple[int, int]:
    a, b = (int(v) for v in value)
    if a < 1 or b < 1:
        raise ValueError(f"{what} must be positive, got {value}")
    return a, b


def in_range(value: int, lo: int, hi: int, what: str) -> int:
    if not lo <= int(value) <= hi:
        raise ValueError(f"{what}={value} outside [{lo}, {hi}]")
    return int(value)
