"""Accuracy of the MLPerf Tiny reference networks, float and through slimgen's PyTorch -> int8.

    python3 -m examples.mlperf_tiny.evaluate [--data ../shared/data] [--eval-every 1]

Each network is exported with torch.export, calibrated with min/max ranges on every 10th test
sample (the MLPerf training sets are not in ../shared), built with ``slimgen build``, and scored
with the integer reference (which the generated C equals bit for bit) on the other samples.
Float accuracy is measured on the same held-out samples. AD's metric is the ROC AUC of the
per-clip anomaly score over the held-out clips.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from slimgen import api
from slimgen.ir import interp

from examples.mlperf_tiny import weights
from tests.realdata import mlperf_data as md

CALIB_EVERY = 10
TARGETS = {"kws": 0.90, "vww": 0.80, "ic": 0.85, "ad": 0.85}
REFERENCE_FLOAT = {"kws": 0.913, "vww": 0.853, "ic": 0.855, "ad": 0.903}
_RAW = {"kws": ("mlperf-tiny-kws", "kws01_mfcc_int8.npz"),
        "ic": ("mlperf-tiny-ic", "ic01_v05_uint8.npz"),
        "vww": ("mlperf-tiny-vww", "vww01_uint8.npz"),
        "ad": ("mlperf-tiny-ad", "ad01_logmel_f32.npz")}


def split(n: int, eval_every: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(calibration, evaluation) indices: every 10th sample calibrates, the rest evaluate."""
    idx = np.arange(n)
    calib = idx[idx % CALIB_EVERY == 0]
    rest = idx[idx % CALIB_EVERY != 0]
    return calib, rest[::eval_every]


def build_int8(model: torch.nn.Module, calib_x: np.ndarray, out: Path) -> None:
    """torch.export + slimgen build with min/max calibration on ``calib_x`` (model layout)."""
    pt2 = out.with_suffix(".pt2")
    example = torch.from_numpy(calib_x[:1])
    torch.export.save(torch.export.export(model, (example,)), pt2)
    calib = out.with_suffix(".calib.npz")
    np.savez(calib, x=calib_x.astype(np.float32))
    api.build(pt2, calib, out)


def _int8_outputs(out: Path, x: np.ndarray, batch: int = 200) -> np.ndarray:
    _, qg, _ = api.load_built(out)
    ys = [interp.run(qg, api.quantize_inputs(qg, x[i:i + batch], out)).reshape(
        len(x[i:i + batch]), -1) for i in range(0, len(x), batch)]
    return qg.outputs[0].q.dequantize(np.concatenate(ys))  # type: ignore[union-attr]


def evaluate(key: str, data: Path, work: Path, eval_every: int = 1) -> dict[str, float | int]:
    raw = np.load(data / _RAW[key][0] / _RAW[key][1])
    model = weights.MODELS[key](data)
    calib_idx, eval_idx = split(len(raw["x"]), eval_every)
    t0 = time.time()
    if key == "ad":
        return _evaluate_ad(model, raw, calib_idx, eval_idx, work) | {"seconds": time.time() - t0}
    x = weights.float_inputs(key, raw["x"])
    y = raw["y"]
    out = work / key
    build_int8(model, x[calib_idx], out)
    with torch.no_grad():
        yf = model(torch.from_numpy(x[eval_idx])).numpy()
    yq = _int8_outputs(out, x[eval_idx])
    return {"samples": len(eval_idx), "calibration_samples": len(calib_idx),
            "float": float((yf.argmax(1) == y[eval_idx]).mean()),
            "int8": float((yq.argmax(1) == y[eval_idx]).mean()), "seconds": time.time() - t0}


def _evaluate_ad(model: torch.nn.Module, raw: np.lib.npyio.NpzFile, calib_idx: np.ndarray,
                 eval_idx: np.ndarray, work: Path) -> dict[str, float | int]:
    clips = raw["x"]
    # 196 overlapping windows per clip; every 16th of the calibration clips' is plenty.
    calib = np.concatenate([md.ad_windows(clips[i])[::16] for i in calib_idx])
    out = work / "ad"
    build_int8(model, np.ascontiguousarray(calib), out)
    w = np.concatenate([md.ad_windows(clips[i]) for i in eval_idx])  # 196 rows per clip
    with torch.no_grad():
        yf = model(torch.from_numpy(w)).numpy()
    yq = _int8_outputs(out, w, batch=196 * 8)
    per_clip = (len(eval_idx), -1)
    sf = np.mean(((w - yf) ** 2).reshape(per_clip), axis=1)
    sq = np.mean(((w - yq) ** 2).reshape(per_clip), axis=1)
    labels = raw["y"][eval_idx]
    return {"samples": len(eval_idx), "calibration_samples": len(calib_idx),
            "float": md.auc(sf, labels), "int8": md.auc(sq, labels)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared"
                    / "data")
    ap.add_argument("--models", default="kws,ic,vww,ad")
    ap.add_argument("--eval-every", type=int, default=1,
                    help="Score every k-th held-out sample only (faster).")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.manual_seed(0)
    res = {}
    with tempfile.TemporaryDirectory() as work:
        for key in args.models.split(","):
            res[key] = evaluate(key, args.data, Path(work), args.eval_every)
            if not args.json:
                r = res[key]
                metric = "AUC" if key == "ad" else "top-1"
                print(f"{key:4s} {metric}  float {r['float']:.4f} (reference "
                      f"{REFERENCE_FLOAT[key]:.3f})  slimgen int8 {r['int8']:.4f} (target "
                      f">= {TARGETS[key]:.2f})  on {r['samples']} held-out samples, "
                      f"{r['calibration_samples']} calibration  [{r['seconds']:.0f} s]")
    if args.json:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
