"""The kernel table: which C kernel computes each quantized node.

Dispatch happens here, at compile time: the first spec whose predicate holds wins, so specs are
ordered most specific first. The predicate words match the kernel header (sg_kernels.h).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir.graph import Graph, Node


@dataclass(frozen=True)
class KernelSpec:
    name: str  # C function, e.g. "sg_conv2d_s8_1x1"
    op: str  # IR op it implements
    applies: Callable[[Node], bool]
    source: str  # path under kernels/src
    scratch_bytes: Callable[[Node], int] = lambda n: 0
    sparse: str = ""  # packed weight format (lower/sparse_format.py); "" = dense
    # The output may be written over an input that dies at this node (plan/liveness.py): the
    # kernel reads every input element before writing the output element at the same index,
    # on every ISA path. Elementwise kernels only.
    in_place_ok: bool = False


def _is_1x1(n: Node) -> bool:
    a = n.attrs
    return (a.kernel == (1, 1) and a.stride == (1, 1) and a.pad == (0, 0, 0, 0)
            and a.dilation == (1, 1))



#: The shared format's decode table, first in its kernels' scratch (sg_sparse_shared.h).
SHARED_TABLE_BYTES = 1024

#: Sparse format -> suffix of its C kernels (nm2:4 and nm1:4 share sg_*_nm4).
SPARSE_C_NAMES = {"unstructured": "csr8", "bsr1x4": "bsr1x4", "nm2:4": "nm4", "nm1:4": "nm4",
                  "shared": "shared"}


def weight_matrix(n: Node):
    """The node's int8 weights as the [rows][cols] matrix the sparse formats pack."""
    w = n.inputs[1]
    assert w is not None and w.data is not None
    return w.data.reshape(w.data.shape[0], -1)


def _packable(fmt: str) -> Callable[[Node], bool]:
    from .sparse_format import fits

    return lambda n: fits(weight_matrix(n), fmt) is None

# Scratch mirrors of the C `_scratch_size` functions (tests/kernels/test_scratch_sizes.py checks
# them against the C over random shapes). Same value on every core: the DSP paths use it, the
# portable path ignores it, and a memory plan does not depend on the target.
INT32_MAX = (1 << 31) - 1


def _scratch(nbytes: int) -> int:
    """sg_scratch_bytes(): 0 for nothing, clamped to INT32_MAX."""
    return max(0, min(nbytes, INT32_MAX))


def widened_words(k: int) -> int:
    """sg_widened_words(): int32 words of k activations widened to halfword pairs."""
    return (k >> 2) * 2 + (k & 3)


def fc_scratch(in_features: int, out_features: int) -> int:
    """sg_fc_s8: the input widened, and the int32 sums."""
    return _scratch(4 * (widened_words(in_features) + out_features))


def conv_1x1_scratch(c_in: int, c_out: int) -> int:
    """sg_conv2d_s8_1x1: two pixels widened, and their int32 sums."""
    return _scratch(8 * (widened_words(c_in) + c_out))


