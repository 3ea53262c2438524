"""Whole models, dense against --sparse auto, profiled per layer on a Cortex-M core.

    python3 benchmarks/sparse_e2e.py                        # AD autoencoder @85 %, KWS DS-CNN @60 %, M4
    python3 benchmarks/sparse_e2e.py --model ad --sparsity 0.9 --pattern unstructured --core m7
    python3 benchmarks/sparse_e2e.py --model ad --by-shape 640x128=0.9,128x640=0.9,128x8=0,8x128=0

The MLPerf Tiny architectures (tests/models.py) with seeded random weights are pruned by weight
magnitude, per layer, in a pattern along slimgen's reduction axis (``block``: whole 1x4 blocks
by L1 norm, where the reduction length is a multiple of 4; ``unstructured``: single weights),
built twice (``--sparse off`` and ``--sparse auto``) and profiled with ``slimgen profile``
(Unicorn, exact instructions, estimated cycles, output bit-exact with the integer reference).
Random weights say nothing about accuracy: this measures speed and flash only. Depthwise
layers have no sparse kernel and stay dense.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
try:
    import slimgen  # noqa: F401
except ImportError:  # a source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "compiler"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from slimgen import api  # noqa: E402
from slimgen.profile.model import profile_build  # noqa: E402
from tests.models import MLPERF  # noqa: E402
from tests.pipeline import export_pt2, random_inputs, write_npz  # noqa: E402

MODELS = {"ad": ("ad_autoencoder", 0.85), "kws": ("kws_dscnn", 0.60)}


def parse_by_shape(text: str) -> dict[tuple[int, int], float]:
    """"640x128=0.9,8x128=0" -> {(in, out): sparsity}: per-layer sparsity by weight shape."""
    out = {}
    for item in filter(None, text.split(",")):
        shape, _, value = item.partition("=")
        cin, _, cout = shape.partition("x")
        out[(int(cin), int(cout))] = float(value)
    return out


def prune_(model: nn.Module, sparsity: float, pattern: str,
           by_shape: dict[tuple[int, int], float] | None = None) -> None:
    """Zero the smallest weights (or 1x4 blocks) of every Linear and groups=1 Conv2d, at
    ``sparsity``, or at ``by_shape[(in, out)]`` for a layer of that shape (0: kept dense)."""
    with torch.no_grad():
        for m in model.modules():
            if not isinstance(m, (nn.Linear, nn.Conv2d)) or getattr(m, "groups", 1) != 1:
                continue
            wt = m.weight
            s = (by_shape or {}).get((wt[0].numel(), wt.shape[0]), sparsity)
            if s <= 0:
                continue
            ohwi = wt.permute(0, 2, 3, 1) if wt.ndim == 4 else wt
            w = ohwi.reshape(wt.shape[0], -1).clone()
            if pattern == "block" and w.shape[1] % 4 == 0:
                norms = w.abs().view(w.shape[0], -1, 4).sum(2)
                cut = norms.flatten().kthvalue(max(1, int(s * norms.numel()))).values
                keep = (norms > cut).repeat_interleave(4, dim=1)
            else:
                cut = w.abs().flatten().kthvalue(max(1, int(s * w.numel()))).values
                keep = w.abs() > cut
            pruned = (w * keep).view(ohwi.shape)
            wt.copy_(pruned.permute(0, 3, 1, 2) if wt.ndim == 4 else pruned)


def run(model_key: str, sparsity: float, pattern: str, core: str,
        by_shape: dict[tuple[int, int], float] | None = None) -> dict:
    name, default_sparsity = MODELS[model_key]
    sparsity = default_sparsity if sparsity is None else sparsity
    model, shape = MLPERF[name]()
    prune_(model.eval(), sparsity, pattern, by_shape)
    layers = [m.weight for m in model.modules()
              if isinstance(m, (nn.Linear, nn.Conv2d)) and getattr(m, "groups", 1) == 1]
    total = sum(int(w.numel()) for w in layers)
    zeros = sum(int((w == 0).sum()) for w in layers)
    out: dict = {"model": name, "sparsity": sparsity, "pattern": pattern, "core": core,
                 "overall_sparsity": round(zeros / total, 4)}
    with tempfile.TemporaryDirectory(prefix="slimgen-sparse-e2e-") as tmp:
        t = Path(tmp)
        pt2 = export_pt2(model, shape, t / f"{model_key}.pt2")
        calib = write_npz(t / "calib.npz", x=random_inputs(shape, 32, 1))
        for mode in ("off", "auto"):
            folder = t / mode
            rep = api.build(pt2, calib, folder, api.BuildOptions(
                name=model_key, sparse=mode, target=f"cortex-{core}"))
            prof = profile_build(folder, core, write_report=False)
            out[mode] = {
                "bit_exact": prof["bit_exact"],
                "cycles_est": prof["cycles_est_per_inference"],
                "instructions": prof["instructions_per_inference"],
                "weight_bytes": rep["weight_bytes"],
                "sparse_layers": sum(1 for lyr in rep["layers"]
                                     if lyr.get("sparse", {}).get("format", "dense") != "dense"),
                "layers": [(p["name"], p["kernel"], p["cycles_est"]) for p in prof["per_layer"]],
            }
    out["speedup"] = round(out["off"]["cycles_est"] / out["auto"]["cycles_est"], 2)
    out["flash_ratio"] = round(out["off"]["weight_bytes"] / out["auto"]["weight_bytes"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="ad,kws")
    ap.add_argument("--sparsity", type=float, default=None,
                    help="fraction of weights removed (default: AD 0.85, KWS 0.60)")
    ap.add_argument("--pattern", choices=("block", "unstructured"), default="block")
    ap.add_argument("--core", default="m4")
    ap.add_argument("--by-shape", default="",
                    help="per-layer sparsity by weight shape, e.g. 640x128=0.9,8x128=0 "
                         "(0: kept dense); other layers use --sparsity")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    by_shape = parse_by_shape(args.by_shape)
    results = [run(m, args.sparsity, args.pattern, args.core, by_shape)
               for m in args.model.split(",")]
    for r in results:
        if args.json:
            print(json.dumps(r))
            continue
        print(f"{r['model']} {r['pattern']} sparsity {r['sparsity']:.2f} (all weights "
              f"{r['overall_sparsity']:.3f}) on {r['core']}: "
              f"dense {r['off']['cycles_est']:,} -> sparse auto {r['auto']['cycles_est']:,} "
              f"est. cycles ({r['speedup']}x), instructions {r['off']['instructions']:,} -> "
              f"{r['auto']['instructions']:,}, weights {r['off']['weight_bytes']:,} -> "
              f"{r['auto']['weight_bytes']:,} B, {r['auto']['sparse_layers']} sparse layers, "
              f"bit-exact {r['off']['bit_exact'] and r['auto']['bit_exact']}")
    ok = all(r["off"]["bit_exact"] and r["auto"]["bit_exact"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
