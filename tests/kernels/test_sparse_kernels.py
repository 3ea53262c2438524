"""Sparse fc and 1x1 kernels (kernels/src/sparse) against ref.sparse (densify + dense reference).

Every format, random shapes and densities (all-zero and fully dense rows included), reductions
that are not a multiple of 4, gaps of 255 and more, with the bias folded at build time exactly
as the compiler folds it. The sgk fixture runs each test on every kernel build (portable and,
where conftest provides it, emulated DSP).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref
from slimgen.lower import sparse_format as sf

from tests.kernels.harness import (
    KERNEL_SETTINGS,
    SG_ERR_ARG,
    random_bias,
    random_int8,
    random_requant,
    status_of,
)
from tests.kernels.strategies import conv_windows, seeds
from tests.kernels.test_sparse_format import random_nm, random_sparse

C_NAME = {"unstructured": "csr8", "bsr1x4": "bsr1x4", "nm2:4": "nm4", "nm1:4": "nm4"}


def weight_struct(lib, keep: list[Any], p: sf.Packed, fc: bool = False) -> dict[str, Any]:
    buf = lib._buf
    if isinstance(p, sf.Csr8):
        return {"rows": p.rows, "cols": p.cols, "row_len": buf(keep, p.row_len, "uint16_t"),
                "delta": buf(keep, p.delta, "uint8_t"), "values": buf(keep, p.values, "int8_t")}
    if isinstance(p, sf.Bsr1x4):
        return {"rows": p.rows, "cols": p.cols,
                "row_blocks": buf(keep, p.row_blocks, "uint16_t"),
                "block_col": buf(keep, p.block_col, "uint16_t"),
                "values": buf(keep, p.values, "int8_t")}
    # fc reads only the int16 pairs, the convolutions only the int8 values
    return {"rows": p.rows, "cols": p.cols, "n": p.n, "offset": buf(keep, p.offset, "uint8_t"),
            "values": buf(keep, None if fc else p.values, "int8_t"),
            "pairs": buf(keep, p.pairs if fc else None, "int16_t")}


def call_sparse(lib, fmt: str, x: np.ndarray, w: np.ndarray, bias, rq, *, overrides=None):
    """x (N, K) for fc or (N, H, W, C) for 1x1; dense w packed as fmt; bias folded here."""
    keep: list[Any] = []
    p = sf.pack(w, fmt)
    folded = sf.fold_input_offset(bias, w, rq.in_offset)
    params = {"w": weight_struct(lib, keep, p, fc=x.ndim == 2), "bias": lib._buf(keep, folded, "int32_t"),
              "rq": lib.requant(keep, rq)}
    name = C_NAME[fmt]
    if x.ndim == 2:
        fn, out_shape = f"sg_fc_s8_{name}", (w.shape[0],)
    else:
        h, wd, c = x.shape[1:]
        params["in"] = {"n": 1, "h": h, "w": wd, "c": c}
        params["out"] = {"n": 1, "h": h, "w": wd, "c": w.shape[0]}
        fn, out_shape = f"sg_conv2d_s8_1x1_{name}", (h, wd, w.shape[0])
    return lib.call(fn, f"{fn}_params", params, [x], out_shape, overrides=overrides, keep=keep)


def make_weights(rng: np.random.Generator, fmt: str, rows: int, cols: int, density: float):
    if fmt.startswith("nm"):
        return random_nm(rng, rows, cols, int(fmt[2]), density)
    if fmt == "bsr1x4":  # whole blocks kept or dropped, some kept blocks with zeros inside
        w = random_sparse(rng, rows, cols, 1.0)
        blocks = w.reshape(rows, cols // 4, 4)
        blocks[rng.random((rows, cols // 4)) >= density] = 0
        blocks[rng.random(blocks.shape) < 0.1] = 0
        return blocks.reshape(rows, cols)
    return random_sparse(rng, rows, cols, density)


@st.composite
def sparse_cases(draw: st.DrawFn, pointwise: bool):
    fmt = draw(st.sampled_from(sorted(C_NAME)))
    rng = np.random.default_rng(draw(seeds()))
    k = draw(st.integers(1, 160)) * (4 if fmt == "bsr1x4" else 1)
    if draw(st.booleans()) and fmt != "bsr1x4":
        k = draw(st.integers(1, 8))
    rows = draw(st.integers(1, 24))
    density = draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0]))
    w = make_weights(rng, fmt, rows, k, density)
    batch = draw(st.integers(1, 2))
    if pointwise:
        x = random_int8(rng, (batch, draw(st.integers(1, 4)), draw(st.integers(1, 3)), k))
    else:
        x = random_int8(rng, (batch, k))
    typical = np.sqrt(k * max(density, 0.05)) * 100 * 73
    return fmt, x, w, random_bias(rng, rows, typical), random_requant(rng, rows, typical)


def reference(x, w, bias, rq):
    if x.ndim == 2:
        return ref.fc.fc(x, w, bias, rq)
    return ref.conv.conv2d(x, w.reshape(w.shape[0], 1, 1, -1), bias, rq, stride=(1, 1),
                           pad=(0, 0), dilation=(1, 1), out_hw=x.shape[1:3])


@KERNEL_SETTINGS
@given(sparse_cases(pointwise=False))
def test_sparse_fc_matches_reference(sgk, case) -> None:
    fmt, x, w, bias, rq = case
    out = call_sparse(sgk, fmt, x, w, bias, rq)
    np.testing.assert_array_equal(out, ref.sparse.fc(x, sf.pack(w, fmt), bias, rq))


@KERNEL_SETTINGS
@given(sparse_cases(pointwise=True))
def test_sparse_pointwise_matches_reference(sgk, case) -> None:
    fmt, x, w, bias, rq = case
    out = call_sparse(sgk, fmt, x, w, bias, rq)
    np.testing.assert_array_equal(out, ref.sparse.conv2d(x, sf.pack(w, fmt), bias, rq))


@pytest.mark.parametrize("fmt", sorted(C_NAME))
@pytest.mark.parametrize("shape", ["fc", "pointwise"])
def test_sparse_edges(sgk, fmt: str, shape: str) -> None:
    """Gaps of 255+ (escapes), a first column past 255, an all-zero row, a fully dense row,
    extreme zero points, and an odd pixel count for the pointwise pairs."""
    rng = np.random.default_rng(11)
    k = 1100
    w = make_weights(rng, fmt, 6, k, 0.01)
    if fmt == "unstructured":
        w[0] = 0
        w[0, [300, 555, 1099]] = [127, -128, 9]
    w[1] = 0
    w[2] = make_weights(rng, fmt, 1, k, 1.0)[0]
    x = random_int8(rng, (2, k) if shape == "fc" else (1, 3, 1, k))
    for in_offset in (128, -127):
        rq = random_requant(rng, 6, 3000.0)
        rq = type(rq)(rq.mult, rq.shift, in_offset, rq.out_offset, rq.act_min, rq.act_max)
        bias = random_bias(rng, 6, 3000.0)
        np.testing.assert_array_equal(call_sparse(sgk, fmt, x, w, bias, rq),
                                      reference(x, w, bias, rq))


@pytest.mark.parametrize("fmt", sorted(C_NAME))
def test_sparse_rejects_bad_shapes(sgk, fmt: str) -> None:
    rng = np.random.default_rng(1)
    w = make_weights(rng, fmt, 3, 8, 0.5)
    x = random_int8(rng, (1, 1, 2, 8))
    rq = random_requant(rng, 3, 100.0)
    assert status_of(call_sparse, sgk, fmt, x, w, None, rq) == 0
    for bad in ({"w": {"rows": 0}}, {"w": {"values": sgk.ffi.NULL}}, {"in": {"c": 9}},
                {"out": {"w": 3}}, {"rq": {"act_min": 100, "act_max": 0}}):
        assert status_of(call_sparse, sgk, fmt, x, w, None, rq, overrides=bad) == SG_ERR_ARG
    assert status_of(call_sparse, sgk, fmt, x[:, 0, 0], w, None, rq,
                     overrides={"w": {"cols": 0}}) == SG_ERR_ARG


@st.composite
def sparse_conv_cases(draw: st.DrawFn):
    fmt = draw(st.sampled_from(sorted(C_NAME)))
    rng = np.random.default_rng(draw(seeds()))
    win = draw(conv_windows(max_in=7, max_k=3, max_pad=3))
    kh, kw = win.kernel
    cin = draw(st.integers(1, 6)) * (4 if fmt == "bsr1x4" else 1)
    cout = draw(st.integers(1, 9))
    density = draw(st.sampled_from([0.0, 0.1, 0.3, 1.0]))
    w = make_weights(rng, fmt, cout, kh * kw * cin, density)
    x = random_int8(rng, (1, *win.in_hw, cin))
    typical = np.sqrt(kh * kw * cin * max(density, 0.05)) * 100 * 73
    return fmt, x, w, win, random_bias(rng, cout, typical), random_requant(rng, cout, typical)


def call_sparse_conv(lib, fmt, x, w, win, bias, rq, *, overrides=None, scratch_size=None):
    keep: list[Any] = []
    kh, kw = win.kernel
    cout, cin = w.shape[0], x.shape[3]
    name = C_NAME[fmt]
    params = {"in": {"n": 1, "h": x.shape[1], "w": x.shape[2], "c": cin},
              "filter": {"n": cout, "h": kh, "w": kw, "c": cin},
              "out": {"n": 1, "h": win.out_hw[0], "w": win.out_hw[1], "c": cout},
              "stride_h": win.stride[0], "stride_w": win.stride[1], "pad_top": win.pad[0],
              "pad_left": win.pad[1], "dil_h": win.dilation[0], "dil_w": win.dilation[1],
              "w": weight_struct(lib, keep, sf.pack(w, fmt)),
              "bias": lib._buf(keep, sf.fold_input_offset(bias, w, rq.in_offset), "int32_t"),
              "rq": lib.requant(keep, rq)}
    fn = f"sg_conv2d_s8_{name}"
    return lib.call(fn, f"{fn}_params", params, [x], (*win.out_hw, cout), overrides=overrides,
                    scratch_size=scratch_size, keep=keep)


@KERNEL_SETTINGS
@given(sparse_conv_cases())
def test_sparse_conv_matches_reference(sgk, case) -> None:
    """Any window (padding beyond the kernel, strides, dilation): im2col rows with the zero
    point in padded taps plus the folded bias equal the dense reference."""
    fmt, x, w, win, bias, rq = case
    out = call_sparse_conv(sgk, fmt, x, w, win, bias, rq)
    expected = ref.sparse.conv2d(x, sf.pack(w, fmt), bias, rq, kernel=win.kernel,
                                 **win.conv_geometry)
    np.testing.assert_array_equal(out, expected)


def test_sparse_conv_checks_scratch_and_shapes(sgk) -> None:
    from tests.kernels.harness import SG_ERR_SCRATCH
    from tests.kernels.strategies import conv_window

    rng = np.random.default_rng(5)
    win = conv_window((6, 5), (3, 3), pad=(1, 1, 1, 1))
    w = make_weights(rng, "bsr1x4", 3, 9 * 4, 0.5)
    x = random_int8(rng, (1, 6, 5, 4))
    rq = random_requant(rng, 3, 500.0)
    assert sgk.lib.sg_conv2d_s8_bsr1x4_scratch_size(
        sgk.ffi.new("sg_conv2d_s8_bsr1x4_params *", {"filter": {"n": 3, "h": 3, "w": 3,
                                                                 "c": 4}})) == 12 * 36
    assert status_of(call_sparse_conv, sgk, "bsr1x4", x, w, win, None, rq,
                     scratch_size=12 * 36 - 1) == SG_ERR_SCRATCH
    for bad in ({"filter": {"c": 5}}, {"w": {"cols": 35}}, {"out": {"c": 4}}, {"stride_h": 0}):
        assert status_of(call_sparse_conv, sgk, "bsr1x4", x, w, win, None, rq,
                         overrides=bad) == SG_ERR_ARG


@KERNEL_SETTINGS
@given(kh=st.integers(1, 7), kw=st.integers(1, 7), c_in=st.integers(1, 700),
       fmt=st.sampled_from(sorted(C_NAME)))
def test_sparse_conv_scratch_mirror(sgk, kh: int, kw: int, c_in: int, fmt: str) -> None:
    """lower/kernels.py plans the scratch the C asks for (4 im2col rows; N:4 also two pair
    tables), and for the fc (N:4: one table) and 1x1 (N:4: two tables) kernels."""
    from types import SimpleNamespace

    from slimgen.lower.kernels import KERNELS

    wn = {"n": int(fmt[2])} if fmt.startswith("nm") else {}
    k = kh * kw * c_in
    for name, params, node in (
            (f"sg_conv2d_s8_{C_NAME[fmt]}", {"filter": {"n": 3, "h": kh, "w": kw, "c": c_in}},
             SimpleNamespace(attrs=SimpleNamespace(kernel=(kh, kw)),
                             x=SimpleNamespace(shape=(9, 9, c_in)),
                             out=SimpleNamespace(shape=(9, 9, 3)))),
            (f"sg_conv2d_s8_1x1_{C_NAME[fmt]}", {"w": {"cols": k, "rows": 5}},
             SimpleNamespace(x=SimpleNamespace(shape=(9, 9, k)),
                             out=SimpleNamespace(shape=(9, 9, 5)))),
            (f"sg_fc_s8_{C_NAME[fmt]}", {"w": {"cols": k, "rows": 7}},
             SimpleNamespace(x=SimpleNamespace(size=k), out=SimpleNamespace(size=7)))):
        spec = next(s for s in KERNELS if s.name == name and s.sparse == fmt)
        params["w"] = {**params.get("w", {}), **wn}
        p = sgk.ffi.new(f"{name}_params *", params)
        assert getattr(sgk.lib, f"{name}_scratch_size")(p) == spec.scratch_bytes(node), name


@pytest.mark.parametrize("stride, pad, dil_h", [((1, 1), (0, 0, 0, 0), 1),
                                                 ((2, 2), (1, 1, 2, 1), 2),
                                                 ((1, 2), (2, 0, 1, 3), 1)])
def test_sparse_conv_wide_rows(sgk, stride, pad, dil_h) -> None:
    """Output rows of 8+ pixels, so that four pixels of one row inside the input along x take
    the DSP kernels' direct widening (sg_im2col_widen4) and the edge blocks the im2col rows;
    padding rows above and below are fills."""
    from tests.kernels.strategies import conv_window

    rng = np.random.default_rng(11)
    win = conv_window((9, 19), (3, 3), stride=stride, pad=pad, dilation=(dil_h, 1))
    assert win.out_hw[1] >= 8
    for fmt, cin in (("unstructured", 3), ("unstructured", 8), ("bsr1x4", 4)):
        w = make_weights(rng, fmt, 6, 9 * cin, 0.3)
        x = random_int8(rng, (1, 9, 19, cin))
        rq = random_requant(rng, 6, 3000.0)
        bias = random_bias(rng, 6, 3000.0)
        out = call_sparse_conv(sgk, fmt, x, w, win, bias, rq)
        expected = ref.sparse.conv2d(x, sf.pack(w, fmt), bias, rq, kernel=win.kernel,
                                     **win.conv_geometry)
        np.testing.assert_array_equal(out, expected)
