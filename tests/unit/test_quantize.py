"""The int8 contract in Python: activation and weight parameters, clamps, calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from slimgen import api
from slimgen.ir.graph import QParams
from slimgen.quant.calibrate import calibrate
from slimgen.quant.quantize import choose_qparams, quantize_clamp, quantize_weights
from torch import nn


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.0, 6.0), (0.5, 3.0), (-7.0, -2.0), (-1e-3, 5.0)])
def test_zero_is_exactly_representable(lo, hi):
    q = choose_qparams(lo, hi)
    assert -128 <= q.zero_point <= 127
    assert q.dequantize(np.array([q.zero_point]))[0] == 0.0
    # The real range [min(lo,0), max(hi,0)] fits in int8 up to half a step of rounding.
    assert q.scale * (-128 - q.zero_point) <= min(lo, 0.0) + q.scale / 2
    assert q.scale * (127 - q.zero_point) >= max(hi, 0.0) - q.scale / 2


def test_relu_output_uses_the_whole_int8_range():
    q = choose_qparams(0.0, 6.0)
    assert q.zero_point == -128 and math.isclose(q.scale, 6.0 / 255)


def test_constant_zero_tensor_gets_a_usable_scale():
    q = choose_qparams(0.0, 0.0)
    assert q.scale > 0 and q.quantize(np.zeros(3)).tolist() == [q.zero_point] * 3


def test_weights_symmetric_per_channel():
    w = np.array([[0.5, -1.0], [0.02, 0.01], [0.0, 0.0]], np.float32)
    q, s = quantize_weights(w, axis=0)
    assert q.dtype == np.int8 and q.min() >= -127
    np.testing.assert_allclose(s[:2], [1.0 / 127, 0.02 / 127])
    assert q[0].tolist() == [64, -127] and q[1].tolist() == [127, 64]
    assert q[2].tolist() == [0, 0] and s[2] == 1.0  # all-zero channel: any scale is exact


def test_clamps_in_the_int8_domain():
    q = QParams(0.05, -10)
    assert quantize_clamp((0.0, 6.0), q) == (-10, 110)
    assert quantize_clamp((-math.inf, math.inf), q) == (-128, 127)
    assert quantize_clamp((0.0, 100.0), q) == (-10, 127)


def test_percentile_calibration_ignores_rare_outliers():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4)).eval()
    ep = torch.export.export(model, (torch.zeros(1, 16),))
    g = api.import_model_from_program(ep, "t")
    x = np.random.default_rng(0).standard_normal((256, 16)).astype(np.float32)
    x[3, 5] = 1000.0  # one outlier in 4096 values
    mm = calibrate(g, x, method="minmax")
    pc = calibrate(g, x, method="percentile", percentile=99.9)
    inp = g.inputs[0]
    assert mm.range(inp)[1] == 1000.0
    assert pc.range(inp)[1] < 10.0


def test_dead_channel_bias_fits_the_accumulator():
    """A BatchNorm with gamma ~ 1e-30 (trained VWW MobileNet) folds into weights ~1e-32 and a
    normal bias: at s_in * s_w the bias left int32 and the reference refused to run. The weight
    scale of such a channel is raised instead; other channels keep theirs."""
    from slimgen.quant.quantize import quantize_weights_and_bias
    from slimgen.ref.requant import check_accumulator_bound

    w = np.array([[0.5, -0.25, 0.1, 0.0], [3e-32, -1e-32, 2e-32, 0.0]])
    b = np.array([0.3, -1.5])
    wq, ws, bq = quantize_weights_and_bias(w, b, axis=0, in_scale=0.02)
    assert ws[0] == pytest.approx(0.5 / 127) and wq[0].tolist() == [127, -64, 25, 0]
    assert wq[1].tolist() == [0, 0, 0, 0]
    check_accumulator_bound(255, np.abs(wq.astype(np.int64)).sum(axis=1), bq, "fc")
    assert bq[1] * 0.02 * ws[1] == pytest.approx(-1.5)
