"""Buffers and lifetimes of a lowered graph's activations over its schedule."""

from __future__ import annotations

from collections.abc import Callable

from ..ir.graph import Graph, Node
from .greedy import Buffer


def graph_buffers(g: Graph, scratch: dict[str, int] | None = None,
                  elem_bytes: int | None = None,
                  in_place: Callable[[Node], bool] | None = None) -> list[Buffer]:
    """Arena buffers for every activation except the graph input and output (the caller's).

    ``scratch`` maps node name -> scratch bytes; each gets a buffer live for that node only.
    ``elem_bytes`` sizes a float graph's buffers as they will be once quantized (1 for int8).
    ``in_place(node)`` says the node's kernel may write its output over an input (KernelSpec
    ``in_place_ok``): where an input of the same size dies at that node and both are arena
    buffers, the output gets ``alias_of`` = that input, and the planner gives them one offset.
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
    alias: dict[int, str] = {}
    if in_place is not None:
        taken: set[int] = set()
        for i, n in enumerate(g.nodes):
            if len(n.outputs) != 1 or id(n.out) in io or not in_place(n):
                continue
            for v in n.inputs:
                k = id(v) if v is not None else 0
                if (v is not None and not v.is_const and k in first and k not in io
                        and k not in taken and last[k] == i and sizes[k] == sizes[id(n.out)]):
                    alias[id(n.out)] = names[k]
                    taken.add(k)
                    break
    bufs = [Buffer(names[k], sizes[k], first[k], last[k], alias.get(k, ""))
            for k in first if k not in io]
    for i, n in enumerate(g.nodes):
        size = (scratch or {}).get(n.name, 0)
        if size:
            bufs.append(Buffer(f"{n.name}.scratch", size, i, i))
    return bufs
