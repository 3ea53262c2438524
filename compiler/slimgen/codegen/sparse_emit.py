"""Params of the sparse fc / conv kernels: packed weight arrays and the folded bias.

The weights are packed here, in the format the kernel spec names, and the input offset is
folded into the bias (bias + in_offset * sum of all the row's weights), so the generated
tables are exactly what kernels/src/sparse/ reads. Every number is computed here; weights.c.j2
only lays the arrays out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir.graph import Node
from ..lower.kernels import KernelSpec, weight_matrix
from ..lower.sparse_format import NM, Bsr1x4, Csr8, Shared, fold_input_offset, pack


def sparse_fields(em: Any, n: Node, spec: KernelSpec) -> tuple[list[tuple[str, str]], str, str]:
    """(designated initializers, params type, comment) of a sparse call site; ``em`` is the
    codegen emitter (its ``array`` adds a const table to weights.c)."""
    w = weight_matrix(n)
    p = pack(w, spec.sparse)
    b = n.inputs[2]
    rq = n.attrs.rq
    folded = fold_input_offset(None if b is None else b.data, w, rq.in_offset)
    nnz = int(np.count_nonzero(w))
    what = f"{spec.sparse} weights {w.shape[0]}x{w.shape[1]}, {nnz} non-zeros"
    if isinstance(p, Csr8):
        arrays = [("row_len", "uint16_t", p.row_len), ("delta", "uint8_t", p.delta),
                  ("values", "int8_t", p.values)]
    elif isinstance(p, Bsr1x4):
        arrays = [("row_blocks", "uint16_t", p.row_blocks),
                  ("block_col", "uint16_t", p.block_col), ("values", "int8_t", p.values)]
    elif isinstance(p, Shared):
        row_len = (("row_len8", "uint8_t") if p.row_len.dtype == np.uint8
                   else ("row_len", "uint16_t"))
        arrays = [("codebook", "int8_t", p.codebook), (*row_len, p.row_len),
                  ("entry", "uint8_t", p.entry)]
    else:
        # fc reads int16 weight pairs, the convolutions int8 values (sparse_format.NM)
        arrays = [("offset", "uint8_t", p.offset),
                  ("pairs", "int16_t", p.pairs) if n.op == "fc" else
                  ("values", "int8_t", p.values)]
    members = [f".rows = {p.rows}", f".cols = {p.cols}"]
    if isinstance(p, Shared):
        members.append(f".code_bits = {p.code_bits}")
    if not isinstance(p, (Csr8, Bsr1x4, Shared)):
        members.append(f".n = {p.n}")
    for field, ctype, data in arrays:
        # An empty table (an all-zero layer) still needs one element to be valid C.
        body = data if data.size else np.zeros(1, data.dtype)
        members.append(f".{field} = {em.array(n, 'w_' + field, ctype, body, f'{what}: {field}')}")
    bias = em.array(n, "b", "int32_t", folded, "bias int32, input offset folded in")
    fields = [("w", "{ " + ", ".join(members) + " }"), ("bias", bias),
              ("rq", em.requant_fields(n))]
    x, out = n.x, n.out
    if n.op == "conv2d":
        from .emit import _dims

        if spec.name.startswith("sg_conv2d_s8_1x1"):
            fields = [("in", _dims(x.shape)), ("out", _dims(out.shape))] + fields
        else:
            a = n.attrs
            kh, kw = a.kernel
            fields = [("in", _dims(x.shape)),
                      ("filter", f"{{ {out.shape[2]}, {kh}, {kw}, {x.shape[2]} }}"),
                      ("out", _dims(out.shape)),
                      ("stride_h", str(a.stride[0])), ("stride_w", str(a.stride[1])),
                      ("pad_top", str(a.pad[0])), ("pad_left", str(a.pad[1])),
                      ("dil_h", str(a.dilation[0])), ("dil_w", str(a.dilation[1]))] + fields
    nbytes = p.nbytes_fc if isinstance(p, NM) and n.op == "fc" else p.nbytes
    comment = (f"  {spec.sparse} {nbytes} B, density {nnz / w.size:.3f}  "
               f"{w.shape[1]}->{w.shape[0]}")
    return fields, f"{spec.name}_params", comment
