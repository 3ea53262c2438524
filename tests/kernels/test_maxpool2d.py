"""sg_maxpool2d_s8 against ref.pool.maxpool2d, and ref.pool.maxpool2d against torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from slimgen import ref

from tests.kernels.harness import (
    KERNEL_SETTINGS,
    SG_ERR_ARG,
    random_int8,
    random_out_stage,
    status_of,
)
from tests.kernels.strategies import Window, pool_windows, seeds, torch_pool_windows


@dataclass
class PoolCase:
    x: np.ndarray  # (N, H, W, C)
    win: Window
    act_min: int
    act_max: int
    count_include_pad: int = 0
    pad_value: int = 0

    @property
    def common(self) -> dict:
        return dict(**self.win.pool_geometry, act_min=self.act_min, act_max=self.act_max)

    @property
    def avg_options(self) -> dict:
        return {"count_include_pad": self.count_include_pad, "pad_value": self.pad_value}

    def run(self, sgk, fn: str, **call_options) -> np.ndarray:
        extra = self.avg_options if fn == "sg_avgpool2d_s8" else {}
        return sgk.pool2d(fn, self.x, **self.common, **extra, **call_options)


def make_case(win: Window, channels: int, seed: int, batch: int = 1) -> PoolCase:
    rng = np.random.default_rng(seed)
    _, act_min, act_max = random_out_stage(rng)
    return PoolCase(
        random_int8(rng, (batch, *win.in_hw, channels)),
        win,
        act_min,
        act_max,
        count_include_pad=int(rng.integers(0, 2)),
        pad_value=int(rng.choice([-128, 127, int(rng.integers(-128, 128))])),
    )


@st.composite
def pool_cases(draw: st.DrawFn) -> PoolCase:
    return make_case(
        draw(pool_windows()), draw(st.integers(1, 9)), draw(seeds()), batch=draw(st.integers(1, 2))
    )


def pool_window(in_hw, kernel, stride, pad=(0, 0, 0, 0), ceil=False) -> Window:
    """A torch-style window for explicit cases (out size from the floor or ceil rule)."""
    out = []
    for n, k, s, lo, hi in zip(in_hw, kernel, stride, pad[:2], pad[2:]):
        span = n + lo + hi - k
        o = (-(-span // s) if ceil else span // s) + 1
        out.append(o - 1 if ceil and (o - 1) * s >= n + lo else o)
    return Window(in_hw, kernel, stride, pad, (1, 1), tuple(out))


EDGE_WINDOWS = {
    "global_7x7": pool_window((7, 7), (7, 7), (7, 7)),
    "stride_larger_than_kernel": pool_window((9, 8), (1, 2), (3, 3)),
    "ceil_mode_overhang": pool_window((6, 7), (3, 3), (2, 2), (1, 1, 1, 1), ceil=True),
    "tf_same_asymmetric": pool_window((6, 5), (3, 2), (2, 2), (0, 0, 1, 1)),
    "kernel_wider_than_input": pool_window((2, 2), (3, 3), (1, 1), (1, 1, 1, 1)),
    "single_pixel": pool_window((1, 1), (1, 1), (1, 1)),
    # the DSP path unrolls whole 2x2 windows; partial ones (ceil mode, padding) take its loop
    "pool_2x2": pool_window((6, 8), (2, 2), (2, 2)),
    "pool_2x2_ceil_partial": pool_window((5, 7), (2, 2), (2, 2), ceil=True),
    "pool_2x2_padded": pool_window((4, 5), (2, 2), (1, 1), (1, 1, 1, 1)),
}


@KERNEL_SETTINGS
@given(pool_cases())
def test_maxpool2d_matches_reference(sgk, case: PoolCase) -> None:
    np.testing.assert_array_equal(
        case.run(sgk, "sg_maxpool2d_s8"), ref.pool.maxpool2d(case.x, **case.common)
    )


@pytest.mark.parametrize("name", sorted(EDGE_WINDOWS))
@pytest.mark.parametrize("channels", [1, 5, 8, 11])  # DSP path: no / one / two words + tail
def test_maxpool2d_edge_cases(sgk, name: str, channels: int) -> None:
    case = make_case(EDGE_WINDOWS[name], channels, seed=channels)
    np.testing.assert_array_equal(
        case.run(sgk, "sg_maxpool2d_s8"), ref.pool.maxpool2d(case.x, **case.common)
    )


def torch_nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2)


@KERNEL_SETTINGS
@given(torch_pool_windows(), seeds())
def test_maxpool2d_reference_matches_torch(win: Window, seed: int) -> None:
    """Integer inputs make float max pooling exact, so torch is an independent oracle."""
    case = make_case(win, 3, seed)
    (ph, pw), ceil = (
        win.pad[:2],
        win.out_hw != pool_window(win.in_hw, win.kernel, win.stride, win.pad).out_hw,
    )
    expected = F.max_pool2d(torch_nchw(case.x), win.kernel, win.stride, (ph, pw), ceil_mode=ceil)
    expected = np.clip(expected.permute(0, 2, 3, 1).numpy(), case.act_min, case.act_max)
    np.testing.assert_array_equal(ref.pool.maxpool2d(case.x, **case.common), expected)


@KERNEL_SETTINGS
@given(pool_windows(), seeds())
def test_maxpool2d_reference_matches_torch_with_asymmetric_padding(win: Window, seed: int):
    """Asymmetric (TF SAME) padding: pad explicitly with -inf, then pool without padding."""
    case = make_case(win, 2, seed)
    top, left, bottom, right = win.pad
    padded = F.pad(torch_nchw(case.x), (left, right, top, bottom), value=-np.inf)
    expected = F.max_pool2d(padded, win.kernel, win.stride, ceil_mode=True)
    expected = expected.permute(0, 2, 3, 1).numpy()[:, : win.out_hw[0], : win.out_hw[1]]
    expected = np.clip(expected, case.act_min, case.act_max)
    np.testing.assert_array_equal(ref.pool.maxpool2d(case.x, **case.common), expected)


REJECTED = {
    "batch_2": {"in": {"n": 2}},
    "channels_differ": {"out": {"c": 4}},
    "pad_as_large_as_kernel": {"pad_top": 3},
    "out_h_inconsistent": {"out": {"h": 2}},
    "zero_kernel": {"kernel_w": 0},
    "zero_stride": {"stride_h": 0},
    "act_min_above_act_max": {"act_min": 10, "act_max": 9},
}


@pytest.mark.parametrize("fn", ["sg_maxpool2d_s8", "sg_avgpool2d_s8"])
@pytest.mark.parametrize("name", sorted(REJECTED))
def test_pool2d_rejects_bad_arguments(sgk, fn: str, name: str) -> None:
    case = make_case(pool_window((6, 6), (3, 3), (1, 1), (1, 1, 1, 1)), 3, seed=0)
    assert status_of(case.run, sgk, fn, overrides=REJECTED[name]) == SG_ERR_ARG


@pytest.mark.parametrize("source", ["pool/sg_maxpool2d_s8.c", "pool/sg_avgpool2d_s8.c"])
def test_pool_kernels_need_no_64bit_division_on_cortex_m(tmp_path, source: str) -> None:
    """The argument checks divide in int32: a 64-bit division is a slow libgcc call
    (__aeabi_ldivmod) on every Cortex-M."""
    import subprocess

    from slimgen import paths

    obj = tmp_path / "pool.o"
    subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-O2", "-mthumb", "-mcpu=cortex-m4",
                    f"-I{paths.kernels_dir() / 'include'}", "-c",
                    str(paths.kernels_dir() / "src" / source), "-o", str(obj)], check=True)
    undefined = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                               text=True, check=True).stdout
    assert "divmod" not in undefined, undefined
