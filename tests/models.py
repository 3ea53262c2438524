"""Small seeded PyTorch models the test suite compiles.

Every model has a factory ``make_<name>(seed=0) -> (module, example_input_shape)``; the module is
in eval mode and its weights depend only on ``seed`` (the global torch RNG is left untouched).
Registries for parametrizing tests:

    MLPERF  the four MLPerf Tiny v1 architectures (random weights), per ../shared/data/README.md
    ZOO     small models that together use every supported op in every supported form
    DIGITS  the 8x8 digits classifiers (untrained here; tests/digits.py trains them)
    ALL     all of the above

BatchNorm layers get random affine parameters and running statistics measured on random input
(then perturbed), so BN folding is exercised while activations stay O(1) through deep stacks.

Parameter counts: ``count_params(m)`` counts Conv2d/Linear weights and biases only, i.e. the
parameters left after BatchNorm is folded into the layer before it. That is how the README's
numbers are counted (22,604 / 210,850 / 77,706 / 265,864; they equal the TFLite tensor sizes).
``count_params(m, include_bn=True)`` adds gamma, beta, running mean and running variance of
every BatchNorm, which is Keras's "Total params" (e.g. KWS 24,908 = the entries in
kws_ref_model_float_weights.npz). ``count_macs`` counts multiply-accumulates of Conv2d and
Linear layers only (no pooling, BN, softmax), as the README does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .digits import digits_example

KERAS_BN_EPS = 1e-3  # Keras BatchNormalization epsilon (torch default 1e-5)
KERAS_BN_MOMENTUM = 0.01  # Keras momentum 0.99 in torch's convention
TF_SAME_S2 = (0, 1, 0, 1)  # F.pad for TF "SAME" 3x3 stride 2 on even sizes: extra row/col at end

Factory = Callable[..., tuple[nn.Module, tuple[int, ...]]]


# --------------------------------------------------------------------------- helpers


def count_params(model: nn.Module, include_bn: bool = False) -> int:
    """Conv2d + Linear weights and biases; with include_bn also every BN's 4 vectors (Keras)."""
    total = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            total += sum(p.numel() for p in m.parameters(recurse=False))
        elif include_bn and isinstance(m, nn.modules.batchnorm._BatchNorm):
            total += 4 * m.num_features
    return total


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of Conv2d and Linear layers for one forward pass of input_shape."""
    macs = 0

    def hook(m: nn.Module, inputs, output) -> None:
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            macs += output.numel() * (m.in_channels // m.groups) * kh * kw
        else:
            macs += output.numel() * m.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    try:
        model.eval()(torch.zeros(input_shape))
    finally:
        for h in handles:
            h.remove()
    return macs


@torch.no_grad()
def _randomize_batchnorm(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Random gamma/beta, running stats measured on a random batch, then perturbed."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0.0, 0.2)
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average: one batch sets the stats exactly
        bn.train()
    model(torch.randn(8, *input_shape[1:]))
    for bn, momentum in zip(bns, momenta):
        bn.running_mean.add_(0.1 * torch.randn_like(bn.running_mean) * bn.running_var.sqrt())
        bn.running_var.mul_(torch.empty_like(bn.running_var).uniform_(0.7, 1.4))
        bn.momentum = momentum


def _seeded(build: Callable[[], nn.Module], input_shape: tuple[int, ...], seed: int):
    """Build the model under its own RNG stream; returns (eval module, input_shape)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build().eval()
        _randomize_batchnorm(model, input_shape)
    return model.eval(), tuple(input_shape)


MLPERF: dict[str, Factory] = {}  # the four MLPerf Tiny architectures
ZOO: dict[str, Factory] = {}  # small models covering every supported op form
DIGITS: dict[str, Factory] = {}  # 8x8 digits classifiers (untrained)
OUTPUT_SHAPES: dict[str, tuple[int, ...]] = {}  # name -> output shape for a batch of 1


def _register(
    registry: dict[str, Factory],
    name: str,
    build: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...],
) -> Factory:
    """Make make_<name>(seed=0) -> (seeded eval module, input shape) and list it in registry."""

    def make(seed: int = 0):
        return _seeded(build, input_shape, seed)

    make.__name__ = make.__qualname__ = f"make_{name}"
    registry[name] = make
    OUTPUT_SHAPES[name] = tuple(output_shape)
    return make


def _bn2d(c: int, keras: bool = True) -> nn.BatchNorm2d:
    if keras:
        return nn.BatchNorm2d(c, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM)
    return nn.BatchNorm2d(c)


