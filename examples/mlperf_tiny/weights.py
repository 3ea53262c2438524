"""The four MLPerf Tiny reference networks in PyTorch, with the reference float weights.

The architectures are the ones the test suite compiles (``tests/models.py``); this module only
fills them with the trained weights from ../shared/data: Keras .h5 files for IC, VWW and AD
(read with h5py) and the float checkpoint of KWS (``kws_ref_model_float_weights.npz``; its
.tflite is hybrid-quantized). Keras layouts are converted once here: Conv2D (kh, kw, cin, cout)
-> (cout, cin, kh, kw), DepthwiseConv2D (kh, kw, c, 1) -> (c, 1, kh, kw), Dense (in, out) ->
(out, in). BatchNorm keeps Keras's epsilon 1e-3 (set by the architectures).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tests.models import (
    TF_SAME_S2,
    make_ad_autoencoder,
    make_ic_resnet8,
    make_kws_dscnn,
    make_vww_mobilenet_v1_025,
)

Weights = Callable[[str], np.ndarray]  # "layer/variable" -> array (Keras layout)


def _h5(path: Path) -> Weights:
    import h5py

    f = h5py.File(path, "r")

    def get(key: str) -> np.ndarray:
        layer, var = key.split("/")
        return np.asarray(f["model_weights"][layer][layer][f"{var}:0"])

    return get


def _npz(path: Path) -> Weights:
    z = np.load(path)
    return lambda key: z[key]


def _set(p: torch.Tensor, value: np.ndarray) -> None:
    v = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    if p.shape != v.shape:
        raise ValueError(f"weight shape {tuple(v.shape)} does not fit parameter {tuple(p.shape)}")
    with torch.no_grad():
        p.copy_(v)


def _conv(m: nn.Conv2d, w: Weights, name: str) -> None:
    if m.groups > 1:
        _set(m.weight, w(f"{name}/depthwise_kernel").transpose(2, 3, 0, 1))
    else:
        _set(m.weight, w(f"{name}/kernel").transpose(3, 2, 0, 1))
    _set(m.bias, w(f"{name}/bias"))


def _dense(m: nn.Linear, w: Weights, name: str, zero_bias: bool = False) -> None:
    _set(m.weight, w(f"{name}/kernel").T)
    b = w(f"{name}/bias")
    _set(m.bias, np.zeros_like(b) if zero_bias else b)


def _bn(m: nn.Module, w: Weights, name: str) -> None:
    assert isinstance(m, nn.modules.batchnorm._BatchNorm) and m.eps == 1e-3
    _set(m.weight, w(f"{name}/gamma"))
    _set(m.bias, w(f"{name}/beta"))
    _set(m.running_mean, w(f"{name}/moving_mean"))
    _set(m.running_var, w(f"{name}/moving_variance"))


def _suffix(i: int) -> str:
    return "" if i == 0 else f"_{i}"


def _separable_stack(first: nn.Module, pairs: list[nn.Module], w: Weights) -> None:
    """A first conv then (depthwise, pointwise) pairs, each ConvBnAct, named as Keras does."""
    _conv(first.conv, w, "conv2d")
    _bn(first.bn, w, "batch_normalization")
    for i in range(len(pairs) // 2):
        dw, pw = pairs[2 * i], pairs[2 * i + 1]
        _conv(dw.conv, w, f"depthwise_conv2d{_suffix(i)}")
        _bn(dw.bn, w, f"batch_normalization_{2 * i + 1}")
        _conv(pw.conv, w, f"conv2d_{i + 1}")
        _bn(pw.bn, w, f"batch_normalization_{2 * i + 2}")


def kws(data: Path) -> nn.Module:
    """KWS DS-CNN; input (N, 1, 49, 10) = dequantized MFCC ``(q - 83) * 0.584703``."""
    model, _ = make_kws_dscnn()
    w = _npz(data / "mlperf-tiny-kws" / "kws_ref_model_float_weights.npz")
    _separable_stack(model.conv0, list(model.blocks), w)
    _dense(model.fc, w, "dense")
    return model.eval()


def vww(data: Path) -> nn.Module:
    """VWW MobileNetV1-0.25; input (N, 3, 96, 96) = RGB pixels / 255."""
    model, _ = make_vww_mobilenet_v1_025()
    w = _h5(data / "mlperf-tiny-vww" / "vww_96.h5")
    _separable_stack(model.features[0], list(model.features)[1:], w)
    _dense(model.fc, w, "dense")
    return model.eval()


def ic(data: Path) -> nn.Module:
    """IC ResNet-8; input (N, 3, 32, 32) = raw RGB pixels 0..255 (no scaling)."""
    model, _ = make_ic_resnet8()
    w = _h5(data / "mlperf-tiny-ic" / "pretrainedResnet.h5")
    _conv(model.stem.conv, w, "conv2d")
    _bn(model.stem.bn, w, "batch_normalization")
    b1, b2, b3 = model.stacks
    # Keras creates each stride-2 block's shortcut after its second conv (conv2d_4, conv2d_5).
    for block, (c1, n1, c2, n2, sc) in (
        (b1, (1, 1, 2, 2, None)),
        (b2, (3, 3, 4, 4, 5)),
        (b3, (6, 5, 7, 6, 8)),
    ):
        _conv(block.conv1.conv, w, f"conv2d_{c1}")
        _bn(block.conv1.bn, w, f"batch_normalization_{n1}")
        _conv(block.conv2.conv, w, f"conv2d_{c2}")
        _bn(block.conv2.bn, w, f"batch_normalization_{n2}")
        if sc is not None:
            _conv(block.shortcut, w, f"conv2d_{sc}")
    _dense(model.fc, w, "dense")
    return model.eval()


def ad(data: Path, tflite_biases: bool = True) -> nn.Module:
    """AD auto-encoder; input (N, 640) = 5 log-mel frames (dB).

    ``tflite_biases`` drops the Dense biases of layers 0-8 as the TF 2.3 converter did when it
    folded BatchNorm: the deployed .tflite models (AUC 0.903 float) rather than Keras (0.880).
    """
    model, _ = make_ad_autoencoder()
    w = _h5(data / "mlperf-tiny-ad" / "ad01.h5")
    layers = list(model.net)
    for i in range(9):
        _dense(layers[3 * i], w, f"dense{_suffix(i)}", zero_bias=tflite_biases)
        _bn(layers[3 * i + 1], w, f"batch_normalization{_suffix(i)}")
    _dense(layers[27], w, "dense_9")
    return model.eval()


MODELS: dict[str, Callable[[Path], nn.Module]] = {"kws": kws, "vww": vww, "ic": ic, "ad": ad}


def float_inputs(key: str, x: np.ndarray) -> np.ndarray:
    """Test-set samples as each float model takes them (NCHW for the CNNs)."""
    if key == "kws":  # int8 MFCC (N, 49, 10) -> dequantized (N, 1, 49, 10)
        return ((x.astype(np.float32) - 83) * np.float32(0.584703))[:, None]
    if key == "ic":  # uint8 HWC pixels
        return x.astype(np.float32).transpose(0, 3, 1, 2)
    if key == "vww":
        return (x.astype(np.float32) / np.float32(255.0)).transpose(0, 3, 1, 2)
    raise KeyError(key)


class _PlainBlock(nn.Module):
    """ResNet-8 stack with BatchNorm already folded into the convs (as a .tflite stores it)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.pad = TF_SAME_S2 if stride == 2 else (1, 1, 1, 1)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut: nn.Module = nn.Conv2d(cin, cout, 1, stride) if stride == 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(torch.relu(self.conv1(nn.functional.pad(x, self.pad))))
        return torch.relu(self.shortcut(x) + h)


