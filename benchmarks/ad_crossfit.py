"""Cross-fitted AUC of AD auto-encoders over all 248 ToyCar clips (two folds of the same split).

    python3 benchmarks/ad_crossfit.py FOLD0.pt2 FOLD1.pt2 [FOLD0.pt2 FOLD1.pt2 ...]
                                      [--work /work/artifacts/s5ad]

FOLD0 was made on the fine-tune half of split 0 (``prune_ad.py`` / ``ad_capacity.py`` default)
and is scored on the held-out half; FOLD1 was made with ``--fold 1`` (halves swapped) and is
scored on the fine-tune half -- so every clip is scored by the model that did not see it. Per
pair: each fold's AUC, their mean, and the AUC of the 248 pooled clip scores, float and int8
(the ``<model>_int8`` build that made the model's results, calibrated on its own fine-tune half).
The dense reference model is scored the same way (its int8 builds ``ad_dense_int8``, calibrated
on the fine-tune half, and ``ad_dense_fold1_int8``, on the held-out half, in --work; both are
made here if missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compress_mlperf as cm
import prune_ad as pa
from slimgen.compress.model import load_working, set_training

from examples.mlperf_tiny import weights
from tests.realdata import mlperf_data as md


def clip_scores(pt2: Path, int8: Path, clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MLPerf's score of each clip (mean over its windows of the mean squared reconstruction
    error), float (torch) and int8 (the slimgen build in ``int8``)."""
    w = np.concatenate([md.ad_windows(c) for c in clips])
    model, _ = load_working(pt2, (1, 640), False)
    set_training(model, False)
    with torch.no_grad():
        yf = model(torch.from_numpy(w)).numpy()
    yq = cm._int8_outputs(int8, w, batch=196 * 8)
    per_clip = (len(clips), -1)
    return (np.mean(((w - yf) ** 2).reshape(per_clip), axis=1),
            np.mean(((w - yq) ** 2).reshape(per_clip), axis=1))


def crossfit(pair: tuple[Path, Path], int8: tuple[Path, Path], splits: tuple[Path, Path]
             ) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Each fold's held-out AUC, their mean, and the pooled AUC over all 248 clips; the pooled
    int8 scores and the labels."""
    n = 248
    out, y = {}, np.zeros(n, np.int64)
    pooled = {"float": np.zeros(n), "int8": np.zeros(n)}
    for k, (pt2, q, sp) in enumerate(zip(pair, int8, splits)):
        s = np.load(sp)
        f, i = clip_scores(pt2, q, s["x_held"])
        y[s["held"]] = s["y_held"]
        for kind, v in (("float", f), ("int8", i)):
            out[f"fold{k}_{kind}"] = md.auc(v, s["y_held"])
            pooled[kind][s["held"]] = v
    for kind in ("float", "int8"):
        out[f"mean_{kind}"] = (out[f"fold0_{kind}"] + out[f"fold1_{kind}"]) / 2
        out[f"pooled_{kind}"] = md.auc(pooled[kind], y)
    return out, pooled["int8"], y


def bootstrap(scores: np.ndarray, ref: np.ndarray, y: np.ndarray, n: int = 1000
              ) -> tuple[float, float]:
    """Standard deviation over clip resamples (stratified by label, seed 0) of the AUC of
    ``scores`` and of its difference to the AUC of ``ref`` on the same resample."""
    rng = np.random.default_rng(0)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    a, d = [], []
    for _ in range(n):
        i = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        a.append(md.auc(scores[i], y[i]))
        d.append(a[-1] - md.auc(ref[i], y[i]))
    return float(np.std(a)), float(np.std(d))


def show(name: str, r: dict[str, float]) -> None:
    print(f"{name}\n  " + "  ".join(
        f"{kind}: fold0 {r[f'fold0_{kind}']:.4f} fold1 {r[f'fold1_{kind}']:.4f} mean "
        f"{r[f'mean_{kind}']:.4f} pooled-248 {r[f'pooled_{kind}']:.4f}"
        for kind in ("float", "int8")), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path, help="pairs: fold-0 model, fold-1 model")
    ap.add_argument("--work", type=Path, default=Path("/work/artifacts/s5ad"))
    a = ap.parse_args(argv)
    if len(a.models) % 2:
        raise SystemExit("give the models in pairs: fold-0 model, fold-1 model")
    torch.set_num_threads(1)
    splits = (pa.split_path(a.work, 0), pa.split_path(a.work, 1))
    dense = a.work / "ad_dense.pt2"  # made by prune_ad.py / ad_capacity.py runs in --work
    if not dense.exists():
        cm.export(weights.ad(cm.DATA), md.ad_windows(np.load(splits[0])["x_ft"][0]), dense)
    dq = (a.work / "ad_dense_int8", a.work / "ad_dense_fold1_int8")
    for sp, q in zip(splits, dq):
        if not q.exists():
            cm.score("ad", dense, sp, q)
    r, ref, y = crossfit((dense, dense), dq, splits)
    show("dense reference model", r)
    print(f"  pooled int8 AUC bootstrap std {bootstrap(ref, ref, y)[0]:.4f}")
    for p0, p1 in zip(a.models[::2], a.models[1::2]):
        q = tuple(p.with_name(p.stem + "_int8") for p in (p0, p1))
        r, sq, _ = crossfit((p0, p1), q, splits)
        show(f"{p0.name} + {p1.name}", r)
        sd, sdd = bootstrap(sq, ref, y)
        print(f"  pooled int8 AUC bootstrap std {sd:.4f}; minus the dense model's "
              f"{r['pooled_int8'] - md.auc(ref, y):+.4f} (std {sdd:.4f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