class ConvBnAct(nn.Module):
    """[F.pad] -> Conv2d -> [BatchNorm2d] -> [activation]: the building block of most models.

    ``pad`` is an F.pad tuple (left, right, top, bottom) applied before a conv that then uses
    ``padding`` (0 when pad is given, as in the TF "SAME" stride-2 rebuilds).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel,
        stride=1,
        padding=0,
        pad: tuple[int, int, int, int] | None = None,
        groups: int = 1,
        bias: bool = True,
        bn: bool = True,
        keras_bn: bool = True,
        act: nn.Module | None = None,
        dilation=1,
    ) -> None:
        super().__init__()
        self.pad = pad
        self.conv = nn.Conv2d(
            cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=bias
        )
        self.bn = _bn2d(cout, keras_bn) if bn else nn.Identity()
        self.act = act if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return self.act(self.bn(self.conv(x)))


def _dw_pw(cin: int, cout: int, stride: int) -> list[nn.Module]:
    """MobileNet/DS-CNN pair: depthwise 3x3 (+BN+ReLU), pointwise 1x1 (+BN+ReLU), Keras-style."""
    if stride == 1:
        dw = ConvBnAct(cin, cin, 3, padding=1, groups=cin, act=nn.ReLU())
    else:
        dw = ConvBnAct(cin, cin, 3, stride, pad=TF_SAME_S2, groups=cin, act=nn.ReLU())
    return [dw, ConvBnAct(cin, cout, 1, act=nn.ReLU())]


# --------------------------------------------------------------------------- MLPerf Tiny


class KwsDsCnn(nn.Module):
    """KWS DS-CNN: 1x1x49x10 MFCC -> 12-class softmax (22,604 folded params, 2.66 M MACs)."""

    def __init__(self) -> None:
        super().__init__()
        # TF SAME for k(10,4) s2 on 49x10: H pads 4 top / 5 bottom, W 1 / 1.
        self.conv0 = ConvBnAct(1, 64, (10, 4), stride=2, pad=(1, 1, 4, 5), act=nn.ReLU())
        self.drop0 = nn.Dropout(0.2)
        self.blocks = nn.Sequential(*[m for _ in range(4) for m in _dw_pw(64, 64, 1)])
        self.drop1 = nn.Dropout(0.4)
        self.pool = nn.AvgPool2d((25, 5))
        self.fc = nn.Linear(64, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.drop0(self.conv0(x)))
        x = torch.flatten(self.pool(self.drop1(x)), 1)
        return F.softmax(self.fc(x), dim=1)


# (cin, cout, stride) of the 13 depthwise/pointwise pairs of MobileNetV1 alpha=0.25
_VWW_PAIRS = (
    [(8, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2)]
    + [(128, 128, 1)] * 5
    + [(128, 256, 2), (256, 256, 1)]
)


class VwwMobileNetV1(nn.Module):
    """VWW MobileNetV1-0.25: 1x3x96x96 -> 2-class softmax (210,850 folded params, 7.49 M MACs)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBnAct(3, 8, 3, 2, pad=TF_SAME_S2, act=nn.ReLU())]
        for cin, cout, stride in _VWW_PAIRS:
            layers += _dw_pw(cin, cout, stride)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AvgPool2d(3)
        self.fc = nn.Linear(256, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(self.features(x)), 1)
        return F.softmax(self.fc(x), dim=1)


class ResNetBlock(nn.Module):
    """Keras ResNet-8 stack: conv+BN+ReLU, conv+BN, add shortcut, ReLU after the add.

    With stride 2 the first conv pads TF-style (0,1,0,1) and the shortcut is a 1x1 stride-2
    conv with bias and no BN; with stride 1 the shortcut is the identity.
    """

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        if stride == 1:
            self.conv1 = ConvBnAct(cin, cout, 3, padding=1, act=nn.ReLU())
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.conv1 = ConvBnAct(cin, cout, 3, stride, pad=TF_SAME_S2, act=nn.ReLU())
            self.shortcut = nn.Conv2d(cin, cout, 1, stride)
        self.conv2 = ConvBnAct(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.shortcut(x) + self.conv2(self.conv1(x)))


class IcResNet8(nn.Module):
    """IC ResNet-8: 1x3x32x32 -> 10-class softmax (77,706 folded params, 12.5 M MACs)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvBnAct(3, 16, 3, padding=1, act=nn.ReLU())
        self.stacks = nn.Sequential(
            ResNetBlock(16, 16, 1), ResNetBlock(16, 32, 2), ResNetBlock(32, 64, 2)
        )
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(self.stacks(self.stem(x))), 1)
        return F.softmax(self.fc(x), dim=1)


_AD_WIDTHS = (640, 128, 128, 128, 128, 8, 128, 128, 128, 128)


class AdAutoencoder(nn.Module):
    """AD FC auto-encoder: 1x640 -> 1x640, 9x (Linear+BN1d+ReLU) then Linear (265,864 params)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in itertools.pairwise(_AD_WIDTHS):
            layers += [
                nn.Linear(cin, cout),
                nn.BatchNorm1d(cout, eps=KERAS_BN_EPS, momentum=KERAS_BN_MOMENTUM),
                nn.ReLU(),
            ]
        layers.append(nn.Linear(_AD_WIDTHS[-1], 640))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


