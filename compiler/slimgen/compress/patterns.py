"""Sparsity patterns shared by ``slimgen compress`` and the sparse kernels (no torch import).

Every structured pattern groups weights along the *reduction axis in slimgen's own layout*: the
flattened (kh, kw, c_in) row of an OHWI conv filter (its im2col row), or the NHWC-ordered columns
of a Linear. A pattern's groups are therefore the contiguous runs a sparse kernel reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Block shape of the block-sparse format: (output rows, consecutive reduction elements).
# One 32-bit load of 4 int8 weights feeds SXTB16/SMLAD, hence 1x4. The sparse kernels and their
# packer import this constant so masks and kernels cannot disagree.
BLOCK = (1, 4)

PATTERNS = ("unstructured", "n:m", "block", "channel")
# ``Pattern("dense")``: a layer that ``--pattern auto`` leaves unpruned (never parsed from text).


@dataclass(frozen=True)
class Pattern:
    kind: str  # one of PATTERNS, or "dense"
    n: int = 0  # n:m only: non-zeros kept per group
    m: int = 0  # n:m only: group length

    @property
    def group(self) -> int:
        """Length of a group along the reduction axis (0: the pattern has no groups)."""
        if self.kind == "n:m":
            return self.m
        if self.kind == "block":
            return BLOCK[1]
        return 0

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.kind == "n:m" else self.kind


def parse_pattern(text: str) -> Pattern:
    """``unstructured``, ``block``, ``channel`` or ``N:M`` such as ``2:4``.

    >>> parse_pattern("2:4")
    Pattern(kind='n:m', n=2, m=4)
    """
    t = text.strip().lower()
    if t in ("unstructured", "block", "channel"):
        return Pattern(t)
    a, sep, b = t.partition(":")
    if sep and a.isdigit() and b.isdigit() and 0 < int(a) < int(b):
        return Pattern("n:m", int(a), int(b))
    raise ValueError(f"unknown pruning pattern {text!r}: use unstructured, block, channel or N:M "
                     "with 0 < N < M (e.g. 2:4, 1:4)")


def pattern_of(pattern: Pattern | Mapping[str, Pattern], name: str) -> Pattern:
    """The pattern of layer ``name``: the single pattern, or its entry in a per-layer map
    (``--pattern auto``, ``--layer-pattern``)."""
    return pattern if isinstance(pattern, Pattern) else pattern[name]


def uniform(pattern: Pattern | Mapping[str, Pattern], names: list[str]) -> Pattern | None:
    """The one pattern all ``names`` share, or None when they differ."""
    if isinstance(pattern, Pattern):
        return pattern
    kinds = {pattern[n] for n in names}
    return next(iter(kinds)) if len(kinds) == 1 else None
