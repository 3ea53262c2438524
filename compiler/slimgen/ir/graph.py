"""Values, nodes and graphs.

A Value is a buffer: an activation (no data) or a constant (weights, bias). Activation shapes
carry no batch dimension; they are (H, W, C) for NHWC feature maps and (F,) for flat vectors.
Nodes are kept in execution order, which is also the schedule the memory planner uses.

Stages (checked by ``slimgen.ir.verify``):
- ``float``: f32 activations, NHWC, weights OHWI (depthwise HWC), BatchNorm possibly present;
- ``quant``: i8 activations with per-tensor QParams, i8 weights, i32 bias, Requant on compute nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class QParams:
    """Per-tensor affine quantization of an int8 activation: real = scale * (q - zero_point)."""

    scale: float
    zero_point: int

    def quantize(self, x: np.ndarray) -> np.ndarray:
        q = np.round(np.asarray(x, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, -128, 127).astype(np.int8)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        return (q.astype(np.float64) - self.zero_point) * self.scale


@dataclass(eq=False)
class Value:
    name: str
    shape: tuple[int, ...]
    dtype: str = "f32"  # "f32" | "i8" | "i32"
    data: np.ndarray | None = None
    q: QParams | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * {"f32": 4, "i8": 1, "i32": 4}[self.dtype]

    def __repr__(self) -> str:
        return f"Value({self.name}, {self.shape}, {self.dtype})"


@dataclass(eq=False)
class Node:
    op: str
    inputs: list[Value | None]
    outputs: list[Value]
    attrs: Any
    name: str = ""
    origin: str = ""  # "features.3.conv (aten.conv2d)": comments and error messages

    @property
    def out(self) -> Value:
        return self.outputs[0]

    @property
    def x(self) -> Value:
        v = self.inputs[0]
        assert v is not None
        return v


@dataclass(eq=False)
class Graph:
    name: str
    inputs: list[Value]
    outputs: list[Value]
    nodes: list[Node] = field(default_factory=list)
    stage: str = "float"
    # Torch-side layout of the model input/output per sample, e.g. (3, 32, 32) "nchw": verify and
    # the generated API use it to convert between the user's layout and slimgen's NHWC.
    input_layout: str = "flat"
    output_layout: str = "flat"
    input_torch_shape: tuple[int, ...] = ()  # per sample, torch layout, e.g. (3, 32, 32)
    output_torch_shape: tuple[int, ...] = ()

    def consumers(self, v: Value) -> list[Node]:
        return [n for n in self.nodes if any(i is v for i in n.inputs)]

    def producer(self, v: Value) -> Node | None:
        for n in self.nodes:
            if any(o is v for o in n.outputs):
                return n
        return None

    def replace_uses(self, old: Value, new: Value) -> None:
        for n in self.nodes:
            n.inputs = [new if i is old else i for i in n.inputs]
        self.outputs = [new if o is old else o for o in self.outputs]

    def activations(self) -> list[Value]:
        """Every non-constant value in schedule order, graph inputs first."""
        seen: dict[int, Value] = {}
        for v in self.inputs:
            seen[id(v)] = v
        for n in self.nodes:
            for v in [*n.inputs, *n.outputs]:
                if v is not None and not v.is_const:
                    seen.setdefault(id(v), v)
        return list(seen.values())

    def __str__(self) -> str:
        lines = [f"graph {self.name} [{self.stage}] in={[v.name for v in self.inputs]}"]
        for n in self.nodes:
            ins = ",".join(i.name for i in n.inputs if i is not None and not i.is_const)
            shape = "x".join(str(d) for d in n.out.shape)
            lines.append(f"  {n.name} {n.op} ({ins}) -> {n.out.name} [{shape}]  # {n.origin}")
        lines.append(f"  return {[v.name for v in self.outputs]}")
        return "\n".join(lines)