make_kws_dscnn = _register(MLPERF, "kws_dscnn", KwsDsCnn, (1, 1, 49, 10), (1, 12))
make_vww_mobilenet_v1_025 = _register(
    MLPERF, "vww_mobilenet_v1_025", VwwMobileNetV1, (1, 3, 96, 96), (1, 2)
)
make_ic_resnet8 = _register(MLPERF, "ic_resnet8", IcResNet8, (1, 3, 32, 32), (1, 10))
make_ad_autoencoder = _register(MLPERF, "ad_autoencoder", AdAutoencoder, (1, 640), (1, 640))


# name -> (folded params as in ../shared/data/README.md, Keras total incl. BN, MACs)
MLPERF_SIZES: dict[str, tuple[int, int, int]] = {
    "kws_dscnn": (22_604, 24_908, 2_656_768),
    "vww_mobilenet_v1_025": (210_850, 221_794, 7_489_664),
    "ic_resnet8": (77_706, 78_666, 12_501_632),
    "ad_autoencoder": (265_864, 269_992, 264_192),
}


# --------------------------------------------------------------------------- zoo
# Which zoo model covers what (every op of the supported set in every listed form):
#   conv_bn_relu_odd   13x11 input, channels 3/5/7, conv without bias, BN2d eps 1e-5 and 1e-3,
#                      ReLU, ReLU6, AdaptiveAvgPool2d(1), nn.Flatten, Linear, nn.Softmax
#   depthwise_mult2    depthwise with channel multiplier 2 (3->6) and 1 (stride 2),
#                      nn.Hardtanh(0,6), in-place ReLU, x.mean((2,3)), Linear
#   dw_nonsquare       depthwise multiplier 2 (5->10) with a 1x5 kernel and no bias, depthwise
#                      3x3 stride (2,1), torch.clamp(x,0,6), flatten of a 7x5x13 map -> Linear
#   nonsquare_view     3x1 kernel stride (2,1), 1x5 kernel, ReLU6 via F.relu6, x.view(n,-1) of a
#                      5x8x9 map -> Linear (NCHW->NHWC weight permutation), F.softmax
#   pad_dilated        F.pad (0,1,0,1) + stride 2, dilated conv (dilation 2, padding 2),
#                      asymmetric F.pad (1,2,0,1), clamp(-1,1), output = flattened spatial map
#   maxpool            MaxPool2d(3,2) without padding, MaxPool2d(3,2,padding=1) on values that
#                      can be negative, x.reshape(n,-1) -> Linear, F.softmax
#   avgpool            AvgPool2d(3,2,padding=1) (count_include_pad) on signed values,
#                      AvgPool2d(2), x.mean(dim=[-1,-2], keepdim=True), 1x1 conv classifier,
#                      x.flatten(1), nn.Softmax(dim=-1)
#   residual           identity residual add with ReLU after, residual add without activation,
#                      Dropout, AdaptiveAvgPool2d(1)
#   mlp_bn1d           Linear + BatchNorm1d + ReLU, Dropout, ReLU6, Linear without bias,
#                      clamp(-1,1) at the output


