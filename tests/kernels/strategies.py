"""hypothesis strategies for kernel shapes: odd sizes, C = 1, non-square kernels and strides,
padding larger than the kernel, dilation, windows that miss the input entirely."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Window:
    in_hw: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def conv_geometry(self) -> dict[str, tuple[int, int]]:
        """The keyword arguments ref.conv and KernelLib.conv2d/dwconv2d take."""
        return {
            "stride": self.stride,
            "pad": self.pad[:2],
            "dilation": self.dilation,
            "out_hw": self.out_hw,
        }

    @property
    def pool_geometry(self) -> dict[str, object]:
        """The keyword arguments ref.pool and KernelLib.pool2d take."""
        return {
            "kernel": self.kernel,
            "stride": self.stride,
            "pad": self.pad,
            "out_hw": self.out_hw,
        }


def _conv_out(n: int, k: int, s: int, d: int, pad_lo: int, pad_hi: int) -> int:
    return (n + pad_lo + pad_hi - d * (k - 1) - 1) // s + 1


def conv_window(
    in_hw, kernel, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), out_hw=None
) -> Window:
    """An explicit conv window; out_hw defaults to what the padding implies (at least 1)."""
    if out_hw is None:
        out_hw = tuple(
            max(1, _conv_out(n, k, s, d, lo, hi))
            for n, k, s, d, lo, hi in zip(in_hw, kernel, stride, dilation, pad[:2], pad[2:])
        )
    return Window(in_hw, kernel, stride, pad, dilation, out_hw)


@st.composite
def conv_windows(
    draw: st.DrawFn, max_in: int = 9, max_k: int = 4, max_pad: int = 5, dilation: bool = True
) -> Window:
    """Any conv window the C accepts. out_hw follows from a drawn bottom/right padding (the
    header has none), and is at least 1 even when the dilated kernel outgrows the padded input,
    so some windows hold no input tap at all."""
    h, w = draw(st.integers(1, max_in)), draw(st.integers(1, max_in))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    top, left, bottom, right = (draw(st.integers(0, max_pad)) for _ in range(4))
    out_hw = (
        max(1, _conv_out(h, kh, sh, dh, top, bottom)),
        max(1, _conv_out(w, kw, sw, dw, left, right)),
    )
    return Window((h, w), (kh, kw), (sh, sw), (top, left, bottom, right), (dh, dw), out_hw)


def _pool_out(n: int, k: int, s: int, pad_lo: int, pad_hi: int, ceil: bool) -> int:
    span = n + pad_lo + pad_hi - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= n + pad_lo:  # torch drops a window starting in the padding
        out -= 1
    return out


@st.composite
def pool_windows(draw: st.DrawFn, max_in: int = 9, max_k: int = 4) -> Window:
    """Pool windows as torch (floor or ceil_mode) and TF SAME padding produce them: each pad
    below the kernel size, so every window overlaps the input."""
    h, w = draw(st.integers(1, max_in)), draw(st.integers(1, max_in))
    kh, kw = draw(st.integers(1, min(max_k, h + 2))), draw(st.integers(1, min(max_k, w + 2)))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    top, bottom = draw(st.integers(0, kh - 1)), draw(st.integers(0, kh - 1))
    left, right = draw(st.integers(0, kw - 1)), draw(st.integers(0, kw - 1))
    if h + top + bottom < kh:
        bottom = kh - h - top
    if w + left + right < kw:
        right = kw - w - left
    ceil = draw(st.booleans())
    out_hw = (_pool_out(h, kh, sh, top, bottom, ceil), _pool_out(w, kw, sw, left, right, ceil))
    return Window((h, w), (kh, kw), (sh, sw), (top, left, bottom, right), (1, 1), out_hw)


def seeds() -> st.SearchStrategy[int]:
    """A numpy seed: array contents come from numpy, shapes and flags from hypothesis."""
    return st.integers(0, 2**32 - 1)


@st.composite
def torch_pool_windows(draw: st.DrawFn, max_in: int = 9, max_k: int = 5) -> Window:
    """Pool windows torch's MaxPool2d / AvgPool2d accept: symmetric pad <= kernel / 2, floor or
    ceil_mode output size."""
    h, w = draw(st.integers(1, max_in)), draw(st.integers(1, max_in))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    if h + 2 * ph < kh or w + 2 * pw < kw:
        kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
        ph, pw = min(ph, kh // 2), min(pw, kw // 2)
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ceil = draw(st.booleans())
    out_hw = (_pool_out(h, kh, sh, ph, ph, ceil), _pool_out(w, kw, sw, pw, pw, ceil))
    return Window((h, w), (kh, kw), (sh, sw), (ph, pw, ph, pw), (1, 1), out_hw)
