"""Magnitude pruning masks and the Zhu & Gupta gradual schedule.

Masks are computed on each layer's weight seen as (out, reduction) rows in slimgen's reduction
order (``Layer.rows``), so N:M groups and 1x4 blocks are exactly the contiguous runs the sparse
kernels read. A pruned weight is simply zero: the exported model stays dense and builds as is.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

import torch

from ..errors import InputError
from .model import Layer
from .patterns import BLOCK, Pattern, pattern_of, uniform


def zhu_gupta(step: int, total_steps: int, final: float, initial: float = 0.0) -> float:
    """Sparsity after pruning step ``step`` of ``total_steps`` (1-based): s_f + (s_i - s_f)(1 - t)^3.

    Prunes fast while redundancy is high and slowly near the target (Zhu & Gupta 2017, eq. 1).
    """
    if total_steps <= 0:
        return final
    t = min(max(step / total_steps, 0.0), 1.0)
    return final + (initial - final) * (1.0 - t) ** 3


def select_layers(layers: Sequence[Layer], exclude: Sequence[str],
                  pattern: Pattern | Mapping[str, Pattern]) -> tuple[list[Layer], dict[str, str]]:
    """Layers to prune, and why the others are left dense (``pattern``: one for all layers, or
    one per layer name)."""
    skipped: dict[str, str] = {}
    chosen = []
    for lyr in layers:
        kind = pattern_of(pattern, lyr.name).kind
        if any(fnmatch.fnmatchcase(lyr.name, pat) for pat in exclude):
            skipped[lyr.name] = "excluded"
        elif kind == "dense":  # --pattern auto: no sparse kernel is faster for this layer
            skipped[lyr.name] = "left dense (--pattern auto: no sparse format pays)"
        elif lyr.depthwise and kind in ("n:m", "block"):
            skipped[lyr.name] = "depthwise (no sparse depthwise kernel format)"
        elif kind == "channel":
            skipped[lyr.name] = "channel pruning acts on channel groups"
        else:
            chosen.append(lyr)
    unknown = [p for p in exclude if not any(fnmatch.fnmatchcase(lyr.name, p) for lyr in layers)]
    if unknown:
        raise InputError(f"--exclude {', '.join(unknown)} matches no layer; the prunable layers "
                         f"are: {', '.join(lyr.name for lyr in layers)}.",
                         "Use those names (shell-style wildcards allowed).")
    if not chosen and any(pattern_of(pattern, lyr.name).kind != "channel" for lyr in layers):
        raise InputError("every prunable layer is excluded; nothing would be pruned.",
                         "Exclude fewer layers.")
    return chosen, skipped


def check_pattern(layers: Sequence[Layer], pattern: Pattern | Mapping[str, Pattern],
                  sparsity: float) -> None:
    """Refuse impossible requests before any training. With a per-layer map, an N:M layer
    simply has its pattern's sparsity (the user or ``--pattern auto`` chose it for that layer)."""
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"sparsity {sparsity} is impossible: it is the fraction of weights set "
                         "to zero and must be in [0, 1).", "Pass e.g. --sparsity 0.8.")
    by_pattern: dict[Pattern, list[Layer]] = {}
    for lyr in layers:
        by_pattern.setdefault(pattern_of(pattern, lyr.name), []).append(lyr)
    for pat, group in by_pattern.items():
        g = pat.group
        bad = [f"{lyr.name} ({lyr.rows().shape[1]})" for lyr in group
               if g and lyr.rows().shape[1] % g]
        if bad:
            raise InputError(f"{pat} pruning groups {g} consecutive weights along the "
                             f"reduction axis, but these layers' reduction length (kh*kw*c_in or "
                             f"in_features) is not a multiple of {g}: {', '.join(bad)}.",
                             "Leave them dense with --exclude NAME, or use --pattern unstructured.")
    if not isinstance(pattern, Pattern):
        return
    if pattern.kind == "n:m" and sparsity and abs(sparsity - (1 - pattern.n / pattern.m)) > 1e-6:
        raise InputError(f"{pattern} pruning fixes the sparsity at {1 - pattern.n / pattern.m:g} "
                         f"of the pruned layers, but --sparsity {sparsity} was asked.",
                         "Drop --sparsity with an N:M pattern.")


def _keep_top(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Boolean mask keeping the largest (1 - sparsity) fraction of ``scores`` (ties by index)."""
    k = round(sparsity * scores.numel())
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if k > 0:
        keep[torch.argsort(scores.reshape(-1), stable=True)[:k]] = False
    return keep.reshape(scores.shape)


def group_scores(rows: torch.Tensor, size: int) -> torch.Tensor:
    """L2 norm of each run of ``size`` consecutive weights in each row: (out, R / size)."""
    return rows.reshape(rows.shape[0], -1, size).norm(dim=2)


def nm_mask(rows: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep the n largest |w| of each group of m consecutive weights."""
    g = rows.abs().reshape(rows.shape[0], -1, m)
    idx = torch.argsort(g, dim=2, descending=True, stable=True)[..., :n]
    mask = torch.zeros_like(g, dtype=torch.bool).scatter_(2, idx, True)
    return mask.reshape(rows.shape)


def compute_masks(layers: Sequence[Layer], pattern: Pattern | Mapping[str, Pattern],
                  sparsity: float, scope: str = "layer") -> dict[str, torch.Tensor]:
    """Masks (shaped like each weight, 1 = keep) for ``sparsity`` of each layer or of all of them.

    ``scope='global'`` ranks the scores of all layers together (one threshold), which lets
    redundant layers give up more than others; ``'layer'`` prunes every layer equally. With one
    pattern per layer, each layer gets its own pattern's mask; a global ranking needs one pattern
    (a 1x4 block's norm and a single weight's magnitude are not comparable scores).
    """
    names = [lyr.name for lyr in layers]
    one = uniform(pattern, names)
    if one is None:
        if scope != "layer":
            raise ValueError("a global ranking of scores needs one pattern for every layer")
        return {lyr.name: _masks(layers[i:i + 1], pattern_of(pattern, lyr.name), sparsity,
                                 scope)[lyr.name] for i, lyr in enumerate(layers)}
    return _masks(layers, one, sparsity, scope)


def _masks(layers: Sequence[Layer], pattern: Pattern, sparsity: float,
           scope: str) -> dict[str, torch.Tensor]:
    if pattern.kind == "n:m":
        return {lyr.name: lyr.from_rows(nm_mask(lyr.rows(), pattern.n, pattern.m).float())
                for lyr in layers}
    size = BLOCK[1] if pattern.kind == "block" else 1
    scores = {lyr.name: group_scores(lyr.rows(), size) for lyr in layers}
    if scope == "global":
        flat = torch.cat([s.reshape(-1) for s in scores.values()])
        keep_all = _keep_top(flat, sparsity)
        keeps, at = {}, 0
        for name, s in scores.items():
            keeps[name] = keep_all[at:at + s.numel()].reshape(s.shape)
            at += s.numel()
    else:
        keeps = {name: _keep_top(s, sparsity) for name, s in scores.items()}
    return {lyr.name: lyr.from_rows(keeps[lyr.name].repeat_interleave(size, dim=1).float())
            for lyr in layers}


@torch.no_grad()
def apply_masks(layers: Sequence[Layer], masks: dict[str, torch.Tensor]) -> None:
    for lyr in layers:
        m = masks.get(lyr.name)
        if m is not None:
            lyr.weight.mul_(m.to(lyr.weight.device))


def sparsity_of(w: torch.Tensor) -> float:
    return float((w == 0).sum()) / max(1, w.numel())
