"""Stage invariants of a graph, checked after the passes that produce each stage.

A failure here is a slimgen bug, never a user error, so it raises AssertionError with the node.
"""

from __future__ import annotations

import numpy as np

from .graph import Graph

FLOAT_OPS = {"conv2d", "dwconv2d", "fc", "maxpool", "avgpool", "add", "clamp", "batchnorm", "pad",
             "reshape", "flatten", "transpose", "softmax"}
QUANT_OPS = {"conv2d", "dwconv2d", "fc", "maxpool", "avgpool", "add", "clamp", "reshape",
             "transpose", "softmax"}


def verify_graph(g: Graph) -> None:
    ops = FLOAT_OPS if g.stage == "float" else QUANT_OPS
    defined = {id(v) for v in g.inputs}
    names: set[str] = set()
    for n in g.nodes:
        where = f"{n.name} ({n.op}, {n.origin})"
        assert n.op in ops, f"{where}: op not allowed at stage {g.stage}"
        for v in n.inputs:
            assert v is None or v.is_const or id(v) in defined, f"{where}: input used before set"
        for v in n.outputs:
            assert v.name not in names, f"{where}: value name {v.name} is not unique"
            names.add(v.name)
            defined.add(id(v))
        if g.stage == "quant":
            _check_quant_node(n, where)
    for v in g.outputs:
        assert id(v) in defined, f"output {v.name} is never computed"


def _check_quant_node(n, where: str) -> None:  # type: ignore[no-untyped-def]
    for v in [*n.inputs, *n.outputs]:
        if v is None:
            continue
        if not v.is_const:
            assert v.dtype == "i8" and v.q is not None, f"{where}: {v.name} is not int8"
            assert -128 <= v.q.zero_point <= 127 and v.q.scale > 0, f"{where}: bad qparams"
    rq = getattr(n.attrs, "rq", None)
    if n.op in ("conv2d", "dwconv2d", "fc"):
        w, b = n.inputs[1], n.inputs[2]
        assert w is not None and w.dtype == "i8" and w.data is not None, f"{where}: weights"
        assert b is not None and b.dtype == "i32" and b.data is not None, f"{where}: bias"
        assert rq is not None, f"{where}: no requantization"
        c_out = n.out.shape[-1]
        assert len(rq.mult) == len(rq.shift) == c_out == b.size, f"{where}: per-channel sizes"
        assert np.all((rq.mult >= 0) & (rq.mult < 2**31)), f"{where}: multiplier range"
        assert np.all((rq.shift >= -31) & (rq.shift <= 30)), f"{where}: shift range"
        assert -128 <= rq.act_min <= rq.act_max <= 127, f"{where}: clamp range"
