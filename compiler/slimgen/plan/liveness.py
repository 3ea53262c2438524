"""Buffers and lifetimes of a lowered graph's activations over its schedule."""

from __future__ import annotations

from ..ir.graph import Graph
from .greedy import Buffer


def graph_buffers(g: Graph, scratch: dict[str, int] | None = None,
                  elem_bytes: int | None = None) -> list[Buffer]:
    """Arena buffers for every activation except the graph input and output (the caller's).

    ``scratch`` maps node name -> scratch bytes; each gets a buffer live for that node only.
    ``elem_bytes`` sizes a float graph's buffers as they will be once quantized (1 for int8).
    """
    io = {id(v) for v in g.inputs} | {id(v) for v in g.outputs}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    names: dict[int, str] = {}
    sizes: dict[int, int] = {}
    for i, n in enumerate(g.nodes):
        for v in n.outputs:
            first.setdefault(id(v), i)
            last.setdefault(id(v), i)  # written but never read still needs room
            names[id(v)] = v.name
            sizes[id(v)] = v.size * elem_bytes if elem_bytes else v.nbytes
        for v in n.inputs:
            if v is not None and not v.is_const:
                last[id(v)] = i
    bufs = [Buffer(names[k], sizes[k], first[k], last[k]) for k in first if k not in io]
    for i, n in enumerate(g.nodes):
        size = (scratch or {}).get(n.name, 0)
        if size:
            bufs.append(Buffer(f"{n.name}.scratch", size, i, i))
    return bufs
