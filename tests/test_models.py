"""Sanity tests of the test models (tests/models.py), the digits helpers and the digits example."""

from __future__ import annotations

import warnings
from functools import cache

import numpy as np
import pytest
import torch
from torch import nn

from tests.digits import (
    accuracy,
    digits_example,
    load_digits_shared,
    split_digits,
    train_digits,
)
from tests.models import (
    ALL,
    DIGITS,
    MLPERF,
    MLPERF_SIZES,
    OUTPUT_SHAPES,
    ZOO,
    count_macs,
    count_params,
)


@cache
def _built(name: str):
    model, shape = ALL[name]()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    return model, x, y


@cache
def _exported(name: str) -> torch.export.ExportedProgram:
    model, x, _ = _built(name)
    return torch.export.export(model, (x,))


def _calls(ep: torch.export.ExportedProgram) -> list[torch.fx.Node]:
    return [n for n in ep.graph.nodes if n.op == "call_function"]


# ------------------------------------------------------------------ every model


@pytest.mark.parametrize("name", list(ALL))
def test_forward_shape_and_finite(name):
    model, x, y = _built(name)
    assert not model.training
    assert x.shape[0] == 1
    assert tuple(y.shape) == OUTPUT_SHAPES[name]
    assert torch.isfinite(y).all()
    assert y.abs().max() > 1e-3, "activations vanished: int8 tests would see only zeros"


@pytest.mark.parametrize("name", list(ALL))
def test_factory_is_seeded_and_leaves_global_rng_alone(name):
    state = torch.random.get_rng_state()
    a, _ = ALL[name](seed=0)
    assert torch.equal(state, torch.random.get_rng_state())
    b, _ = ALL[name](seed=0)
    c, _ = ALL[name](seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())


@pytest.mark.parametrize("name", list(ALL))
def test_torch_export_batch1(name):
    _, x, y = _built(name)
    ep = _exported(name)
    assert torch.allclose(ep.module()(x), y, atol=1e-6)
    placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]  # user input last
    assert tuple(placeholders[-1].meta["val"].shape) == tuple(x.shape)


@pytest.mark.parametrize("name", list(ALL))
def test_torchscript(name):
    model, x, y = _built(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in recent torch
        try:
            scripted = torch.jit.script(model)
        except Exception:  # noqa: BLE001 - any scripting failure: fall back to tracing
            scripted = torch.jit.trace(model, x)
    with torch.no_grad():
        assert torch.allclose(scripted(x), y, atol=1e-6)


@pytest.mark.parametrize("name", list(ALL))
def test_batchnorm_is_randomized(name):
    model, _, _ = _built(name)
    for bn in (m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)):
        assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
        assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
        assert not torch.allclose(bn.weight, torch.ones_like(bn.weight))
        assert not torch.allclose(bn.bias, torch.zeros_like(bn.bias))


# ------------------------------------------------------------------ MLPerf Tiny


def test_mlperf_sizes_match_readme():
    # Folded counts (Conv2d/Linear weights + biases) are the numbers in ../shared/data/README.md.
    readme = {
        "kws_dscnn": 22_604,
        "vww_mobilenet_v1_025": 210_850,
        "ic_resnet8": 77_706,
        "ad_autoencoder": 265_864,
    }
    for name, factory in MLPERF.items():
        model, shape = factory()
        folded, keras, macs = MLPERF_SIZES[name]
        assert count_params(model) == folded == readme[name], name
        assert count_params(model, include_bn=True) == keras, name
        assert count_macs(model, shape) == macs, name


def test_mlperf_batchnorm_uses_keras_eps():
    for factory in MLPERF.values():
        model, _ = factory()
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                assert m.eps == 1e-3


@pytest.mark.parametrize("name", ["kws_dscnn", "vww_mobilenet_v1_025", "ic_resnet8"])
def test_mlperf_stride2_convs_are_padded_explicitly(name):
    """TF SAME stride 2: every stride-2 conv with k>1 follows an F.pad and has padding 0."""
    ep = _exported(name)
    for node in _calls(ep):
        if node.target == torch.ops.aten.conv2d.default:
            weight = node.args[1].meta["val"]
            stride = node.args[3] if len(node.args) > 3 else [1, 1]
            if list(stride) == [2, 2] and weight.shape[-1] > 1:
                assert node.args[0].target == torch.ops.aten.pad.default
                padding = node.args[4] if len(node.args) > 4 else [0, 0]  # defaults dropped
                assert list(padding) == [0, 0]


# ------------------------------------------------------------------ zoo


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models_are_small(name):
    model, shape = ZOO[name]()
    assert count_params(model, include_bn=True) < 50_000
    assert count_macs(model, shape) < 2_000_000


