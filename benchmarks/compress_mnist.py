"""Full-size `slimgen compress` benchmarks on MNIST (minutes on a CPU; not run in CI).

    python3 benchmarks/compress_mnist.py lenet     # LeNet-300-100 pruned to 8 % of its weights
    python3 benchmarks/compress_mnist.py lenet --share-weights 16   # ... then 15 shared values
    python3 benchmarks/compress_mnist.py distill   # Hinton-style ensemble distillation vs alone

Every compression step is a `slimgen compress` command line (printed, so the figures can be
reproduced by hand); the data (../shared/data/mnist, IDX) and all models are written to --work,
never into the repository. Results are printed and saved as RESULTS.json in --work.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def load_mnist(root: Path) -> tuple[np.ndarray, ...]:
    def read(name: str) -> bytes:
        with gzip.open(root / name) as f:
            return f.read()

    def images(name: str) -> np.ndarray:
        raw = np.frombuffer(read(name), np.uint8, offset=16)
        return (raw.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)

    def labels(name: str) -> np.ndarray:
        return np.frombuffer(read(name), np.uint8, offset=8).astype(np.int64)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def mlp(*widths: int, dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in itertools.pairwise(widths):
        layers.append(nn.Linear(a, b))
        if b != widths[-1]:
            layers += [nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else [])
    return nn.Sequential(*layers)


def cnn(c1: int = 8, c2: int = 16, hidden: int = 0, dropout: float = 0.0) -> nn.Module:
    """A LeNet-5-like CNN: 8/16 channels 5x5 (97.9 % after 3 epochs), or wider 3x3 with a hidden
    layer and dropout (``hidden`` > 0: the 32/64-channel teachers, over 99 %)."""
    k = 3 if hidden else 5
    layers = [nn.Conv2d(1, c1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(c1, c2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    if hidden:
        layers += [nn.Dropout(dropout), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(),
                   nn.Dropout(dropout), nn.Linear(hidden, 10)]
    else:
        layers.append(nn.Linear(c2 * 7 * 7, 10))
    return nn.Sequential(*layers)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, seed: int,
          lr: float = 1e-3, batch: int = 128, weight_decay: float = 0.0) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * (len(x) // batch + 1))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((model(torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def save(model: nn.Module, path: Path) -> Path:
    torch.export.save(torch.export.export(model.eval(), (torch.zeros(1, 1, 28, 28),)), str(path))
    return path


def compress(args: list[str], log: list[dict]) -> dict:
    cmd = ["slimgen", "compress", *args, "-q"]
    print("$", shlex.join(cmd), flush=True)
    t = time.time()
    # One intra-op thread: on a shared machine a second OpenMP thread mostly spins waiting.
    subprocess.run(cmd, check=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    out = Path(args[args.index("-o") + 1])
    rep = json.loads(out.with_name(out.stem + ".report.json").read_text())
    log.append({"command": shlex.join(cmd), "seconds": round(time.time() - t),
                "stages": [{k: s[k] for k in ("stage", "float", "int8", "params",
                                              "nonzero_weights", "weight_bytes")}
                           for s in rep["stages"]], "layers": rep["layers"]})
    for s in rep["stages"]:
        print(f"  {s['stage']:<28} float {100 * s['float']['accuracy']:.2f} %  int8 "
              f"{100 * s['int8']['accuracy']:.2f} %  non-zero {s['nonzero_weights']:,} / "
              f"{s['params']:,}", flush=True)
    return rep


def lenet(work: Path, data: Path, d: dict, a: argparse.Namespace, log: list[dict]) -> None:
    """LeNet-300-100 (Han et al. 2015): dense training, then gradual global pruning to 92 %."""
    tag = f"e{a.dense_epochs}-d{a.dropout:g}-wd{a.weight_decay:g}-s{a.seed}"
    dense = work / f"lenet_dense-{tag}.pt2"
    if not dense.exists():
        torch.manual_seed(a.seed)
        m = train(mlp(784, 300, 100, 10, dropout=a.dropout), d["x_train"], d["y_train"],
                  a.dense_epochs, a.seed, weight_decay=a.weight_decay)
        print(f"dense LeNet-300-100: {100 * accuracy(m, d['x_test'], d['y_test']):.2f} %")
        save(m, dense)
    share = (["--share-weights", str(a.share_weights), "--share-epochs", str(a.share_epochs)]
             if a.share_weights else [])
    name = f"lenet_sparse-{tag}-p{a.epochs}-{a.scope}" + (
        f"-k{a.share_weights}e{a.share_epochs}" if a.share_weights else "")
    compress([str(dense), "--data", str(data), "-o", str(work / f"{name}.pt2"),
              "--sparsity", str(a.sparsity), "--scope", a.scope, "--epochs", str(a.epochs),
              "--prune-steps", "20", "--batch-size", "128", "--seed", str(a.seed),
              "--qat", "--qat-epochs", str(a.qat_epochs), *share], log)


def distill(work: Path, data: Path, d: dict, a: argparse.Namespace, log: list[dict]) -> None:
    """An ensemble (CNNs by default) teaches a small MLP; the same student trained alone (alpha 0:
    labels only) for the same epochs from the same initialisation, on the same training samples
    (all 60,000, or the same fixed --train-subset), is the baseline. One pair per --seeds."""
    teachers = []
    for s in range(a.teachers):
        if a.teacher_kind == "cnn":
            h = f"-h{a.teacher_hidden}" if a.teacher_hidden != 128 else ""
            p = work / f"teacher-cnn{a.teacher_c1}-{a.teacher_c2}{h}-e{a.teacher_epochs}-{s}.pt2"
        else:
            p = work / f"teacher-mlp{a.teacher_width}-e{a.teacher_epochs}-{s}.pt2"
        if not p.exists():
            torch.manual_seed(100 + s)
            net = (cnn(a.teacher_c1, a.teacher_c2, a.teacher_hidden, 0.25)
                   if a.teacher_kind == "cnn"
                   else mlp(784, a.teacher_width, a.teacher_width, 10, dropout=0.3))
            m = train(net, d["x_train"], d["y_train"], a.teacher_epochs, 100 + s)
            print(f"teacher {s}: {100 * accuracy(m, d['x_test'], d['y_test']):.2f} %", flush=True)
            save(m, p)
        teachers.append(p)
    if a.train_subset:
        # one fixed subset (seed 1234), the same for every student and both arms
        idx = np.random.default_rng(1234).permutation(len(d["x_train"]))[:a.train_subset]
        data = work / f"mnist-subset{a.train_subset}.npz"
        if not data.exists():
            np.savez(data, x_train=d["x_train"][idx], y_train=d["y_train"][idx],
                     x_test=d["x_test"], y_test=d["y_test"])
    for seed in a.seeds:
        torch.manual_seed(seed)
        student = save(mlp(784, a.student_width, 10), work / f"student_init-s{seed}.pt2")
        common = [str(teachers[0]), "--data", str(data), "--student", str(student),
                  "--distill-epochs", str(a.student_epochs), "--batch-size", "128",
                  "--seed", str(seed)]
        for t in teachers:
            common += ["--teacher", str(t)]
        tag = f"w{a.student_width}-n{a.train_subset or 60000}-e{a.student_epochs}-s{seed}"
        compress(common + ["-o", str(work / f"student_alone-{tag}.pt2"), "--alpha", "0"], log)
        compress(common + ["-o", str(work / f"student_kd-{tag}.pt2"), "--alpha",
                           str(a.alpha), "--temperature", str(a.temperature)], log)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["lenet", "distill", "all"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/slimgen-bench-mnist"))
    ap.add_argument("--mnist", type=Path, default=MNIST)
    ap.add_argument("--dense-epochs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=30, help="pruning fine-tune epochs")
    ap.add_argument("--sparsity", type=float, default=0.92)
    ap.add_argument("--dropout", type=float, default=0.2, help="dense LeNet dropout (kept "
                    "while pruning: compress fine-tunes in training mode)")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="dense training AdamW")
    ap.add_argument("--scope", choices=["layer", "global"], default="global")
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--share-weights", type=int, default=0,
                    help="lenet: then share K values per layer (K - 1 non-zero; 0: off)")
    ap.add_argument("--share-epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teachers", type=int, default=3)
    ap.add_argument("--teacher-epochs", type=int, default=4)
    ap.add_argument("--teacher-width", type=int, default=1200)
    ap.add_argument("--teacher-kind", choices=["mlp", "cnn"], default="cnn")
    ap.add_argument("--teacher-c1", type=int, default=32)
    ap.add_argument("--teacher-c2", type=int, default=64)
    ap.add_argument("--teacher-hidden", type=int, default=128,
                    help="CNN teacher hidden layer (0: none, 5x5 convs: the small 8/16 CNN)")
    ap.add_argument("--train-subset", type=int, default=0,
                    help="students see only this many training digits (0: all)")
    ap.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1])
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--student-width", type=int, default=30)
    ap.add_argument("--student-epochs", type=int, default=8)
    ap.add_argument("--temperature", type=float, default=4.0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if not a.mnist.is_dir():
        print(f"MNIST not found at {a.mnist}", file=sys.stderr)
        return 2
    a.work.mkdir(parents=True, exist_ok=True)
    xtr, ytr, xte, yte = load_mnist(a.mnist)
    d = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    data = a.work / "mnist.npz"
    if not data.exists():
        np.savez(data, **d)
    log: list[dict] = []
    if a.part in ("lenet", "all"):
        lenet(a.work, data, d, a, log)
    if a.part in ("distill", "all"):
        distill(a.work, data, d, a, log)
    (a.work / f"RESULTS-{a.part}-{int(time.time())}.json").write_text(json.dumps(log, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
