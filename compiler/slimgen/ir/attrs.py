"""Typed, frozen attributes for every op, so a misspelled field fails at construction.

Float-stage clamps (``act``) are real-valued bounds of a fused activation, (-inf, inf) for none.
Quant-stage nodes carry ``rq`` (slimgen.ref.requant.Requant) or their own integer parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

NO_ACT = (-math.inf, math.inf)


@dataclass(frozen=True)
class ConvAttrs:
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: tuple[int, int] = (1, 1)
    depthwise: bool = False
    ch_mult: int = 1
    act: tuple[float, float] = NO_ACT
    rq: Any = None  # Requant, quant stage only


@dataclass(frozen=True)
class FcAttrs:
    act: tuple[float, float] = NO_ACT
    rq: Any = None


@dataclass(frozen=True)
class PoolAttrs:
    kind: str  # "max" | "avg"
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    count_include_pad: bool = True
    act: tuple[float, float] = NO_ACT
    act_q: tuple[int, int] = (-128, 127)
    pad_value: int = 0


@dataclass(frozen=True)
class AddAttrs:
    act: tuple[float, float] = NO_ACT
    params: dict[str, int] = field(default_factory=dict)  # quant stage: sg_add_s8_params fields


@dataclass(frozen=True)
class ClampAttrs:
    act: tuple[float, float]
    act_q: tuple[int, int] = (-128, 127)


@dataclass(frozen=True)
class BatchNormAttrs:
    """y = x * scale + shift per channel (running statistics already folded in)."""

    scale: tuple[float, ...]
    shift: tuple[float, ...]


@dataclass(frozen=True)
class PadAttrs:
    pad: tuple[int, int, int, int]  # top, left, bottom, right; constant zero


@dataclass(frozen=True)
class ReshapeAttrs:
    pass


@dataclass(frozen=True)
class TransposeAttrs:
    """NHWC (H, W, C) to the flat NCHW order torch's flatten produces."""


@dataclass(frozen=True)
class SoftmaxAttrs:
    mult: int = 0
    left_shift: int = 0
    diff_min: int = 0


ATTRS_TYPES = {
    cls.__name__: cls
    for cls in (
        ConvAttrs,
        FcAttrs,
        PoolAttrs,
        AddAttrs,
        ClampAttrs,
        BatchNormAttrs,
        PadAttrs,
        ReshapeAttrs,
        TransposeAttrs,
        SoftmaxAttrs,
    )
}