def dw3x3_scratch(out_h: int, out_w: int, stride_h: int, stride_w: int) -> int:
    """sg_dwconv2d_s8_3x3: padded int16 planes (two if one holds at most 1024 halfwords, the
    second 4-byte aligned), plus a halfword, 4-byte rounded."""
    plane = ((out_h - 1) * stride_h + 3) * ((out_w - 1) * stride_w + 3)
    stride = (plane + 1) // 2 * 2
    planes = 2 if plane <= 1024 else 1
    return _scratch((2 * (planes * stride + 1) + 3) // 4 * 4)


def dw_scratch(kernel: tuple[int, int], out_hw: tuple[int, int], stride: tuple[int, int],
               dilation: tuple[int, int]) -> int:
    """sg_dwconv2d_s8: a tap list (int32 offset and weight per tap), then one padded int16
    plane."""
    taps = kernel[0] * kernel[1]
    plane = 1
    for k, o, s, d in zip(kernel, out_hw, stride, dilation):
        plane *= (o - 1) * s + (k - 1) * d + 1
    return _scratch((2 * (4 * taps + plane) + 3) // 4 * 4)


def sparse_scratch(fmt: str, family: str, cols: int, rows: int, conv_rows: int = 0) -> int:
    """The sparse kernels' scratch: N:4 pair tables and int32 sums per row (one set for fc,
    four for convolutions: sg_nm4_scratch in sg_sparse_nm4.h), plus a general conv's im2col
    rows (``conv_rows`` bytes)."""
    from .sparse_format import nm_table_bytes

    tables = 0
    if fmt.startswith("nm"):
        tables = (nm_table_bytes(cols, int(fmt[2])) + 4 * rows) * (1 if family == "fc" else 4)
    elif fmt == "shared":
        tables = SHARED_TABLE_BYTES
    elif fmt in ("bsr1x4", "unstructured") and family != "fc":
        # four pixels widened to halfwords (sg_bsr1x4_widen, sg_csr8_widen4)
        tables = 8 * cols
    return _scratch(tables + conv_rows) if conv_rows or family != "conv" else 0


def _is_dw3x3(n: Node) -> bool:
    a = n.attrs
    return a.kernel == (3, 3) and a.dilation == (1, 1) and a.ch_mult == 1


def conv_scratch(kh: int, kw: int, c_in: int, c_out: int) -> int:
    """sg_conv2d_s8: two widened im2col rows, their int32 sums, their two int8 gather rows."""
    k = kh * kw * c_in
    return _scratch(8 * (widened_words(k) + c_out) + 2 * k) if min(kh, kw, c_in) > 0 else 0


def _conv_sparse_scratch(fmt: str, kh: int, kw: int, c_in: int, c_out: int) -> int:
    """sg_conv2d_s8_<sparse>: 4 im2col rows (sg_sparse_conv.h), N:4 four pair tables and sums
    before them."""
    k = kh * kw * c_in
    rows = _scratch(4 * k)
    return sparse_scratch(fmt, "conv", k, c_out, rows) if 0 < rows < INT32_MAX else rows


KERNELS: tuple[KernelSpec, ...] = (
    KernelSpec("sg_conv2d_s8_1x1", "conv2d", _is_1x1, "conv/sg_conv2d_s8_1x1.c",
               scratch_bytes=lambda n: conv_1x1_scratch(n.x.shape[-1], n.out.shape[-1])),
    KernelSpec("sg_conv2d_s8", "conv2d", lambda n: True, "conv/sg_conv2d_s8.c",
               scratch_bytes=lambda n: conv_scratch(*n.attrs.kernel, n.x.shape[-1],
                                                      n.out.shape[-1])),
    KernelSpec("sg_dwconv2d_s8_3x3", "dwconv2d", _is_dw3x3, "conv/sg_dwconv2d_s8_3x3.c",
               scratch_bytes=lambda n: dw3x3_scratch(*n.out.shape[:2], *n.attrs.stride)),
    KernelSpec("sg_dwconv2d_s8", "dwconv2d", lambda n: True, "conv/sg_dwconv2d_s8.c",
               scratch_bytes=lambda n: dw_scratch(n.attrs.kernel, n.out.shape[:2],
                                                  n.attrs.stride, n.attrs.dilation)),
    KernelSpec("sg_fc_s8", "fc", lambda n: True, "fc/sg_fc_s8.c",
               scratch_bytes=lambda n: fc_scratch(n.x.size, n.out.size)),
    KernelSpec("sg_maxpool2d_s8", "maxpool", lambda n: True, "pool/sg_maxpool2d_s8.c"),
    KernelSpec("sg_avgpool2d_s8", "avgpool", lambda n: True, "pool/sg_avgpool2d_s8.c"),
    KernelSpec("sg_add_s8", "add", lambda n: True, "eltwise/sg_add_s8.c", in_place_ok=True),
    KernelSpec("sg_clamp_s8", "clamp", lambda n: True, "eltwise/sg_clamp_s8.c",
               in_place_ok=True),
    KernelSpec("sg_transpose_nhwc_nchw_s8", "transpose", lambda n: True,
               "layout/sg_transpose_nhwc_nchw_s8.c"),
    KernelSpec("sg_softmax_s8", "softmax", lambda n: True, "softmax/sg_softmax_s8.c"),
    # Sparse weights: chosen per layer by lower/sparse_select.py (--sparse), never by the
    # first-match loop below. Predicate: a layer shape and weights the format can hold.
    *(KernelSpec(f"sg_fc_s8_{c}", "fc", _packable(f), f"sparse/sg_fc_s8_{c}.c", sparse=f,
                 scratch_bytes=lambda n, f=f: sparse_scratch(f, "fc", n.x.size, n.out.size))
      for f, c in SPARSE_C_NAMES.items()),
    *(KernelSpec(f"sg_conv2d_s8_1x1_{c}", "conv2d", lambda n, f=f: _is_1x1(n) and _packable(f)(n),
                 f"sparse/sg_conv2d_s8_1x1_{c}.c", sparse=f,
                 scratch_bytes=lambda n, f=f: sparse_scratch(f, "pw", n.x.shape[-1],
                                                              n.out.shape[-1]))
      for f, c in SPARSE_C_NAMES.items()),
    # Any other conv (im2col rows of 4 pixels in scratch, sg_sparse_conv.h).
    *(KernelSpec(f"sg_conv2d_s8_{c}", "conv2d",
                 lambda n, f=f: not _is_1x1(n) and _packable(f)(n),
                 f"sparse/sg_conv2d_s8_{c}.c", sparse=f,
                 scratch_bytes=lambda n, f=f: _conv_sparse_scratch(f, *n.attrs.kernel,
                                                                   n.x.shape[-1],
                                                                   n.out.shape[-1]))
      for f, c in SPARSE_C_NAMES.items()),
)
SPECS = {k.name: k for k in KERNELS if not k.sparse}


def select_kernels(g: Graph) -> dict[str, KernelSpec]:
    """Map every node name to its kernel; reshape nodes need none (they alias their input)."""
    chosen: dict[str, KernelSpec] = {}
    for n in g.nodes:
        if n.op == "reshape":
            continue
        spec = next((k for k in KERNELS
                     if k.op == n.op and not k.sparse and k.applies(n)), None)
        if spec is None:
            raise AssertionError(f"no kernel for {n.name} ({n.op})")
        chosen[n.name] = spec
    return chosen


def dense_kernel(n: Node) -> KernelSpec | None:
    """The kernel select_kernels picks for ``n`` (None for ops without one); also usable on the
    float graph, so analyze plans its int8 arena (scratch, in place) the way build will."""
    return next((k for k in KERNELS if k.op == n.op and not k.sparse and k.applies(n)), None)


def in_place_ok(n: Node) -> bool:
    spec = dense_kernel(n)
    return spec is not None and spec.in_place_ok
