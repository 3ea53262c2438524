"""Float passes: each test states what a pass must change, and that the graph still computes
what torch computes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from slimgen import api
from slimgen.errors import UnsupportedError
from slimgen.frontend.torch_export import import_program
from slimgen.ir import float_interp
from slimgen.passes.float_passes import fold_batchnorm, fold_flatten, fuse_activation, fuse_pad


def _graph(model: nn.Module, shape, passes=()):
    ep = torch.export.export(model.eval(), (torch.zeros(shape),))
    g = import_program(ep, "t")
    for p in passes:
        g = p(g)
    return g


def _ops(g) -> Counter:
    return Counter(n.op for n in g.nodes)


def _check_matches_torch(model, g, shape):
    x = np.random.default_rng(0).standard_normal((3, *shape[1:])).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy().reshape(3, -1)
    got = float_interp.run(g, api.to_ir_layout(x, g)).reshape(3, -1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


class ConvBnRelu6(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 5, 3), nn.BatchNorm2d(5)
        self.bn.running_mean.uniform_(-1, 1)
        self.bn.running_var.uniform_(0.5, 2)
        self.bn.weight.data.uniform_(0.5, 2)

    def forward(self, x):
        return F.relu6(self.bn(self.conv(x))).flatten(1)


def test_fold_batchnorm_and_fuse_relu6():
    m = ConvBnRelu6()
    g = _graph(m, (1, 3, 6, 6), [fold_batchnorm, fold_flatten, fuse_activation])
    assert _ops(g) == {"conv2d": 1, "transpose": 1}
    conv = g.nodes[0]
    assert conv.attrs.act == (0.0, 6.0)
    _check_matches_torch(m, g, (1, 3, 6, 6))


class BnOnInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(3)
        self.bn.running_mean.uniform_(-1, 1)
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        return self.conv(self.bn(x)).flatten(1)


def test_batchnorm_without_producer_becomes_1x1_depthwise():
    m = BnOnInput()
    g = _graph(m, (1, 3, 4, 4), [fold_batchnorm])
    assert _ops(g)["dwconv2d"] == 1 and _ops(g)["batchnorm"] == 0
    _check_matches_torch(m, g, (1, 3, 4, 4))


class PadConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0))

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 2, 0))).flatten(1)


def test_fuse_pad_adds_to_conv_padding():
    m = PadConv()
    g = _graph(m, (1, 2, 7, 5), [fuse_pad])
    assert _ops(g)["pad"] == 0
    assert g.nodes[0].attrs.pad == (1 + 2, 0, 1 + 0, 0 + 1)  # top, left, bottom, right
    _check_matches_torch(m, g, (1, 2, 7, 5))


class PadPool(nn.Module):
    def forward(self, x):
        return F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 2).flatten(1)


def test_pad_before_pool_is_refused_with_its_place():
    with pytest.raises(UnsupportedError, match="max_pool2d"):
        _graph(PadPool(), (1, 2, 4, 4), [fuse_pad])


class FlattenLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(4 * 3 * 2, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


def test_fold_flatten_permutes_linear_columns_instead_of_data():
    m = FlattenLinear()
    g = _graph(m, (1, 3, 3, 2), [fold_flatten])
    assert _ops(g)["transpose"] == 0 and _ops(g)["reshape"] == 1
    _check_matches_torch(m, g, (1, 3, 3, 2))


def test_grouped_conv_is_refused_with_a_fix():
    m = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(UnsupportedError, match="groups=2") as e:
        _graph(m, (1, 4, 5, 5))
    assert "groups=1" in e.value.render()
