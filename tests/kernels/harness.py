"""Call the C kernels through cffi, and draw random kernel parameters, for tests/kernels.

``KernelLib`` wraps each kernel as a numpy-in, numpy-out function over a batch (one C call per
batch element, the kernels being batch 1). Params are built as plain dicts first, so a test can
override any field (``overrides={"in": {"n": 2}}``) to check that SG_REQUIRE rejects it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from slimgen.ref.requant import Requant

SG_OK, SG_ERR_ARG, SG_ERR_SCRATCH, SG_ERR_UNSUPPORTED = 0, -1, -2, -3

#: Set by tests/kernels/test_sanitizers.py for its subprocess: build with ASan + UBSan.
SANITIZE = os.environ.get("SLIMGEN_SANITIZE") == "1"
MAX_EXAMPLES = int(os.environ.get("SLIMGEN_KERNEL_EXAMPLES", "80"))

#: Every kernel property test: fixed examples (derandomized), no deadline (first calls build).
KERNEL_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class KernelError(AssertionError):
    def __init__(self, fn: str, status: int) -> None:
        super().__init__(f"{fn} returned status {status}")
        self.status = status


def status_of(kernel_call: Any, *args: Any, **kwargs: Any) -> int:
    """The status of a KernelLib call: SG_OK, or the error the kernel returned."""
    try:
        kernel_call(*args, **kwargs)
    except KernelError as e:
        return e.status
    return SG_OK


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def dims(h: int, w: int, c: int, n: int = 1) -> dict[str, int]:
    return {"n": n, "h": h, "w": w, "c": c}


@dataclass
class KernelLib:
    """The loaded kernel library: ``ffi`` and ``lib`` from slimgen.build.host.load_kernels."""

    ffi: Any
    lib: Any

    def _buf(self, keep: list[Any], arr: np.ndarray | None, ctype: str) -> Any:
        if arr is None:
            return self.ffi.NULL
        a = np.ascontiguousarray(arr)
        keep.append(a)  # the pointer is only valid while the array lives
        return self.ffi.from_buffer(f"{ctype}[]", a)

    def requant(self, keep: list[Any], rq: Requant) -> dict[str, Any]:
        return {
            "mult": self._buf(keep, rq.mult.astype(np.int32), "int32_t"),
            "shift": self._buf(keep, rq.shift.astype(np.int32), "int32_t"),
            "in_offset": rq.in_offset,
            "out_offset": rq.out_offset,
            "act_min": rq.act_min,
            "act_max": rq.act_max,
        }

    def call(
        self,
        fn: str,
        params_type: str,
        params: dict[str, Any],
        inputs: Sequence[np.ndarray],
        out_shape: tuple[int, ...],
        *,
        overrides: dict[str, Any] | None = None,
        scratch_size: int | None = None,
        keep: list[Any] | None = None,
    ) -> np.ndarray:
        """Run ``fn`` once per batch element of ``inputs`` (each (N, ...)); stack the outputs.

        Raises KernelError with the status if the kernel does not return SG_OK.
        """
        keep = [] if keep is None else keep
        p = self.ffi.new(f"{params_type} *", _merge(params, overrides or {}))
        need = getattr(self.lib, f"{fn}_scratch_size")(p)
        size = need if scratch_size is None else scratch_size
        scratch_buf = np.zeros(max(size, 1) + 4, np.uint8)
        scratch = {"buf": self._buf(keep, scratch_buf, "uint8_t"), "size": size}
        batch = inputs[0].shape[0]
        out = np.zeros((batch, *out_shape), np.int8)
        for i in range(batch):
            ins = [self._buf(keep, x[i], "int8_t") for x in inputs]
            status = getattr(self.lib, fn)(p, *ins, self._buf(keep, out[i], "int8_t"), scratch)
            if status != SG_OK:
                raise KernelError(fn, status)
        return out

    # ---- per-kernel wrappers: (N, ...) numpy in, (N, ...) numpy out ----

    def _window_params(
        self, keep, x, weights, bias, rq, filter_dims, *, stride, pad, dilation, out_hw
    ):
        """The fields sg_conv2d_s8_params and sg_dwconv2d_s8_params share."""
        return {
            "in": dims(x.shape[1], x.shape[2], x.shape[3]),
            "filter": filter_dims,
            "out": dims(out_hw[0], out_hw[1], rq.channels),
            "stride_h": stride[0],
            "stride_w": stride[1],
            "pad_top": pad[0],
            "pad_left": pad[1],
            "dil_h": dilation[0],
            "dil_w": dilation[1],
            "weights": self._buf(keep, weights, "int8_t"),
            "bias": self._buf(keep, bias, "int32_t"),
            "rq": self.requant(keep, rq),
        }

    def conv2d_params(self, keep, x, weights, bias, rq, **geometry):
        cout, kh, kw, cin = weights.shape
        filter_dims = {"n": cout, "h": kh, "w": kw, "c": cin}
        return self._window_params(keep, x, weights, bias, rq, filter_dims, **geometry)

    def conv2d(
        self,
        x,
        weights,
        bias,
        rq,
        *,
        fn="sg_conv2d_s8",
        overrides=None,
        scratch_size=None,
        **geometry,
    ):
        keep: list[Any] = []
        params = self.conv2d_params(keep, x, weights, bias, rq, **geometry)
        out_shape = (*geometry["out_hw"], weights.shape[0])
        return self.call(
            fn,
            "sg_conv2d_s8_params",
            params,
            [x],
            out_shape,
            overrides=overrides,
            scratch_size=scratch_size,
            keep=keep,
        )

    def dwconv2d(
        self,
        x,
        weights,
        bias,
        rq,
        *,
        ch_mult,
        fn="sg_dwconv2d_s8",
        overrides=None,
        scratch_size=None,
        **geometry,
    ):
        keep: list[Any] = []
        kh, kw, cout = weights.shape
        filter_dims = {"n": 1, "h": kh, "w": kw, "c": cout}
        params = self._window_params(keep, x, weights, bias, rq, filter_dims, **geometry)
        params["ch_mult"] = ch_mult
        return self.call(
            fn,
            "sg_dwconv2d_s8_params",
            params,
            [x],
            (*geometry["out_hw"], cout),
            overrides=overrides,
            scratch_size=scratch_size,
            keep=keep,
        )

    def fc(self, x, weights, bias, rq, *, overrides=None, scratch_size=None):
        keep: list[Any] = []
        params = {
            "in_features": weights.shape[1],
            "out_features": weights.shape[0],
            "weights": self._buf(keep, weights, "int8_t"),
            "bias": self._buf(keep, bias, "int32_t"),
            "rq": self.requant(keep, rq),
        }
        return self.call(
            "sg_fc_s8",
            "sg_fc_s8_params",
            params,
            [x],
            (weights.shape[0],),
            overrides=overrides,
            scratch_size=scratch_size,
            keep=keep,
        )

    def pool2d(
        self,
        fn,
        x,
        *,
        kernel,
        stride,
        pad,
        out_hw,
        act_min,
        act_max,
        count_include_pad=0,
        pad_value=0,
        overrides=None,
        scratch_size=None,
    ):
        params = {
            "in": dims(x.shape[1], x.shape[2], x.shape[3]),
            "out": dims(out_hw[0], out_hw[1], x.shape[3]),
            "kernel_h": kernel[0],
            "kernel_w": kernel[1],
            "stride_h": stride[0],
            "stride_w": stride[1],
            "pad_top": pad[0],
            "pad_left": pad[1],
            "pad_bottom": pad[2],
            "pad_right": pad[3],
            "count_include_pad": count_include_pad,
            "pad_value": pad_value,
            "act_min": act_min,
            "act_max": act_max,
        }
        return self.call(
            fn,
            "sg_pool2d_s8_params",
            params,
            [x],
            (*out_hw, x.shape[3]),
            overrides=overrides,
            scratch_size=scratch_size,
        )

    def add(self, x1, x2, *, overrides=None, scratch_size=None, **params):
        """x1, x2 (N, ...) int8; params are the sg_add_s8_params fields other than size."""
        size = int(np.prod(x1.shape[1:]))
        flat = [x.reshape(x.shape[0], -1) for x in (x1, x2)]
        out = self.call(
            "sg_add_s8",
            "sg_add_s8_params",
            {"size": size, **params},
            flat,
            (size,),
            overrides=overrides,
            scratch_size=scratch_size,
        )
        return out.reshape(x1.shape)

    def clamp(self, x, act_min, act_max, *, overrides=None, scratch_size=None):
        size = int(np.prod(x.shape[1:]))
        params = {"size": size, "act_min": act_min, "act_max": act_max}
        out = self.call(
            "sg_clamp_s8",
            "sg_clamp_s8_params",
            params,
            [x.reshape(len(x), -1)],
            (size,),
            overrides=overrides,
            scratch_size=scratch_size,
        )
        return out.reshape(x.shape)

    def transpose_nhwc_nchw(self, x, *, overrides=None, scratch_size=None):
        params = {"in": dims(x.shape[1], x.shape[2], x.shape[3])}
        return self.call(
            "sg_transpose_nhwc_nchw_s8",
            "sg_transpose_nhwc_nchw_s8_params",
            params,
            [x],
            (int(np.prod(x.shape[1:])),),
            overrides=overrides,
            scratch_size=scratch_size,
        )

    def softmax(self, x, *, mult, left_shift, diff_min, overrides=None, scratch_size=None):
        """x (N, depth): one call per row, as the reference is per row."""
        params = {
            "rows": 1,
            "depth": x.shape[1],
            "mult": mult,
            "left_shift": left_shift,
            "diff_min": diff_min,
        }
        return self.call(
            "sg_softmax_s8",
            "sg_softmax_s8_params",
            params,
            [x],
            (x.shape[1],),
            overrides=overrides,
            scratch_size=scratch_size,
        )


# ---- random parameters (numpy Generator driven, so one hypothesis-drawn seed fixes a case) ----


def random_int8(rng: np.random.Generator, shape: Sequence[int], lo: int = -128, hi: int = 127):
    return rng.integers(lo, hi + 1, size=tuple(shape), dtype=np.int64).astype(np.int8)


def random_zero_point_offset(rng: np.random.Generator) -> int:
    """in_offset = -zero_point, with the extreme zero points (-128 and 127) one time in three."""
    return int(rng.choice([128, -127, int(rng.integers(-127, 129))]))


def random_out_stage(rng: np.random.Generator) -> tuple[int, int, int]:
    """(out_offset, act_min, act_max): extreme zero points and ReLU-like clamps included."""
    out_offset = int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))
    if rng.random() < 0.5:
        return out_offset, -128, 127
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, size=2))
    return out_offset, lo, hi


def random_mult_shift(rng: np.random.Generator, channels: int, typical_acc: float):
    """Per-channel Q31 multipliers and shifts that map |acc| ~ typical_acc to about +-100, so
    outputs are spread over int8, with the occasional extreme (mult 0 or 2^31 - 1, shift -31
    or 30) mixed in."""
    mult = rng.integers(1 << 30, 1 << 31, size=channels, dtype=np.int64)
    base = int(np.round(np.log2(100.0 / max(typical_acc, 1.0)))) + 1
    shift = np.clip(base + rng.integers(-2, 3, size=channels), -31, 30)
    rare = rng.random(channels)
    mult = np.where(rare < 0.03, 0, np.where(rare > 0.97, (1 << 31) - 1, mult))
    shift = np.where(rare < 0.02, -31, np.where(rare > 0.98, 30, shift))
    return mult.astype(np.int32), shift.astype(np.int32)


def random_requant(rng: np.random.Generator, channels: int, typical_acc: float) -> Requant:
    mult, shift = random_mult_shift(rng, channels, typical_acc)
    out_offset, act_min, act_max = random_out_stage(rng)
    return Requant(
        mult=mult,
        shift=shift,
        in_offset=random_zero_point_offset(rng),
        out_offset=out_offset,
        act_min=act_min,
        act_max=act_max,
    )


def random_bias(rng: np.random.Generator, channels: int, typical_acc: float):
    """int32 bias of the accumulator's order of magnitude, or None one time in four."""
    if rng.random() < 0.25:
        return None
    bound = int(max(typical_acc, 1.0) * 2)
    return rng.integers(-bound, bound + 1, size=channels).astype(np.int32)
