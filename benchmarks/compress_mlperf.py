"""MLPerf Tiny IC / KWS / AD pruned without their training sets, by function-matching distillation.

    python3 benchmarks/compress_mlperf.py ic  [--sparsity 0.5] [--epochs 30]
    python3 benchmarks/compress_mlperf.py kws [--sparsity 0.5] [--pattern block]
    python3 benchmarks/compress_mlperf.py ad  [--sparsity 0.85]
    python3 benchmarks/compress_mlperf.py kws --prune-method obs --sparsity 0.6 --epochs 10

``--prune-method obs`` replaces the gradual magnitude schedule by one-shot layer-wise Optimal
Brain Surgeon pruning (compress/obs.py; Hessians from ``--obs-samples`` fine-tune-half views)
followed by the same function-matching fine-tuning with the mask fixed (``--epochs 0``: none).

../shared/data holds the trained reference models and their MLPerf *test* samples only (IC: 200
CIFAR-10 images, KWS: 1000 MFCCs, AD: 248 ToyCar clips), no training set. The protocol:

1. the samples are split once, with a fixed seed (--split-seed), into a fine-tune half and a
   held-out half (AD: by clip);
2. ``slimgen compress`` prunes the dense model gradually while it learns to match a teacher's
   outputs on heavily augmented fine-tune-half inputs -- "function matching" (Beyer et al. 2022,
   *Knowledge distillation: a good teacher is patient and consistent*): teacher and student see
   the same augmented view, labels are not used (alpha 1). IC's teacher is the provided 2.5x
   wider ResNet-8 (93 %), KWS's and AD's the dense reference model itself (AD: mean squared
   error to the dense auto-encoder's reconstruction, ``--loss mse``);
3. the pruned and the dense model are scored ONLY on the untouched held-out half, float (torch)
   and int8 (``slimgen build`` calibrated on the clean fine-tune half, scored by the integer
   reference that the generated C equals bit for bit).

The augmented data reaches ``slimgen compress`` as ``--data benchmarks.compress_mlperf:loaders``
(DataLoaders built here; the split file is passed in $SLIMGEN_FM_SPLIT). Everything is written
to --work, never into the repository; results in RESULTS-<part>-*.json there.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from slimgen import api
from slimgen.compress.model import load_working, set_training

from examples.mlperf_tiny import weights
from examples.mlperf_tiny.evaluate import _int8_outputs
from tests.realdata import mlperf_data as md

RAW = {"ic": ("mlperf-tiny-ic", "ic01_v05_uint8.npz"),
       "kws": ("mlperf-tiny-kws", "kws01_mfcc_int8.npz"),
       "ad": ("mlperf-tiny-ad", "ad01_logmel_f32.npz")}


# -- the split ---------------------------------------------------------------------------------

def make_split(part: str, data: Path, work: Path, seed: int) -> Path:
    """Fine-tune / held-out halves, fixed by ``seed``; saved once so every run uses the same."""
    path = work / f"{part}-split{seed}.npz"
    if path.exists():
        return path
    raw = np.load(data / RAW[part][0] / RAW[part][1])
    y = raw["y"].astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    ft, held = np.sort(perm[: len(y) // 2]), np.sort(perm[len(y) // 2:])
    x = raw["x"].astype(np.float32) if part == "ad" else weights.float_inputs(part, raw["x"])
    np.savez(path, x_ft=x[ft], y_ft=y[ft], x_held=x[held], y_held=y[held], ft=ft, held=held)
    return path


# -- augmentation (numpy, per sample; mixing per batch) -----------------------------------------

class Augmented(Dataset):
    """``repeats`` random views of every fine-tune sample per epoch; targets are the labels (IC,
    KWS: unused at alpha 1) or, for AD, filled in by the collate function from the teacher."""

    def __init__(self, part: str, x: np.ndarray, y: np.ndarray, repeats: int, seed: int) -> None:
        self.part, self.x, self.y, self.repeats = part, x, y, repeats
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.x) * self.repeats

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[i % len(self.x)]
        r = self.rng
        if self.part == "ic":  # (3, 32, 32) pixels 0..255: reflect-pad 4, random 32x32 crop, flip
            p = np.pad(x, ((0, 0), (4, 4), (4, 4)), mode="reflect")
            t, left = r.integers(0, 9, 2)
            x = p[:, t:t + 32, left:left + 32]
            if r.random() < 0.5:
                x = x[:, :, ::-1]
        elif self.part == "kws":  # (1, 49, 10) MFCC: time shift, time/frequency masks, noise
            x = np.roll(x, int(r.integers(-6, 7)), axis=1).copy()
            mean = x.mean()
            t = int(r.integers(0, 45))
            x[:, t:t + int(r.integers(0, 6))] = mean
            f = int(r.integers(0, 10))
            x[:, :, f:f + int(r.integers(0, 3))] = mean
            x = x + r.normal(0, 0.1 * x.std(), x.shape).astype(np.float32)
        else:  # AD clip (200, 128) log-mel dB -> one random 5-frame window, gain and noise
            t = int(r.integers(0, 196))
            x = x[t:t + 5].reshape(640) + np.float32(r.normal(0, 2.0))
            x = x + r.normal(0, 0.5, x.shape).astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)), torch.tensor(self.y[
            i % len(self.x)])


class Mix:
    """Collate: with probability 1/2 mixup (lambda ~ Beta(1, 1)) or, for images, CutMix half
    of those. For AD, the targets become the dense auto-encoder's outputs on the mixed inputs."""

    def __init__(self, part: str, seed: int, teacher: torch.nn.Module | None = None) -> None:
        self.part, self.teacher = part, teacher
        self.rng = np.random.default_rng(seed + 1)

    def __call__(self, batch: list[tuple[torch.Tensor, torch.Tensor]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.stack([b[0] for b in batch])
        y = torch.stack([b[1] for b in batch])
        r = self.rng
        if r.random() < 0.5:
            perm = torch.from_numpy(r.permutation(len(x)))
            lam = float(r.beta(1.0, 1.0))
            if self.part == "ic" and r.random() < 0.5:  # CutMix: paste a box of another image
                h = int(32 * np.sqrt(1 - lam))
                t, left = r.integers(0, 33 - h, 2) if h < 32 else (0, 0)
                x = x.clone()
                x[:, :, t:t + h, left:left + h] = x[perm][:, :, t:t + h, left:left + h]
            else:
                x = lam * x + (1 - lam) * x[perm]
        if self.teacher is not None:
            with torch.no_grad():
                y = self.teacher(x)
        elif self.part == "ad":  # plain auto-encoder training: reconstruct the input
            y = x
        return x, y


def loaders() -> tuple[DataLoader, DataLoader]:
    """``--data benchmarks.compress_mlperf:loaders``: reads $SLIMGEN_FM_SPLIT / _PART / _SEED."""
    part = os.environ["SLIMGEN_FM_PART"]
    seed = int(os.environ.get("SLIMGEN_FM_SEED", "0"))
    s = np.load(os.environ["SLIMGEN_FM_SPLIT"])
    if part == "ad":
        normal = s["y_ft"] == 0  # an auto-encoder learns from normal clips only
        # target "dense": match the dense auto-encoder (function matching); "input": ordinary
        # auto-encoder training on the fine-tune half's normal clips
        teacher = weights.ad(DATA).eval() if os.environ.get("SLIMGEN_FM_AD_TARGET",
                                                             "dense") == "dense" else None
        train = Augmented(part, s["x_ft"][normal], s["y_ft"][normal], 64, seed)
        held = np.concatenate([md.ad_windows(c) for c in s["x_held"][s["y_held"] == 0][:8]])
        with torch.no_grad():
            target = (teacher or weights.ad(DATA).eval())(torch.from_numpy(held)).numpy()
        test = DataLoader(list(zip(torch.from_numpy(held), torch.from_numpy(target))),
                          batch_size=512)
        return DataLoader(train, batch_size=128, shuffle=True, collate_fn=Mix(part, seed, teacher),
                          generator=torch.Generator().manual_seed(seed)), test
    repeats, batch = (10, 32) if part == "ic" else (4, 64)
    train = Augmented(part, s["x_ft"], s["y_ft"], repeats, seed)
    test = DataLoader(list(zip(torch.from_numpy(s["x_held"]), torch.from_numpy(s["y_held"]))),
                      batch_size=256)
    return DataLoader(train, batch_size=batch, shuffle=True, collate_fn=Mix(part, seed),
                      generator=torch.Generator().manual_seed(seed)), test


# -- scoring on the held-out half --------------------------------------------------------------

def build(pt2: Path, calib: np.ndarray, out: Path) -> None:
    """``slimgen build`` of the .pt2 file itself, min/max calibration on ``calib``."""
    cal = out.parent / f"{out.name}.calib.npz"
    np.savez(cal, x=np.ascontiguousarray(calib, np.float32))
    api.build(pt2, cal, out)


def score(part: str, pt2: Path, split: Path, out: Path) -> dict[str, float | int]:
    """Float and slimgen-int8 metric on the held-out half; int8 calibrated on the fine-tune half."""
    s = np.load(split)
    example = md.ad_windows(s["x_ft"][0]) if part == "ad" else s["x_ft"]
    model, _ = load_working(pt2, tuple(example[:1].shape), False)  # any batch size
    set_training(model, False)
    if part == "ad":
        calib = np.concatenate([md.ad_windows(c)[::16] for c in s["x_ft"]])
        build(pt2, calib, out)
        w = np.concatenate([md.ad_windows(c) for c in s["x_held"]])
        with torch.no_grad():
            yf = model(torch.from_numpy(w)).numpy()
        yq = _int8_outputs(out, w, batch=196 * 8)
        per_clip = (len(s["x_held"]), -1)
        sf = np.mean(((w - yf) ** 2).reshape(per_clip), axis=1)
        sq = np.mean(((w - yq) ** 2).reshape(per_clip), axis=1)
        return {"held_out": len(s["x_held"]), "float": md.auc(sf, s["y_held"]),
                "int8": md.auc(sq, s["y_held"])}
    build(pt2, s["x_ft"], out)
    with torch.no_grad():
        yf = model(torch.from_numpy(s["x_held"])).numpy()
    yq = _int8_outputs(out, s["x_held"])
    return {"held_out": len(s["y_held"]), "float": float((yf.argmax(1) == s["y_held"]).mean()),
            "int8": float((yq.argmax(1) == s["y_held"]).mean())}


def sparsity(pt2: Path) -> dict[str, float | int]:
    """Zeros over the weights of every conv/linear (the weights pruning acts on)."""
    total = zeros = 0
    for name, p in torch.export.load(str(pt2)).state_dict.items():
        if name.endswith("weight") and p.dim() in (2, 4):  # conv/linear, not BatchNorm
            total += p.numel()
            zeros += int((p == 0).sum())
    return {"weights": total, "nonzero": total - zeros, "sparsity": zeros / max(1, total)}


def dense_model(part: str, data: Path) -> torch.nn.Module:
    if part == "ad":
        return weights.ad(data)
    return weights.Logits(weights.MODELS[part](data)).eval()


def export(model: torch.nn.Module, example: np.ndarray, path: Path) -> Path:
    ex = torch.from_numpy(np.ascontiguousarray(example[:1], np.float32))
    torch.export.save(torch.export.export(model.eval(), (ex,)), str(path))
    return path


def run(a: argparse.Namespace) -> dict:
    part = a.part
    a.work.mkdir(parents=True, exist_ok=True)
    split = make_split(part, a.data, a.work, a.split_seed)
    s = np.load(split)
    example = md.ad_windows(s["x_ft"][0]) if part == "ad" else s["x_ft"]
    dense = dense_model(part, a.data)
    dense_pt2 = export(dense, example, a.work / f"{part}_dense.pt2")
    tag = f"{part}_{a.pattern}{a.sparsity:g}_e{a.epochs}_s{a.seed}"
    if a.scope != "global" or a.lr != 1e-3:
        tag += f"_{a.scope}_lr{a.lr:g}"
    if part == "ad" and a.ad_target != "dense":
        tag += f"_{a.ad_target}"
    if a.freeze_bn:
        tag += "_fbn"
    if a.prune_method != "magnitude":
        tag += f"_{a.prune_method}{a.obs_samples}"
        if a.obs_steps > 1:
            tag += f"x{a.obs_steps}"
    if a.exclude:
        tag += "_x" + "-".join(e.replace("*", "") for e in a.exclude)
    out = a.work / f"{tag}.pt2"
    cmd = ["slimgen", "compress", str(dense_pt2), "--data", "benchmarks.compress_mlperf:loaders",
           "-o", str(out), "--sparsity", str(a.sparsity), "--pattern", a.pattern, "--scope",
           a.scope, "--epochs", str(a.epochs), "--prune-steps", str(a.prune_steps), "--lr",
           str(a.lr), "--seed", str(a.seed), "-q"] + (["--freeze-bn"] if a.freeze_bn else [])
    if a.prune_method != "magnitude":
        cmd += ["--prune-method", a.prune_method, "--obs-samples", str(a.obs_samples),
                "--obs-steps", str(a.obs_steps)]
    cmd += [f"--exclude={e}" for e in a.exclude]
    if part == "ad":
        cmd += ["--loss", "mse"]
    else:
        teacher = (export(weights.ic_teacher(a.data), example, a.work / "ic_teacher.pt2")
                   if part == "ic" else dense_pt2)
        cmd += ["--teacher", str(teacher), "--alpha", "1", "--temperature", str(a.temperature)]
    env = {"SLIMGEN_FM_PART": part, "SLIMGEN_FM_SPLIT": str(split), "SLIMGEN_FM_SEED": str(a.seed)}
    if part == "ad":
        env["SLIMGEN_FM_AD_TARGET"] = a.ad_target
    print("$", " ".join(f"{k}={v}" for k, v in env.items()), shlex.join(cmd), flush=True)
    t = time.time()
    if not out.exists() or a.force:
        subprocess.run(cmd, check=True, cwd=REPO, env=os.environ | env | {"OMP_NUM_THREADS": "1"})
    seconds = round(time.time() - t)
    res = {"part": part, "command": " ".join(f"{k}={v}" for k, v in env.items()) + " " +
           shlex.join(cmd), "seconds": seconds,
           "dense": score(part, dense_pt2, split, a.work / f"{part}_dense_int8")
           | sparsity(dense_pt2),
           "pruned": score(part, out, split, a.work / f"{tag}_int8") | sparsity(out),
           "output": str(out)}
    metric = "AUC" if part == "ad" else "accuracy"
    for k in ("dense", "pruned"):
        r = res[k]
        print(f"  {k:<7} held-out {metric} ({r['held_out']} samples): float {r['float']:.4f}  "
              f"int8 {r['int8']:.4f}  sparsity {100 * r['sparsity']:.1f} % "
              f"({r['nonzero']:,} / {r['weights']:,} non-zero)", flush=True)
    (a.work / f"RESULTS-{tag}.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["ic", "kws", "ad"])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-bench-mlperf"))
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--pattern", default="unstructured")
    ap.add_argument("--scope", default="global", choices=["layer", "global", "output"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--prune-steps", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--ad-target", choices=["dense", "input"], default="dense",
                    help="AD: match the dense model's reconstruction, or reconstruct the input")
    ap.add_argument("--freeze-bn", action="store_true",
                    help="fine-tune with BatchNorm on its running statistics")
    ap.add_argument("--prune-method", choices=["magnitude", "obs"], default="magnitude")
    ap.add_argument("--obs-samples", type=int, default=1024,
                    help="obs: augmented fine-tune-half views whose layer inputs give the Hessians")
    ap.add_argument("--obs-steps", type=int, default=1,
                    help="obs: passes on the Zhu & Gupta schedule with fine-tuning between them")
    ap.add_argument("--exclude", action="append", default=[], help="layer left dense (repeatable)")
    ap.add_argument("--force", action="store_true", help="re-run compress over an existing output")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    torch.set_num_threads(1)
    run(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
