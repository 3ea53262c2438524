"""Reference sparse kernels: densify, then the dense reference (the spec of kernels/src/sparse/).

TensorFlow's reference sparse fully connected does the same: a sparse kernel is correct when it
equals the dense kernel on the dense matrix its packed weights stand for, so sparse kernels
need no spec of their own. ``bias`` here is the layer's own bias; the C kernels take the bias
with the input offset folded in (``lower.sparse_format.fold_input_offset``), which gives the
same accumulator.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..lower.sparse_format import Packed, densify
from . import conv as _conv
from . import fc as _fc
from .requant import Requant

I8 = npt.NDArray[np.int8]


def fc(x: I8, weights: Packed, bias: npt.NDArray[np.int32] | None, rq: Requant) -> I8:
    """x (N, K) int8, packed [O][K] weights -> (N, O) int8, as ref.fc.fc on densify(weights)."""
    return _fc.fc(x, densify(weights), bias, rq)


def conv2d(x: I8, weights: Packed, bias: npt.NDArray[np.int32] | None, rq: Requant, *,
           kernel: tuple[int, int] = (1, 1), stride: tuple[int, int] = (1, 1),
           pad: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
           out_hw: tuple[int, int] | None = None) -> I8:
    """Convolution with packed [C_out][K_h * K_w * C_in] weights (the OHWI filter flattened,
    an im2col row per output channel); defaults are the 1x1 pointwise case."""
    w = densify(weights)
    kh, kw = kernel
    cout = w.shape[0]
    if w.shape[1] % (kh * kw):
        raise ValueError(f"sparse conv2d: {w.shape[1]} columns is not a multiple of {kh}x{kw}")
    if out_hw is None:
        out_hw = (x.shape[1], x.shape[2])
    return _conv.conv2d(x, w.reshape(cout, kh, kw, -1), bias, rq, stride=stride, pad=pad,
                        dilation=dilation, out_hw=out_hw)
