"""Randomly composed models: every supported op, mixed in ways nobody wrote by hand.

Each seed builds a small CNN from a grammar of the supported layers (odd sizes, non-square
kernels and strides, asymmetric F.pad, depthwise with channel multipliers, BN anywhere, every
activation spelling, pools with padding, residual adds, flatten into Linear or to the output),
then checks the import against torch and the generated C against the integer reference.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from slimgen import api
from slimgen.ir import float_interp
from tests.pipeline import build_model, random_inputs, write_npz

ACTS = [nn.ReLU, nn.ReLU6, lambda: nn.Hardtanh(0.0, 6.0), lambda: nn.Hardtanh(-1.0, 1.0),
        nn.Identity]


class Pad(nn.Module):
    def __init__(self, pads):
        super().__init__()
        self.pads = pads

    def forward(self, x):
        return F.pad(x, self.pads)


class Residual(nn.Module):
    def __init__(self, body, act):
        super().__init__()
        self.body, self.act = body, act

    def forward(self, x):
        return self.act(x + self.body(x))


class Head(nn.Module):
    def __init__(self, kind, c, h, w, classes):
        super().__init__()
        self.kind = kind
        self.fc = nn.Linear(c if kind in ("gap", "mean") else c * h * w, classes)

    def forward(self, x):
        if self.kind == "gap":
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        elif self.kind == "mean":
            x = x.mean((2, 3))
        else:
            x = x.reshape(x.shape[0], -1)
        return self.fc(x)


def _conv_out(n, k, s, p, d=1):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def random_model(seed: int):
    r = random.Random(seed)
    c, h, w = r.choice([1, 3, 4]), r.randint(7, 16), r.randint(7, 16)
    shape = (1, c, h, w)
    layers: list[nn.Module] = []
    for _ in range(r.randint(2, 5)):
        kind = r.choice(["conv", "conv", "dw", "pool", "bn_act", "residual", "pad_conv"])
        if kind in ("conv", "pad_conv"):
            kh, kw = r.choice([1, 3]), r.choice([1, 2, 3])
            sh, sw = r.choice([1, 2]), r.choice([1, 2])
            ph, pw = r.randint(0, kh // 2), r.randint(0, kw // 2)
            dil = r.choice([1, 1, 2]) if h > 6 and w > 6 else 1
            if kind == "pad_conv":
                pads = (r.randint(0, 1), r.randint(0, 1), r.randint(0, 2), r.randint(0, 1))
                layers.append(Pad(pads))
                w, h = w + pads[0] + pads[1], h + pads[2] + pads[3]
            co = r.randint(2, 9)
            if _conv_out(h, kh, sh, ph, dil) < 1 or _conv_out(w, kw, sw, pw, dil) < 1:
                continue
            layers.append(nn.Conv2d(c, co, (kh, kw), (sh, sw), (ph, pw), dilation=dil,
                                    bias=r.random() < 0.7))
            h, w, c = _conv_out(h, kh, sh, ph, dil), _conv_out(w, kw, sw, pw, dil), co
            if r.random() < 0.6:
                layers.append(nn.BatchNorm2d(c))
            layers.append(r.choice(ACTS)())
        elif kind == "dw":
            mult = r.choice([1, 1, 2])
            k, s = r.choice([3, 5]) if min(h, w) >= 5 else 3, r.choice([1, 2])
            if _conv_out(h, k, s, k // 2) < 1 or _conv_out(w, k, s, k // 2) < 1:
                continue
            layers.append(nn.Conv2d(c, c * mult, k, s, k // 2, groups=c))
            h, w, c = _conv_out(h, k, s, k // 2), _conv_out(w, k, s, k // 2), c * mult
            layers.append(r.choice(ACTS)())
        elif kind == "pool" and min(h, w) >= 3:
            k, s = r.choice([2, 3]), r.choice([1, 2])
            p = r.randint(0, k // 2)
            if r.random() < 0.5:
                layers.append(nn.MaxPool2d(k, s, p))
            else:
                layers.append(nn.AvgPool2d(k, s, p, count_include_pad=r.random() < 0.5))
            h, w = _conv_out(h, k, s, p), _conv_out(w, k, s, p)
        elif kind == "bn_act":
            layers += [nn.BatchNorm2d(c), r.choice(ACTS)()]
        elif kind == "residual":
            body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))
            layers.append(Residual(body, r.choice(ACTS)()))
    head = r.choice(["gap", "mean", "flatten", "flatten_out"])
    if head == "flatten_out":
        layers.append(nn.Flatten())
    else:
        layers.append(Head(head, c, h, w, r.randint(2, 10)))
        if r.random() < 0.5:
            layers.append(nn.Softmax(dim=1))
    model = nn.Sequential(*layers)
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    return model.eval(), shape


@pytest.mark.parametrize("seed", range(24))
def test_random_model_bit_exact(seed, tmp_path):
    model, shape = random_model(seed)
    out = build_model(model, shape, tmp_path, n_calib=8)
    fg, _, _ = api.load_built(out)
    x = random_inputs(shape, 4, seed + 100)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy().reshape(4, -1)
    got = float_interp.run(fg, api.to_ir_layout(x, fg)).reshape(4, -1)
    if fg.output_layout == "nhwc":
        c, h, w = fg.output_torch_shape
        got = got.reshape(4, h, w, c).transpose(0, 3, 1, 2).reshape(4, -1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))
    res = api.verify(out, write_npz(tmp_path / "t.npz", x=x))
    assert res["bit_exact"], (res.get("first_mismatch"), str(model))
