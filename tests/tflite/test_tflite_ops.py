"""Every operator form the .tflite importer accepts, bit-exact against TFLite Micro.

The fixtures are small int8 models built and run through TFLite Micro's reference kernels by
``make_fixtures.py`` (checked in, so this needs neither tflite-micro nor ../shared): MEAN over
height and width with and without keep_dims and with equal or different quantization, and a
model with QUANTIZE and DEQUANTIZE at its borders, PAD fused into a VALID stride-2 conv with
RELU6, a depth-multiplier-2 depthwise conv, SAME max and average pooling, ADD with RELU,
RESHAPE, a per-channel FULLY_CONNECTED and SOFTMAX. The generated C and the integer reference
must both equal TFLite Micro on every output byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from slimgen import api
from slimgen.ir import interp

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def tflm_quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite Micro's QUANTIZE: float32 division, rounded half away from zero."""
    v = (x.astype(np.float32) / np.float32(scale)).astype(np.float64)
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point, -128, 127).astype(np.int8)


@pytest.mark.parametrize("name", ["mean_keep0_sameq0", "mean_keep0_sameq1", "mean_keep1_sameq0",
                                  "mean_keep1_sameq1", "zoo"])
def test_matches_tflite_micro(tmp_path, name):
    out = tmp_path / name
    api.build(FIXTURES / f"{name}.tflite", None, out)
    _, qg, _ = api.load_built(out)
    d = np.load(FIXTURES / f"{name}.npz")
    x = d["x"]
    if x.dtype != np.int8:  # the model quantizes its float input itself
        assert qg.inputs[0].q is not None
        x = tflm_quantize(x, qg.inputs[0].q.scale, qg.inputs[0].q.zero_point)
    ref = interp.run(qg, x).reshape(len(x), -1)
    np.testing.assert_array_equal(ref, d["y"])
    np.testing.assert_array_equal(api.run_host(out, x), d["y"])
    assert len(np.unique(d["y"])) > 20  # the outputs are not saturated


def test_mean_lowers_to_a_unit_depthwise_conv(tmp_path):
    """TFLM folds 1/n into the multiplier ((mult << s) / n); slimgen keeps those integers."""
    out = tmp_path / "m"
    api.build(FIXTURES / "mean_keep0_sameq0.tflite", None, out)
    _, qg, rep = api.load_built(out)
    mean = qg.nodes[-1]
    assert mean.op == "dwconv2d" and mean.attrs.kernel == (9, 7)
    assert np.all(mean.inputs[1].data == 1) and rep["layers"][-1]["kernel"] == "sg_dwconv2d_s8"
    assert mean.attrs.rq.mult[0] < 2**30  # not renormalized: (mult << 5) // 63


def test_verify_takes_int8_nhwc_inputs(tmp_path):
    out = tmp_path / "m"
    api.build(FIXTURES / "mean_keep1_sameq1.tflite", None, out)
    d = np.load(FIXTURES / "mean_keep1_sameq1.npz")
    np.savez(tmp_path / "t.npz", x=d["x"])
    res = api.verify(out, tmp_path / "t.npz")
    assert res["bit_exact"] and res["samples"] == len(d["x"])
    np.testing.assert_array_equal(res["_outputs_int8"], d["y"])


def test_analyze_predicts_the_build(tmp_path):
    est = api.analyze(FIXTURES / "zoo.tflite")
    rep = api.build(FIXTURES / "zoo.tflite", None, tmp_path / "zoo")
    for key in ("total_macs", "weight_bytes", "arena_bytes", "total_params"):
        assert est[key] == rep[key], key


def test_byte_flips_in_any_operator_are_refused_cleanly(tmp_path):
    """Random damage anywhere in a model using every accepted operator: either a clean
    SlimgenError or a graph that lowers. Pinned by it: an operator with no outputs crashed."""
    from slimgen.errors import SlimgenError
    from slimgen.frontend.tflite import import_tflite

    good = (FIXTURES / "zoo.tflite").read_bytes()
    rng = np.random.default_rng(5)
    refused = 0
    for _ in range(300):
        b = bytearray(good)
        for pos in rng.integers(0, len(good), size=rng.integers(1, 4)):
            b[pos] = int(rng.integers(0, 256))
        (tmp_path / "m.tflite").write_bytes(bytes(b))
        try:
            api.lower(*import_tflite(tmp_path / "m.tflite", "m"))
        except SlimgenError:
            refused += 1
    assert 0 < refused < 300
