"""``--sparse auto|off|FORMAT``: which fc / conv layers run a sparse kernel, and why.

After the dense first-match selection (lower/kernels.py select_kernels), every fc and conv layer
gets a list of candidates: its dense kernel and each sparse spec in KERNELS whose predicate
holds (the weights fit the format). ``cost.estimate`` prices each on the target core; ``auto``
keeps the cheapest (dense when sparse does not pay), FORMAT takes that format wherever it
applies and is cheaper than dense or not (the user asked), and ``off`` changes nothing. The
decision and every candidate's estimate go into report.json, and, per format that cannot hold
a layer, the packer's reason.

The objective of ``auto`` is ``speed`` (the fewest estimated cycles) or ``size``: the
candidate with the fewest weight bytes among those not estimated slower than dense (dense
itself included), for flash-bound targets, where e.g. the ``shared`` format (one byte per
non-zero) wins over faster but larger formats.

Where the weights are not in whole 1x4 blocks, the decision also says what the layer would cost
re-pruned to the same density in blocks (``repruned``: the bsr1x4 kernel's estimate on a
block mask of as many non-zeros), so that a build tells which layers ``slimgen compress
--pattern block`` would make faster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..ir.graph import Graph, Node
from .cost import estimate
from .kernels import KERNELS, KernelSpec, weight_matrix
from .sparse_format import FORMATS, fits

MODES = ("auto", "off", *FORMATS)
#: ``auto`` keeps dense unless a sparse kernel is estimated this much faster: the fitted cost
#: model is within ~7 % on its calibration layers but was 7-12 % off on KWS DS-CNN layers with
#: trained OBS masks (docs/sparse.md, "Cost model and calibration").
AUTO_MARGIN = 0.10
OBJECTIVES = ("speed", "size")
#: Cost model core for host builds (the default firmware target).
HOST_CORE = "m4"


def parse_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in MODES:
        raise InputError(f"unknown --sparse value {text!r}.",
                         f"Use one of: {', '.join(MODES)}.")
    return mode


def parse_objective(text: str) -> str:
    if text not in OBJECTIVES:
        raise InputError(f"unknown --sparse-objective {text!r}.",
                         f"Use one of: {', '.join(OBJECTIVES)}.")
    return text


def core_of(target: str) -> str:
    """``--target cortex-m7`` -> "m7"; the host -> HOST_CORE."""
    t = target.lower().replace("cortex-", "")
    return t if t in ("m4", "m7", "m33", "m55") else HOST_CORE


def _candidate_layer(n: Node, spec: KernelSpec) -> bool:
    return n.op in ("fc", "conv2d") and not spec.sparse


def choose_sparse(g: Graph, kernels: dict[str, KernelSpec], mode: str, core: str,
                  objective: str = "speed") -> dict[str, dict[str, Any]]:
    """Replace dense kernels by sparse ones in ``kernels`` per ``mode``; return, per considered
    layer, the decision: chosen kernel and format, the reason, and every candidate's estimate."""
    decisions: dict[str, dict[str, Any]] = {}
    if mode == "off":
        return decisions
    for n in g.nodes:
        dense = kernels.get(n.name)
        if dense is None or not _candidate_layer(n, dense):
            continue
        w = weight_matrix(n)
        pixels = 1 if n.op == "fc" else n.out.shape[0] * n.out.shape[1]
        kh = n.attrs.kernel[0] if n.op == "conv2d" else 1
        density = float((w != 0).mean())
        cands = [(dense, estimate(dense.name, "dense", w, pixels, core, kh))]
        refused: dict[str, str] = {}
        for spec in KERNELS:
            if spec.sparse and spec.op == n.op:
                if spec.applies(n):
                    cands.append((spec, estimate(spec.name, spec.sparse, w, pixels, core, kh)))
                elif mode in (spec.sparse, "auto"):
                    refused[spec.sparse] = (fits(w, spec.sparse)
                                            or "the layer shape does not fit the kernel")
        for c in cands:  # another kernel of the format (1x1 or general conv) holds the layer
            refused.pop(c[0].sparse, None)
        # auto trusts a sparse kernel only where it wins by more than the cost model's error
        # on real layers, so that a near-tie never makes a build slower than dense.
        bar = cands[0][1].cycles * (1.0 - AUTO_MARGIN)
        ok = [cands[0]] + [c for c in cands[1:] if c[1].cycles <= bar]
        best_spec, best = min(ok, key=lambda c: c[1].cycles)
        if mode == "auto" and objective == "size":
            best_spec, best = min(ok, key=lambda c: (c[1].weight_bytes, c[1].cycles))
            why = ("fewest weight bytes, clearly not slower than dense" if best_spec.sparse
                   else "dense: no sparse format is smaller and clearly not slower")
        elif mode == "auto":
            why = ("lowest estimated cycles" if best_spec.sparse
                   else "dense: no sparse format is estimated faster by more than "
                        f"{AUTO_MARGIN:.0%}")
        else:
            forced = [c for c in cands if c[0].sparse == mode]
            if forced:
                best_spec, best = forced[0]
                why = f"--sparse {mode}"
            else:
                best_spec, best = cands[0]
                why = f"dense: {mode} cannot hold this layer's weights"
        kernels[n.name] = best_spec
        repruned = _repruned_in_blocks(cands, w, pixels, core, kh)
        decisions[n.name] = {
            "kernel": best_spec.name,
            "format": best.fmt,
            "reason": why,
            "density": round(density, 4),
            "core": core,
            "candidates": [e.as_json() for _, e in cands],
            "refused": refused,
        }
        if repruned is not None:
            decisions[n.name]["repruned"] = repruned
    return decisions


def _repruned_in_blocks(cands: list, w: np.ndarray, pixels: int, core: str,
                        kh: int) -> dict[str, Any] | None:
    """The bsr1x4 kernel's estimate for ``w``'s non-zeros re-pruned into whole 1x4 blocks
    (as many blocks as non-zeros / 4, at random: the cost depends on their count), when that
    kernel applies and the weights are not already in blocks."""
    spec = next((c[0] for c in cands if c[0].sparse == "bsr1x4"), None)
    nonzeros = int(np.count_nonzero(w))
    if spec is None or nonzeros == 0 or nonzeros == w.size:
        return None
    blocks_now = int(np.count_nonzero(w.reshape(w.shape[0], -1, 4).any(axis=2)))
    n_blocks = max(1, -(-nonzeros // 4))
    if blocks_now <= n_blocks:  # already (nearly) whole blocks
        return None
    keep = np.zeros(w.size // 4, bool)
    keep[np.random.default_rng(0).permutation(keep.size)[:n_blocks]] = True
    blocked = np.repeat(keep, 4).reshape(w.shape).astype(np.int8)
    e = estimate(spec.name, "bsr1x4", blocked, pixels, core, kh)
    return {"pattern": "block", "kernel": spec.name, "est_cycles": e.cycles,
            "weight_bytes": e.weight_bytes,
            "how": "slimgen compress --pattern block (1x4 blocks along the reduction axis)"}
