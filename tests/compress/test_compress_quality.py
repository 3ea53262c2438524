"""Pruning and QAT keep accuracy (float and slimgen int8) on the digits CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from slimgen.compress import qat
from slimgen.compress.run import CompressOptions, compress
from slimgen.quant.quantize import choose_qparams, quantize_weights


def test_fake_quant_rounds_like_slimgen():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 3, 3, 5)).astype(np.float32)
    w[3] = 0  # an all-zero channel keeps scale 1 in both
    q, scale = quantize_weights(w, 0)
    want = q.astype(np.float64) * scale.reshape(-1, 1, 1, 1)
    got = qat.fake_quant_weight(torch.from_numpy(w)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    for lo, hi in rng.standard_normal((200, 2)) * [3, 5] + [-1, 2]:
        qp = choose_qparams(float(lo), float(hi))
        assert qat.choose_qparams(float(lo), float(hi)) == (qp.scale, qp.zero_point)


def test_gradual_pruning_to_80_percent_keeps_accuracy(digits_cnn: Path, digits_npz: Path,
                                                      tmp_path: Path):
    o = CompressOptions(data=str(digits_npz), out=tmp_path / "p.pt2", sparsity=[0.8],
                        exclude=["features.0"], epochs=5)
    rep = compress(digits_cnn, o)
    base, pruned = rep["stages"][0], rep["stages"][-1]
    for kind in ("float", "int8"):
        assert pruned[kind]["accuracy"] >= base[kind]["accuracy"] - 0.03, (kind, rep["stages"])
    for lyr in rep["layers"]:
        want = 0.0 if lyr["name"] == "features.0" else 0.8
        assert lyr["sparsity"] == pytest.approx(want, abs=0.002), lyr
    assert pruned["nonzero_weights"] < 0.25 * base["nonzero_weights"]
    assert (tmp_path / "p.report.json").is_file()


def test_qat_int8_is_at_least_ptq_int8(digits_cnn: Path, digits_npz: Path, tmp_path: Path):
    """QAT after aggressive pruning, where int8 rounding costs the most: the int8 model built
    with the learned ranges is no worse than post-training quantization of the same model."""
    o = CompressOptions(data=str(digits_npz), out=tmp_path / "q.pt2", sparsity=[0.9],
                        exclude=["features.0"], epochs=3, qat=True, qat_epochs=2)
    rep = compress(digits_cnn, o)
    ptq, q = rep["stages"][-2], rep["stages"][-1]
    assert q["stage"] == "qat"
    assert q["int8"]["accuracy"] >= ptq["int8"]["accuracy"] - 0.01, rep["stages"]
    assert q["nonzero_weights"] == ptq["nonzero_weights"]  # QAT keeps pruned weights at zero
    assert Path(rep["ranges"]).is_file()