class ConvBnReluOdd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvBnAct(3, 5, 3, padding=1, keras_bn=False, act=nn.ReLU()),
            ConvBnAct(5, 7, 3, 2, padding=1, bias=False, act=nn.ReLU6()),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(7, 10),
            nn.Softmax(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DepthwiseMult2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dw1 = ConvBnAct(3, 6, 3, padding=1, groups=3, act=nn.Hardtanh(0.0, 6.0))
        self.dw2 = ConvBnAct(6, 6, 3, 2, padding=1, groups=6, act=nn.ReLU(inplace=True))
        self.pw = ConvBnAct(6, 12, 1, bn=False, act=nn.ReLU())
        self.fc = nn.Linear(12, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pw(self.dw2(self.dw1(x))).mean((2, 3)))


class DwNonSquare(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dw1 = ConvBnAct(5, 10, (1, 5), padding=(0, 2), groups=5, bias=False, act=nn.ReLU())
        self.dw2 = ConvBnAct(10, 10, 3, (2, 1), padding=1, groups=10, bn=False)
        self.pw = ConvBnAct(10, 7, 1, keras_bn=False)
        self.fc = nn.Linear(7 * 5 * 13, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.clamp(self.pw(self.dw2(self.dw1(x))), 0, 6)
        return self.fc(torch.flatten(x, 1))


class NonSquareView(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, (3, 1), stride=(2, 1), padding=(1, 0))
        self.conv2 = nn.Conv2d(6, 5, (1, 5), padding=(0, 2))
        self.fc = nn.Linear(5 * 8 * 9, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self.conv2(F.relu(self.conv1(x))))
        return F.softmax(self.fc(x.view(x.size(0), -1)), dim=1)


class PadDilated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = ConvBnAct(3, 8, 3, 2, pad=TF_SAME_S2, bn=False, act=nn.ReLU())
        self.dilated = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.asym = ConvBnAct(8, 4, 3, pad=(1, 2, 0, 1), keras_bn=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.asym(F.relu(self.dilated(self.down(x))))
        return torch.flatten(torch.clamp(x, -1, 1), 1)


class MaxPoolNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBnAct(7, 8, 3, padding=1, bn=False, act=nn.ReLU())
        self.pool1 = nn.MaxPool2d(3, 2)
        self.conv2 = ConvBnAct(8, 8, 3, padding=1)
        self.pool2 = nn.MaxPool2d(3, 2, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.pool2(self.conv2(self.pool1(self.conv1(x)))))
        return F.softmax(self.fc(x.reshape(x.shape[0], -1)), dim=1)


class AvgPoolNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBnAct(4, 8, 3, padding=1)
        self.pool1 = nn.AvgPool2d(3, 2, padding=1)
        self.conv2 = ConvBnAct(8, 8, 3, padding=1, bn=False, act=nn.ReLU())
        self.pool2 = nn.AvgPool2d(2)
        self.head = nn.Conv2d(8, 10, 1)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool2(self.conv2(F.relu(self.pool1(self.conv1(x)))))
        x = self.head(x.mean(dim=[-1, -2], keepdim=True))
        return self.softmax(x.flatten(1))


class ResidualNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = ConvBnAct(8, 8, 3, padding=1, act=nn.ReLU())
        self.b = ConvBnAct(8, 8, 3, padding=1)
        self.drop = nn.Dropout(0.3)
        self.c = ConvBnAct(8, 8, 3, padding=1, bn=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(F.relu(x + self.b(self.a(x))))
        x = x + self.c(x)
        return self.fc(torch.flatten(self.pool(x), 1))


class MlpBn1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(20, 32),
            nn.BatchNorm1d(32),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(32, 16),
            nn.BatchNorm1d(16, eps=KERAS_BN_EPS),
            nn.ReLU6(),
            nn.Linear(16, 5, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.net(x), -1, 1)


make_conv_bn_relu_odd = _register(ZOO, "conv_bn_relu_odd", ConvBnReluOdd, (1, 3, 13, 11), (1, 10))
make_depthwise_mult2 = _register(ZOO, "depthwise_mult2", DepthwiseMult2, (1, 3, 16, 16), (1, 4))
make_dw_nonsquare = _register(ZOO, "dw_nonsquare", DwNonSquare, (1, 5, 9, 13), (1, 6))
make_nonsquare_view = _register(ZOO, "nonsquare_view", NonSquareView, (1, 2, 16, 9), (1, 10))
make_pad_dilated = _register(ZOO, "pad_dilated", PadDilated, (1, 3, 12, 12), (1, 140))
make_maxpool = _register(ZOO, "maxpool", MaxPoolNet, (1, 7, 17, 17), (1, 10))
make_avgpool = _register(ZOO, "avgpool", AvgPoolNet, (1, 4, 15, 15), (1, 10))
make_residual = _register(ZOO, "residual", ResidualNet, (1, 8, 10, 10), (1, 5))
make_mlp_bn1d = _register(ZOO, "mlp_bn1d", MlpBn1d, (1, 20), (1, 5))


# --------------------------------------------------------------------------- digits


class DigitsMLP(nn.Module):
    """1x64 (or Nx1x8x8, flattened) -> 10 logits: 64-64-32-10 ReLU MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


# The CNN of examples/digits/make_example.py (loaded on first use), untrained, 10 logits.
make_digits_cnn = _register(
    DIGITS, "digits_cnn", lambda: digits_example().DigitsCNN(), (1, 1, 8, 8), (1, 10)
)
make_digits_mlp = _register(DIGITS, "digits_mlp", DigitsMLP, (1, 64), (1, 10))


ALL: dict[str, Factory] = {**MLPERF, **ZOO, **DIGITS}
