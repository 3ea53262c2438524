"""How much of the dense AD auto-encoder can 124 ToyCar clips teach? A dense student from scratch.

    python3 benchmarks/ad_capacity.py --mode fm    [--epochs 200] [--fold 0|1] [--hidden-weight H]
    python3 benchmarks/ad_capacity.py --mode recon [--epochs 200] [--fold 0|1] [--aug plain|full]
    python3 benchmarks/ad_capacity.py --mode fm --mask-from PRUNED.pt2   # a sparse student

Issue #7 asks for the pruned auto-encoder to keep a held-out AUC >= 0.85; pruned models made by
``benchmarks/prune_ad.py`` on the fine-tune half reach ~0.72-0.76. This asks the upper-bound
question: the same architecture (10 Dense layers, BatchNorm + ReLU on the first nine), *dense*
and randomly initialised, trained only on the fine-tune half of the same split:

- ``--mode fm``: function matching to the dense reference model exactly as prune_ad.py fine-tunes
  (``prune_ad.finetune`` on ``prune_ad.Views``: augmented random windows of all fine-tune clips,
  labels unused; MSE to the dense reconstruction plus ``--score-weight`` times the centred
  per-window score difference; ``--hidden-weight`` as in prune_ad.py);
- ``--mode recon``: the way the reference model itself was trained (DCASE 2020 baseline): plain
  reconstruction, MSE(AE(x), x), of windows of the *normal* fine-tune clips only (``--aug
  plain``: clean random windows; ``full``: prune_ad.py's augmentations).

Scored like every prune_ad.py model (``compress_mlperf.score``: float and ``slimgen build`` int8
calibrated on the fine-tune half, AUC on the held-out half). ``--fold 1`` swaps the halves (as
prune_ad.py ``--fold 1``). Outputs in --work: ``adcap_<tag>.pt2``, ``RESULTS-adcap_<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compress_mlperf as cm
import prune_ad as pa

from examples.mlperf_tiny import weights
from tests.realdata import mlperf_data as md


class Plain(pa.Views):
    """Clean random 5-frame windows of the given clips (no gain, noise, shift or mixup)."""

    def batch(self, n: int, group: int = 1) -> torch.Tensor:
        c = torch.randint(0, len(self.clips), (n,), generator=self.g)
        t = torch.randint(0, self.clips.shape[1] - 4, (n,), generator=self.g)
        return self.clips[c[:, None], t[:, None] + torch.arange(5)].reshape(n, 640)


def fresh(seed: int) -> nn.Module:
    """The reference architecture (BatchNorm unfolded), every parameter re-initialised."""
    torch.manual_seed(seed)
    model = weights.ad(cm.DATA)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.BatchNorm1d)):
            m.reset_parameters()
    return model


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/work/artifacts/s5ad"))
    ap.add_argument("--mode", choices=["fm", "recon"], required=True)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--steps", type=int, default=100, help="batches per epoch")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fold", type=int, choices=[0, 1], default=0)
    ap.add_argument("--score-weight", type=float, default=1.0, help="fm only (centred)")
    ap.add_argument("--hidden-weight", type=float, default=0.0, help="fm only")
    ap.add_argument("--aug", choices=["plain", "full"], default="plain", help="recon only")
    ap.add_argument("--mask-from", type=Path, default=None,
                    help="a pruned model (.pt2, e.g. prune_ad.py's): train the student with its "
                         "Linear layers' zero masks fixed, from a random start (a sparse student "
                         "learnt as the dense one is)")
    return ap


def masks_of(pt2: Path, net: nn.Module) -> list[torch.Tensor]:
    """The non-zero masks of the 2-D weights of ``pt2``, in order, shaped like ``net``'s Linears
    (BatchNorm folding scales rows, so a folded model's zeros are its unfolded layers' zeros)."""
    sd = torch.export.load(pt2).module().state_dict()
    found = [v != 0 for v in sd.values() if v.ndim == 2]
    lin = pa.linears(net)
    if [tuple(m.shape) for m in found] != [tuple(m.weight.shape) for m in lin]:
        raise SystemExit(f"{pt2}: its weights are not the AD auto-encoder's layers")
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    torch.set_num_threads(1)
    a = parser().parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    split = pa.split_path(a.work, a.fold)
    s = np.load(split)
    tag = f"adcap_{a.mode}_e{a.epochs}x{a.steps}_s{a.seed}" + (
        f"_sw{a.score_weight:g}_hw{a.hidden_weight:g}" if a.mode == "fm" else f"_{a.aug}") + (
        f"_lr{a.lr:g}" if a.lr != 1e-3 else "") + (f"_fold{a.fold}" if a.fold else "")
    student = fresh(a.seed)
    net = student.net
    if a.mode == "fm":
        teacher = pa.fold(weights.ad(cm.DATA))
        views = pa.Views(s["x_ft"], a.seed)
        sw, hw = a.score_weight, a.hidden_weight
    else:  # the identity as "teacher": finetune's output MSE is then the reconstruction error
        teacher = nn.Sequential(nn.Identity())
        normal = s["x_ft"][s["y_ft"] == 0]
        views = Plain(normal, a.seed) if a.aug == "plain" else pa.Views(normal, a.seed)
        sw = hw = 0.0
    for p in teacher.parameters():
        p.requires_grad_(False)
    masks = [torch.ones_like(m.weight, dtype=torch.bool) for m in pa.linears(net)]
    if a.mask_from is not None:
        masks = masks_of(a.mask_from, net)
        with torch.no_grad():
            for m, k in zip(pa.linears(net), masks):
                m.weight.mul_(k)
        tag += "_masked-" + a.mask_from.stem[:40]
    t0 = time.time()
    student.train()
    log = pa.finetune(net, teacher, masks, views, a.epochs, a.steps, a.lr, a.batch, sw, True, hw)
    student.eval()
    seconds = round(time.time() - t0)
    pt2 = cm.export(student, md.ad_windows(s["x_ft"][0]), a.work / f"{tag}.pt2")
    dense_pt2 = cm.export(weights.ad(cm.DATA), md.ad_windows(s["x_ft"][0]),
                          a.work / "ad_dense.pt2")
    fold_tag = f"_fold{a.fold}" if a.fold else ""
    res = {"command": "python3 benchmarks/ad_capacity.py " + " ".join(argv), "seconds": seconds,
           "final_loss": log[-1:], "ft_auc": pa.auc_on(student, s["x_ft"], s["y_ft"]),
           "dense": cm.score("ad", dense_pt2, split, a.work / f"ad_dense{fold_tag}_int8"),
           "student": cm.score("ad", pt2, split, a.work / f"{tag}_int8"), "output": str(pt2)}
    for k in ("dense", "student"):
        r = res[k]
        print(f"  {k:<7} held-out AUC ({r['held_out']} clips): float {r['float']:.4f}  "
              f"int8 {r['int8']:.4f}", flush=True)
    print(f"  student fine-tune-half AUC {res['ft_auc']:.4f}, {seconds} s", flush=True)
    (a.work / f"RESULTS-{tag}.json").write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
