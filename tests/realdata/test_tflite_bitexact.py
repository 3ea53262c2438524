"""int8 .tflite import: the generated C and the integer reference equal TFLite Micro bit for bit.

The four MLPerf Tiny int8 models are built with ``slimgen build MODEL.tflite`` (no calibration:
the file's quantization is kept) and run on an evenly spread subset of their test sets; every
output byte must equal the ``tflm_int8`` reference (TFLite Micro's reference kernels). AD ships
per-clip anomaly scores rather than raw outputs: a single differing output byte moves a clip's
score by more than 1e-7 relative, so equal scores to 1e-12 prove equal bytes.
``benchmarks/mlperf_tiny.py --bitexact`` runs the full sets.
"""

from __future__ import annotations

import numpy as np
import pytest
from slimgen import api
from slimgen.ir import interp

from tests.realdata import mlperf_data as md

pytestmark = pytest.mark.realdata

SUBSET = {"kws": 60, "ic": 50, "vww": 50}
AD_CLIPS = 16


@pytest.mark.parametrize("key", ["kws", "ic", "vww"])
def test_classifier_matches_tflm(shared_data, tmp_path, key):
    b = md.load(shared_data, key)
    idx = md.subset(len(b.x_int8), SUBSET[key])
    out = tmp_path / key
    api.build(b.tflite, None, out)
    _, qg, _ = api.load_built(out)
    assert qg.input_layout in ("nhwc", "flat") and qg.input_torch_shape == b.x_int8.shape[1:]
    x = b.x_int8[idx]
    ref = interp.run(qg, x).reshape(len(x), -1)
    c = api.run_host(out, x)
    want = b.tflm_int8[idx]
    bad_ref = np.flatnonzero(np.any(ref != want, axis=1))
    bad_c = np.flatnonzero(np.any(c != want, axis=1))
    assert bad_ref.size == 0, f"{key}: reference differs from TFLM on samples {idx[bad_ref]}"
    assert bad_c.size == 0, f"{key}: C differs from TFLM on samples {idx[bad_c]}"


def test_ad_scores_match_tflm(shared_data, tmp_path):
    b = md.load(shared_data, "ad")
    out = tmp_path / "ad"
    api.build(b.tflite, None, out)
    _, qg, _ = api.load_built(out)
    si, so = qg.inputs[0].q.scale, qg.outputs[0].q.scale
    for i in md.subset(len(b.x_int8), AD_CLIPS):
        w = md.ad_windows(b.x_int8[i])
        xq = md.ad_quantize(w, si)
        y = api.run_host(out, xq)
        np.testing.assert_array_equal(y, interp.run(qg, xq).reshape(len(xq), -1))
        got = md.ad_score(w, y, so)
        assert abs(got - b.tflm_int8[i]) <= 1e-12 * b.tflm_int8[i], (i, got, b.tflm_int8[i])
