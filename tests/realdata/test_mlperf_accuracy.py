"""The MLPerf Tiny reference networks: float weights load correctly, and slimgen's own
PyTorch -> int8 path meets the MLPerf Tiny quality targets on the real test sets.

Float accuracy is checked against the reference numbers of ../shared/data/README.md §4 on the
full sets. The int8 check calibrates on every 10th sample and scores every other held-out sample
(half of them, to stay inside the CI budget; ``python3 -m examples.mlperf_tiny.evaluate`` scores
all of them): KWS >= 90 %, VWW >= 80 %, IC >= 85 %, AD AUC >= 0.85.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from examples.mlperf_tiny import evaluate, weights
from tests.realdata import mlperf_data as md

pytestmark = pytest.mark.realdata

# README §4: numpy float re-implementations (KWS from the checkpoint, IC/VWW from the .h5 =
# fp32 tflite) and AD's fp32 tflite (Keras biases dropped) / Keras AUC.
FLOAT_REFERENCE = {"kws": 0.913, "ic": 0.855, "vww": 0.853}


@pytest.mark.parametrize("key", ["kws", "ic", "vww"])
def test_float_weights_reproduce_reference_accuracy(shared_data, key):
    raw = np.load(shared_data / evaluate._RAW[key][0] / evaluate._RAW[key][1])
    model = weights.MODELS[key](shared_data)
    with torch.no_grad():
        y = model(torch.from_numpy(weights.float_inputs(key, raw["x"]))).numpy()
    assert (y.argmax(1) == raw["y"]).mean() == pytest.approx(FLOAT_REFERENCE[key], abs=0.0006)


@pytest.mark.parametrize("tflite_biases,auc", [(True, 0.903), (False, 0.880)])
def test_ad_float_weights_reproduce_reference_auc(shared_data, tflite_biases, auc):
    raw = np.load(shared_data / "mlperf-tiny-ad" / "ad01_logmel_f32.npz")
    model = weights.ad(shared_data, tflite_biases=tflite_biases)
    w = np.concatenate([md.ad_windows(clip) for clip in raw["x"]])  # 196 rows per clip
    with torch.no_grad():
        err = (w - model(torch.from_numpy(w)).numpy()) ** 2
    scores = err.reshape(len(raw["x"]), -1).mean(axis=1)
    assert md.auc(scores, raw["y"]) == pytest.approx(auc, abs=0.0006)


@pytest.mark.parametrize("key", ["kws", "ic", "vww", "ad"])
def test_slimgen_int8_meets_mlperf_target(shared_data, tmp_path, key):
    torch.manual_seed(0)
    r = evaluate.evaluate(key, shared_data, tmp_path, eval_every=1 if key == "ic" else 2)
    assert r["int8"] >= evaluate.TARGETS[key], r
    # Quantization may cost a little, never much: a broken layer would cost far more.
    assert r["int8"] >= r["float"] - 0.02, r
