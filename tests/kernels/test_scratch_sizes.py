"""The compiler's scratch sizes (lower/kernels.py) equal the C `_scratch_size` functions.

The C function is the source of truth (the kernel checks scratch.size against it); the arena
planner uses the Python mirror. A drift would either waste RAM or make the kernel refuse to run
(SG_ERR_SCRATCH) on the device. Also checked: the sizes do not depend on the build (portable or
DSP), since a memory plan must not depend on the core.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from slimgen.lower.kernels import conv_1x1_scratch, conv_scratch, fc_scratch

from tests.kernels.harness import KERNEL_SETTINGS, dims

sizes = st.integers(1, 700)
small = st.integers(1, 7)


@KERNEL_SETTINGS
@given(in_features=st.integers(1, 5000), out_features=sizes)
def test_fc_scratch_mirror(sgk, in_features: int, out_features: int) -> None:
    p = sgk.ffi.new("sg_fc_s8_params *", {"in_features": in_features,
                                            "out_features": out_features})
    assert sgk.lib.sg_fc_s8_scratch_size(p) == fc_scratch(in_features, out_features)


def _conv_params(sgk, kh: int, kw: int, c_in: int, c_out: int):
    return sgk.ffi.new("sg_conv2d_s8_params *", {
        "in": dims(9, 9, c_in), "filter": {"n": c_out, "h": kh, "w": kw, "c": c_in},
        "out": dims(9, 9, c_out)})


@KERNEL_SETTINGS
@given(c_in=sizes, c_out=sizes)
def test_conv_1x1_scratch_mirror(sgk, c_in: int, c_out: int) -> None:
    p = _conv_params(sgk, 1, 1, c_in, c_out)
    assert sgk.lib.sg_conv2d_s8_1x1_scratch_size(p) == conv_1x1_scratch(c_in, c_out)


@KERNEL_SETTINGS
@given(kh=small, kw=small, c_in=sizes, c_out=sizes)
def test_conv_scratch_mirror(sgk, kh: int, kw: int, c_in: int, c_out: int) -> None:
    p = _conv_params(sgk, kh, kw, c_in, c_out)
    assert sgk.lib.sg_conv2d_s8_scratch_size(p) == conv_scratch(kh, kw, c_in, c_out)


def test_scratch_sizes_clamp_instead_of_overflowing(sgk) -> None:
    """A shape whose scratch does not fit int32 asks for INT32_MAX (no caller can offer it, so
    the kernel answers SG_ERR_SCRATCH) rather than a wrapped, small size."""
    p = _conv_params(sgk, 7, 7, 1 << 24, 1)
    assert sgk.lib.sg_conv2d_s8_scratch_size(p) == conv_scratch(7, 7, 1 << 24, 1) == 2**31 - 1
