"""Channel pruning removes whole channels through BN, depthwise, flatten and residual adds, and
the smaller model computes exactly what the masked original computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from slimgen.api import BuildOptions, compile_graph, import_model_from_program, to_ir_layout
from slimgen.compress import channel as ch
from slimgen.compress.model import export, from_program

from tests.models import MLPERF, make_mlp_bn1d, make_residual

CASES = {
    "ic_resnet8": MLPERF["ic_resnet8"],  # residual adds with 1x1 shortcuts, F.pad
    "kws_dscnn": MLPERF["kws_dscnn"],  # depthwise convs carry channels through
    "residual": make_residual,  # an add on the model input: that space must stay frozen
    "mlp_bn1d": make_mlp_bn1d,  # BatchNorm1d, clamp at the output
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shrunk_model_equals_masked_model_and_is_smaller(name):
    torch.manual_seed(0)
    model, shape = CASES[name]()
    example = torch.randn(shape)
    gm = from_program(torch.export.export(model, (example,)))
    spaces = ch.find_spaces(gm, example)
    targets = ch.prunable(spaces, set())
    assert targets, [s.frozen for s in spaces]
    keep = ch.keep_indices(gm, targets, 0.5)
    ch.mask_channels(gm, targets, keep)
    x = torch.randn((6,) + tuple(shape[1:]))
    with torch.no_grad():
        masked = gm(x)
    n_before = sum(p.numel() for p in gm.parameters())
    small = gm  # the spaces refer to gm's own graph nodes: shrink it in place
    ch.shrink(small, targets, keep)
    with torch.no_grad():
        shrunk = small(x)
    assert sum(p.numel() for p in small.parameters()) < 0.75 * n_before
    torch.testing.assert_close(shrunk, masked, rtol=1e-5, atol=1e-5)
    # the smaller model is a plain program slimgen compiles
    g = import_model_from_program(export(small, example), name)
    compile_graph(g, to_ir_layout(np.random.default_rng(0).standard_normal(
        (4,) + tuple(shape[1:])).astype(np.float32), g), BuildOptions())


def test_add_on_the_model_input_freezes_both_sides():
    model, shape = make_residual()
    example = torch.randn(shape)
    spaces = ch.find_spaces(from_program(torch.export.export(model, (example,))), example)
    by_layer = {n: s for s in spaces for n in s.names}
    assert by_layer["b.conv"] is by_layer["c.conv"]  # joined by the adds
    assert by_layer["b.conv"].frozen == "model input"
    assert not by_layer["a.conv"].frozen