def _zoo_features() -> set[str]:
    """What the zoo exercises, read from module attributes and the exported graphs."""
    aten = torch.ops.aten
    seen: set[str] = set()
    for name, factory in ZOO.items():
        model, shape = factory()
        if len(shape) == 4:
            seen |= {f"odd_hw_{d}" for d in shape[2:] if d % 2}
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                seen.add(f"channels_{m.in_channels}")
                seen.add(f"channels_{m.out_channels}")
                if m.groups == 1:
                    seen.add("conv")
                elif m.groups == m.in_channels:
                    seen.add(f"depthwise_x{m.out_channels // m.in_channels}")
                if m.bias is None:
                    seen.add("conv_no_bias")
                if m.kernel_size[0] != m.kernel_size[1]:
                    seen.add(f"kernel_{m.kernel_size[0]}x{m.kernel_size[1]}")
                if m.stride == (2, 1):
                    seen.add("stride_2x1")
                if max(m.dilation) > 1:
                    seen.add("dilated")
            seen |= {type(m).__name__}
            if isinstance(m, nn.Hardtanh) and (m.min_val, m.max_val) == (0.0, 6.0):
                seen.add(f"{type(m).__name__}(0,6)")
            if isinstance(m, nn.MaxPool2d):
                seen.add(f"maxpool_k{m.kernel_size}_s{m.stride}_p{m.padding}")
            if isinstance(m, nn.AvgPool2d) and m.padding and m.count_include_pad:
                seen.add("avgpool_padded_count_include_pad")
        for node in _calls(_exported(name)):
            t, args = node.target, node.args
            seen.add(str(t))
            if t == aten.clamp.default:
                seen.add(f"clamp({args[1]},{args[2]})")
            if t == aten.pad.default and (args[1][0] != args[1][1] or args[1][2] != args[1][3]):
                seen.add("asymmetric_pad")
            if t == aten.mean.dim:
                seen.add(f"mean_keepdim_{len(args) > 2 and args[2]}")
            if t == aten.linear.default and args[0].target in (
                aten.flatten.using_ints,
                aten.view.default,
                aten.reshape.default,
            ):
                src = args[0].args[0].meta["val"]
                if src.dim() == 4 and src.shape[2] * src.shape[3] > 1:
                    seen.add("flatten_spatial_to_linear")
        out = next(n for n in _exported(name).graph.nodes if n.op == "output").args[0][0]
        if out.target == aten.softmax.int:
            seen.add("softmax_output")
        if out.target == aten.flatten.using_ints and out.args[0].meta["val"].dim() == 4:
            seen.add("flattened_map_output")
    return seen


def test_zoo_covers_every_supported_op_form():
    required = {
        "conv", "depthwise_x2", "depthwise_x1", "conv_no_bias", "kernel_3x1", "kernel_1x5",
        "stride_2x1", "dilated", "asymmetric_pad", "channels_3", "channels_5", "channels_7",
        "odd_hw_13", "odd_hw_11", "Linear", "BatchNorm1d", "BatchNorm2d", "ReLU", "ReLU6",
        "Hardtanh(0,6)", "clamp(0,6)", "clamp(-1,1)", "maxpool_k3_s2_p0", "maxpool_k3_s2_p1",
        "avgpool_padded_count_include_pad", "AdaptiveAvgPool2d", "mean_keepdim_False",
        "mean_keepdim_True", "aten.add.Tensor", "aten.view.default", "aten.reshape.default",
        "aten.flatten.using_ints", "flatten_spatial_to_linear", "flattened_map_output",
        "softmax_output", "Dropout",
    }  # fmt: skip
    missing = required - _zoo_features()
    assert not missing, f"no zoo model exercises: {sorted(missing)}"


# ------------------------------------------------------------------ digits


@pytest.mark.realdata
def test_digits_shared_loader(shared_data):
    x, y = load_digits_shared(shared_data)
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    sk_x, sk_y = digits_example().load_sklearn_digits()
    assert np.array_equal(x, sk_x) and np.array_equal(y, sk_y)


def test_digits_shared_loader_names_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="sklearn-digits/digits.csv.gz"):
        load_digits_shared(tmp_path)


@pytest.mark.realdata
@pytest.mark.parametrize("name, floor", [("digits_cnn", 0.95), ("digits_mlp", 0.90)])
def test_digits_train_accuracy(shared_data, name, floor):
    x_train, y_train, x_test, y_test = split_digits(*load_digits_shared(shared_data))
    assert len(x_test) == 449 and len(x_train) == 1348
    model, _ = DIGITS[name]()
    train_digits(model, x_train, y_train, epochs=10, seed=0)
    assert accuracy(model, x_test, y_test) >= floor


# ------------------------------------------------------------------ example


@pytest.fixture(scope="module")
def example_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits_example")
    assert digits_example().main([str(out)]) == 0
    return out


def test_example_writes_model_and_data(example_out):
    assert {p.name for p in example_out.iterdir()} >= {"digits.pt2", "calib.npz", "test.npz"}
    calib = np.load(example_out / "calib.npz")
    assert calib.files == ["x"]
    assert calib["x"].dtype == np.float32 and calib["x"].shape == (100, 1, 8, 8)
    test = np.load(example_out / "test.npz")
    assert sorted(test.files) == ["x", "y"]
    assert test["x"].dtype == np.float32 and test["x"].shape == (449, 1, 8, 8)
    assert test["y"].dtype == np.int64 and test["y"].shape == (449,)
    for x in (calib["x"], test["x"]):
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_example_writes_the_split_compress_reads(example_out):
    """train.npz: the split as 'slimgen compress --data' reads it (run_sparse.sh)."""
    from slimgen.compress.data import load_data

    split = np.load(example_out / "train.npz")
    assert sorted(split.files) == ["x_test", "x_train", "y_test", "y_train"]
    assert split["x_train"].shape == (1348, 1, 8, 8) and split["y_train"].shape == (1348,)
    np.testing.assert_array_equal(split["x_test"], np.load(example_out / "test.npz")["x"])
    data = load_data(str(example_out / "train.npz"), "ce")
    assert tuple(data.example.shape) == (1, 1, 8, 8)
    assert sum(len(y) for _, y in data.train) == 1348


def test_example_model_is_accurate_and_batch1(example_out):
    ep = torch.export.load(example_out / "digits.pt2")
    placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"]
    assert tuple(placeholders[-1].meta["val"].shape) == (1, 1, 8, 8)
    test = np.load(example_out / "test.npz")
    module = ep.module()
    with torch.no_grad():
        pred = [int(module(torch.from_numpy(x[None])).argmax()) for x in test["x"][:200]]
    assert np.mean(np.array(pred) == test["y"][:200]) >= 0.95
