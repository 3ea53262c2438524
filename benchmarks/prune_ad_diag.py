"""Fine-tune-half diagnostics of pruned AD auto-encoders made by ``benchmarks/prune_ad.py``.

    python3 benchmarks/prune_ad_diag.py MODEL.pt2 ... [--work /work/artifacts/s4ad]
    python3 benchmarks/prune_ad_diag.py --int8 MODEL.pt2 ...   # also int8 vs float drift
    python3 benchmarks/prune_ad_diag.py --noise                # dense weights + Gaussian noise

Only the fine-tune half of the split is read (``ad-split0.npz`` in --work). Per model: the MSE of
its float output to the dense output on the clean fine-tune windows (dB^2), the standard deviation
over the fine-tune clips of (its clip score - the dense clip score), the relative error of each
hidden layer (MSE over the dense layer's mean square); with ``--int8`` the MSE between its
``slimgen build`` int8 output (``<model>_int8``, as prune_ad.py builds it) and its float output,
and between prune_ad's fake-quantised forward and the int8 output, on the first 20 clips.
``--noise``: the fine-tune-half AUC of the dense model with Gaussian noise on L9, L0 or all layers.
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

from examples.mlperf_tiny import weights
from tests.realdata import mlperf_data as md


def load(pt2: Path) -> torch.nn.Sequential:
    m = pa.fold(weights.ad(cm.DATA))
    m.load_state_dict(dict(torch.export.load(str(pt2)).state_dict))
    return m


def clip_scores(out: torch.Tensor, x: torch.Tensor, clips: int) -> torch.Tensor:
    return ((out - x) ** 2).mean(1).view(clips, -1).mean(1)


def diagnose(pt2: Path, x: torch.Tensor, teacher: torch.nn.Sequential, clips: int,
             int8: bool, qcal: torch.Tensor) -> None:
    student = load(pt2)
    with torch.no_grad():
        o, hs = pa.hidden(student, x)
        t, ht = pa.hidden(teacher, x)
        rel = [float(((a - b) ** 2).mean() / (b ** 2).mean()) for a, b in zip(hs, ht)]
    shift = clip_scores(o, x, clips) - clip_scores(t, x, clips)
    print(f"{pt2.stem}: ft match {float(((o - t) ** 2).mean()):.3f} dB^2, clip shift std "
          f"{float(shift.std()):.3f}, hidden rel. error " + " ".join(f"{v:.3g}" for v in rel))
    if int8:
        w = x[: 20 * 196]
        yq = cm._int8_outputs(pt2.with_name(pt2.stem + "_int8"), w.numpy(), batch=196 * 4)
        with torch.no_grad():
            yf = student(w).numpy()
            yfq = pa.hidden(student, w, pa.act_ranges(student, qcal))[0].numpy()
            yt = teacher(w).numpy()
        print(f"  int8 vs float {np.mean((yq - yf) ** 2):.3f} dB^2, fake-quant vs int8 "
              f"{np.mean((yfq - yq) ** 2):.3f}, int8 vs dense {np.mean((yq - yt) ** 2):.3f}")


def noise(x: torch.Tensor, y: np.ndarray, teacher: torch.nn.Sequential) -> None:
    with torch.no_grad():
        t = teacher(x)
        for name, layers in (("L9", [9]), ("L0", [0]), ("all", list(range(10)))):
            for sig in (0.05, 0.1, 0.2):
                torch.manual_seed(0)
                m = pa.fold(weights.ad(cm.DATA))
                for i in layers:
                    w = pa.linears(m)[i].weight
                    w.add_(sig * w.abs().mean() / 0.8 * torch.randn_like(w))
                o = m(x)
                print(f"noise {name} {sig:.2f}: match {float(((o - t) ** 2).mean()):.3f} dB^2, "
                      f"fine-tune-half AUC {md.auc(clip_scores(o, x, len(y)).numpy(), y):.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/work/artifacts/s4ad"))
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--noise", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    s = np.load(cm.make_split("ad", cm.DATA, a.work, 0))
    x = torch.from_numpy(np.concatenate([md.ad_windows(c) for c in s["x_ft"]]))
    qcal = torch.from_numpy(np.concatenate([md.ad_windows(c)[::16] for c in s["x_ft"]]))
    teacher = pa.fold(weights.ad(cm.DATA))
    if a.noise:
        noise(x, s["y_ft"], teacher)
    for pt2 in a.models:
        diagnose(pt2, x, teacher, len(s["x_ft"]), a.int8, qcal)
    return 0


if __name__ == "__main__":
    sys.exit(main())