class IcTeacher(nn.Module):
    """The 2.5x wider IC ResNet-8 teacher (40/80/160 channels, BatchNorm folded); outputs logits."""

    def __init__(self, w: tuple[int, int, int] = (40, 80, 160)) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, w[0], 3, 1, 1)
        self.stacks = nn.Sequential(_PlainBlock(w[0], w[0], 1), _PlainBlock(w[0], w[1], 2),
                                    _PlainBlock(w[1], w[2], 2))
        self.fc = nn.Linear(w[2], 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stacks(torch.relu(self.stem(x)))
        return self.fc(x.mean(dim=(2, 3)))


def ic_teacher(data: Path) -> nn.Module:
    """IC teacher from ``teacher_resnet8_large/pretrainedResnet_large_float.tflite`` (93 % on the
    200 EEMBC images; its .h5 is not provided). The float .tflite holds each conv with BatchNorm
    folded in, OHWI; its operators come in the order stem, block 1 (conv, conv), block 2
    (conv, conv, shortcut), block 3 (conv, conv, shortcut), dense."""
    from slimgen.frontend.tflite import parse

    path = data / "mlperf-tiny-ic" / "teacher_resnet8_large" / "pretrainedResnet_large_float.tflite"
    tf = parse(path.read_bytes(), path)
    consts = [[tf.tensors[i].data for i in op.inputs[1:]] for op in tf.operators
              if op.name in ("CONV_2D", "FULLY_CONNECTED")]
    model = IcTeacher()
    b1, b2, b3 = model.stacks
    convs = [model.stem, b1.conv1, b1.conv2, b2.conv1, b2.conv2, b2.shortcut, b3.conv1,
             b3.conv2, b3.shortcut]
    if len(consts) != len(convs) + 1:
        raise ValueError(f"{path}: expected {len(convs) + 1} conv/dense operators")
    for m, (wt, b) in zip(convs, consts):
        _set(m.weight, wt.transpose(0, 3, 1, 2))  # OHWI -> OIHW
        _set(m.bias, b)
    _set(model.fc.weight, consts[-1][0])
    _set(model.fc.bias, consts[-1][1])
    return model.eval()


class Logits(nn.Module):
    """A classifier without its final softmax (fine-tuning and distillation want logits)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        if hasattr(m, "stacks"):  # IC ResNet-8
            x = torch.flatten(m.pool(m.stacks(m.stem(x))), 1)
        else:  # KWS DS-CNN
            x = torch.flatten(m.pool(m.drop1(m.blocks(m.drop0(m.conv0(x))))), 1)
        return m.fc(x)
