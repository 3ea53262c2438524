"""Reference int8 fully connected layer: the spec of kernels/src/fc/sg_fc_s8.c."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._checks import int8_array, int32_bias
from .requant import Requant, check_accumulator_bound, finish

I8 = npt.NDArray[np.int8]


def fc(x: I8, weights: I8, bias: npt.NDArray[np.int32] | None, rq: Requant) -> I8:
    """x (N, K) int8, weights (O, K) int8 (torch layout), bias (O,) int32 or None -> (N, O) int8."""
    x = int8_array(x, 2, "fc input")
    w = int8_array(weights, 2, "fc weights")
    out_features, k = w.shape
    if x.shape[1] != k or rq.channels != out_features:
        raise ValueError(f"fc: input {x.shape}, weights {w.shape}, {rq.channels} requant channels")
    b = int32_bias(bias, out_features)
    x_off = x.astype(np.int64) + rq.in_offset
    w64 = w.astype(np.int64)
    check_accumulator_bound(np.abs(x_off).max(), np.abs(w64).sum(axis=1), b, "fc")
    # Exact in float64: every partial sum is an integer below 2**31 (bounded above).
    acc = np.rint(x_off.astype(np.float64) @ w64.T.astype(np.float64)).astype(np.int64)
    if b is not None:
        acc += b
    return finish(acc, rq)
