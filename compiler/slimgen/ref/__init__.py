"""numpy integer reference kernels: the executable spec of kernels/src/.

Each function takes batch-first int8 arrays and returns int8 arrays equal, bit for bit, to what
the C kernel produces for each batch element (tests/kernels checks this). Accumulation is exact
(int64, or float64 where every partial sum is an integer far below 2**53), and each function
raises where the C would overflow its int32 accumulator.
"""

from . import conv, eltwise, fc, layout, pool, requant, softmax, sparse

__all__ = ["conv", "eltwise", "fc", "layout", "pool", "requant", "softmax", "sparse"]
