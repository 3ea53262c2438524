"""Reference layout change: the spec of kernels/src/layout/sg_transpose_nhwc_nchw_s8.c."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._checks import int8_array


def transpose_nhwc_nchw(x: npt.NDArray[np.int8]) -> npt.NDArray[np.int8]:
    """x (N, H, W, C) -> (N, C * H * W) int8 in NCHW order (what torch's flatten sees)."""
    x = int8_array(x, 4, "transpose input")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(x.shape[0], -1)
