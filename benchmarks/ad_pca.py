"""A linear baseline for the AD question of issue #7: how far do 124 ToyCar clips get without the
reference model at all?

    python3 benchmarks/ad_pca.py [--work DIR] [--fold 0|1] [--k 2,4,8,16,32,64]

Fits PCA (the mean and the top k principal directions of the 640-value windows) on the windows
of the fine-tune half's *normal* clips, as an auto-encoder for anomaly detection is trained, and
scores clips as MLPerf scores the auto-encoder: the mean over a clip's 196 windows of the mean
squared reconstruction error. Prints the ROC AUC on the fine-tune half (fitted on) and on the
held-out half, per k. The split is the one every AD benchmark here uses
(``compress_mlperf.make_split``, ``ad-split0.npz`` in --work; ``--fold 1`` swaps the halves).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compress_mlperf as cm

from tests.realdata import mlperf_data as md


def clip_windows(clips: np.ndarray) -> np.ndarray:
    """(clips, 200, 128) -> (clips, 196, 640)."""
    return np.stack([md.ad_windows(c) for c in clips])


def pca_scores(fit_on: np.ndarray, clips: np.ndarray, k: int) -> np.ndarray:
    """Per clip, the mean squared error of its windows' rank-k PCA reconstruction."""
    mean = fit_on.mean(axis=0)
    _, _, vt = np.linalg.svd(fit_on - mean, full_matrices=False)
    basis = vt[:k]
    centred = clips - mean
    recon = centred @ basis.T @ basis
    return ((centred - recon) ** 2).mean(axis=(1, 2))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-prune-mlperf"))
    ap.add_argument("--data", type=Path, default=cm.DATA)
    ap.add_argument("--fold", type=int, choices=(0, 1), default=0)
    ap.add_argument("--k", default="2,4,8,16,32,64")
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    s = np.load(cm.make_split("ad", a.data, a.work, 0))
    fit, held = ("ft", "held") if a.fold == 0 else ("held", "ft")
    x_fit, y_fit = clip_windows(s[f"x_{fit}"]), s[f"y_{fit}"]
    x_held, y_held = clip_windows(s[f"x_{held}"]), s[f"y_{held}"]
    normal = x_fit[y_fit == 0].reshape(-1, 640)
    print(f"fold {a.fold}: PCA fitted on {int((y_fit == 0).sum())} normal clips "
          f"({len(normal)} windows); AUC on the fitted half / the held-out half")
    for k in (int(v) for v in a.k.split(",")):
        fit_auc = md.auc(pca_scores(normal, x_fit, k), y_fit)
        held_auc = md.auc(pca_scores(normal, x_held, k), y_held)
        print(f"  k = {k:3d}: {fit_auc:.3f} / {held_auc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
