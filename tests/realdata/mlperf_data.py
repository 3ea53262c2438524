"""The MLPerf Tiny models and test sets in ../shared/data, as the tests and benchmarks use them.

Inputs are quantized the way the reference outputs were produced (see each folder's README):
KWS ships int8 MFCCs, IC and VWW take ``pixel - 128``, AD quantizes float32 log-mel windows with
the model's float32 input scale (see ``ad_quantize``). ``tflm_int8`` arrays are TFLite Micro's
reference-kernel outputs; AD has per-clip anomaly scores instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

AD_IN_ZP, AD_OUT_ZP = 89, 96


@dataclass
class Bench:
    key: str  # kws | ic | vww | ad
    tflite: Path
    x_int8: np.ndarray  # (N, *model input shape) int8, NHWC; AD: (clips, 200, 128) float32
    y: np.ndarray  # labels (AD: 1 = anomaly)
    tflm_int8: np.ndarray  # (N, outputs) int8; AD: (clips,) float64 scores


def load(data: Path, key: str) -> Bench:
    if key == "kws":
        d = data / "mlperf-tiny-kws"
        s = np.load(d / "kws01_mfcc_int8.npz")
        r = np.load(d / "reference_outputs.npz")
        return Bench(key, d / "kws_ref_model.tflite", s["x"][..., None], s["y"], r["tflm_int8"])
    if key in ("ic", "vww"):
        d = data / f"mlperf-tiny-{key}"
        s = np.load(d / ("ic01_v05_uint8.npz" if key == "ic" else "vww01_uint8.npz"))
        r = np.load(d / ("reference_outputs_ic01_v05.npz" if key == "ic"
                         else "reference_outputs.npz"))
        x = (s["x"].astype(np.int16) - 128).astype(np.int8)
        model = "pretrainedResnet_quant.tflite" if key == "ic" else "vww_96_int8.tflite"
        return Bench(key, d / model, x, s["y"], r["tflm_int8"])
    if key == "ad":
        d = data / "mlperf-tiny-ad"
        s = np.load(d / "ad01_logmel_f32.npz")
        r = np.load(d / "reference_scores.npz")
        return Bench(key, d / "ad01_int8.tflite", s["x"], s["y"], r["tflm_int8_score"])
    raise KeyError(key)


def ad_windows(clip: np.ndarray) -> np.ndarray:
    """(200, 128) log-mel frames -> (196, 640) float32 model inputs (5 frames, hop 1)."""
    return np.lib.stride_tricks.sliding_window_view(clip, (5, 128)).reshape(-1, 640)


def ad_quantize(w: np.ndarray, in_scale: float) -> np.ndarray:
    """float32 windows -> int8 as the reference scores were made: the quotient by the float32
    scale in float32, the integer zero point added in float64, rounded half to even (numpy's
    ``round(x / scale + zero_point)`` with the interpreter's float32 scale and int zero point).
    Any other order rounds a few values differently and moves 5 to 27 of the 248 scores."""
    v = (np.asarray(w, np.float32) / np.float32(in_scale)).astype(np.float64) + AD_IN_ZP
    return np.clip(np.round(v), -128, 127).astype(np.int8)


def ad_score(w: np.ndarray, y_int8: np.ndarray, out_scale: float) -> float:
    """Anomaly score of one clip: mean over windows of the mean squared reconstruction error."""
    y = (y_int8.astype(np.float64) - AD_OUT_ZP) * out_scale
    return float(np.mean(np.mean((w.astype(np.float64) - y) ** 2, axis=1)))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of ``scores`` for binary ``labels`` (ties count half), as sklearn computes it."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def subset(n: int, k: int) -> np.ndarray:
    """``k`` indices spread evenly over ``n`` samples (every class appears, order kept)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))
