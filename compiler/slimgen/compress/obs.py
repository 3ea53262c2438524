"""One-shot layer-wise pruning by Optimal Brain Surgeon reconstruction (calibration data only).

Layers are pruned in graph order, each with the earlier layers already pruned. A layer is fitted
to the *dense* model's output of that layer from the inputs it now gets: with X its inputs in
the pruned model and X_d in the dense one (a conv through its im2col rows; a grouped or
depthwise conv one set per group, e.g. 9 taps per channel), ``H = X X^T / N`` (centred when a
bias or a following BatchNorm can take the mean), ``C = X X_d^T / N``, the best unpruned rows are
``w* = (H + lam I)^-1 (C w + lam w)``, ``lam = damp * mean(diag H)``, and the error of pruned rows
w' is ``(w' - w*)^T H (w' - w*)`` plus a constant. Each row is then pruned greedily and exactly as
in Frantar & Alistarh 2022, *Optimal Brain Compression* (OBC): remove the weight (or 1x4 block,
or the weight that keeps its N:M group feasible) whose removal raises the error least,
``w_q^2 / [H^-1]_qq`` (a block S: ``w_S^T [H^-1]_SS^-1 w_S``), correct the rest of the row by the
OBS update and drop q from H^-1. The greedy order gives each row's error after k removals; the
rows of a layer share the layer's budget where it costs least (increments summed over rows,
weighted by the scale of a BatchNorm that follows). The kept weights are set to the exact
least-squares fit for the chosen mask, ``w_K = w*_K + H_KK^-1 H_KP w*_P`` (what the sequence of
OBS updates computes), and the bias (or the BatchNorm running mean) restores the dense output
mean. ``scope='global'`` shares the budget of all layers by each layer's error relative to its
output energy (planned on the dense model). ``scope='output'`` chooses each layer's sparsity (0, 5, ..., 95 %) as OBC does: each layer
is pruned alone at each level on the dense model, the mean squared error of the model's *output*
against the dense output is measured on the calibration data, and dynamic programming picks the
levels with the least summed error that remove at least the total.

Groups lie along slimgen's reduction order (``Layer.rows``), as for magnitude pruning, so masks
are exactly the runs the sparse kernels read. BatchNorm is kept, not folded: a conv's Hessian is
built from the conv's own inputs, and the BatchNorm that follows only rescales each output row.

Exact per-row OBC costs O(rows * d^3) for reduction length d; layers with d above ``max_exact``
(default 1024) use the SparseGPT approximation (Frantar & Alistarh 2023): one pass over the
columns in blocks of 128, the mask of each block chosen over all rows from ``w^2 / [H^-1]_qq``
(Cholesky form of H^-1), later columns corrected by the OBS update.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx

from ..errors import InputError
from .model import CONV, Layer, set_training, switch_kind
from .patterns import BLOCK, Pattern, pattern_of, uniform

ROW_CHUNK = 16  # rows whose H^-1 copies are updated together (memory: chunk * d^2 doubles)


@dataclass
class Stats:
    """What OBS did to one layer (for the report)."""

    name: str
    weights: int
    pruned: int
    rel_error: float  # OBS error / output energy on the calibration inputs (BN-scaled rows)
    method: str  # "obc" (exact, greedy per row) or "sparsegpt"


# -- calibration inputs and Hessians -----------------------------------------------------------

class _Stop(Exception):
    pass


class _Capture(fx.Interpreter):
    """Runs the model up to ``node`` and keeps its input (first argument)."""

    def __init__(self, gm: fx.GraphModule, node: fx.Node) -> None:
        super().__init__(gm)
        self.target_node = node
        self.got: torch.Tensor | None = None

    def run_node(self, n: fx.Node) -> Any:
        if n is self.target_node:
            self.got = self.env[n.args[0]]  # type: ignore[index]
            raise _Stop
        return super().run_node(n)


def _layer_input(gm: fx.GraphModule, lyr: Layer, x: torch.Tensor) -> torch.Tensor:
    node = next(n for n in gm.graph.nodes if n.name == lyr.node.name)  # also in a copy of gm
    cap = _Capture(gm, node)
    try:
        cap.run(x)
    except _Stop:
        pass
    assert cap.got is not None
    return cap.got


def _conv_geometry(lyr: Layer) -> tuple[Any, Any, Any, int]:
    a: list[Any] = list(lyr.node.args) + [None] * 7
    stride, padding, dilation = (a[3] or 1), (a[4] or 0), (a[5] or 1)
    groups = int(a[6] or 1)
    return stride, padding, dilation, groups


def _columns(lyr: Layer, x: torch.Tensor) -> torch.Tensor:
    """The layer's reduction vectors: (groups, samples, d) in torch's weight column order."""
    if lyr.node.target not in CONV:
        return x.reshape(1, -1, x.shape[-1])
    stride, padding, dilation, groups = _conv_geometry(lyr)
    kh, kw = lyr.weight.shape[2:]
    u = F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)  # (N, C*k, L)
    n, ck, ll = u.shape
    return u.reshape(n, groups, ck // groups, ll).permute(1, 0, 3, 2).reshape(groups, n * ll, -1)


def _slim_order(lyr: Layer) -> torch.Tensor:
    """Column permutation torch order -> slimgen's reduction order (what ``Layer.rows`` does)."""
    w = lyr.weight
    if w.dim() == 4:
        c, kh, kw = w.shape[1:]
        return torch.arange(c * kh * kw).reshape(c, kh, kw).permute(1, 2, 0).reshape(-1)
    return lyr.perm if lyr.perm is not None else torch.arange(w.shape[1])


@dataclass
class Moments:
    """Second moments of a layer's inputs per group, float64, in slimgen's column order:
    ``h`` of the inputs in the model being pruned, ``c`` between those and the dense model's
    inputs (the target), both centred when the layer has a bias to absorb the mean."""

    h: torch.Tensor  # (groups, d, d)
    c: torch.Tensor  # (groups, d, d)
    mu_p: torch.Tensor  # (groups, d) mean input (zeros when not centred)
    mu_d: torch.Tensor


@torch.no_grad()
def moments(gm: fx.GraphModule, dense: fx.GraphModule | None, lyr: Layer,
            batches: Sequence[torch.Tensor], centred: bool) -> Moments:
    """``dense`` None: the layer's inputs are the dense ones (nothing before it is pruned)."""
    sums: list[torch.Tensor] = []  # X X^T, X X_d^T, sum X, sum X_d
    count = 0
    for x in batches:
        xp = _columns(lyr, _layer_input(gm, lyr, x)).double()
        xd = xp if dense is None else _columns(lyr, _layer_input(dense, lyr, x)).double()
        parts = [xp.transpose(1, 2) @ xp, xp.transpose(1, 2) @ xd, xp.sum(1), xd.sum(1)]
        sums = [u + v for u, v in zip(sums, parts)] if sums else parts
        count += xp.shape[1]
    spp, spd, sp, sd = sums
    p = _slim_order(lyr)
    n = max(1, count)
    mp, md = sp[:, p] / n, sd[:, p] / n
    h, c = spp[:, p][:, :, p] / n, spd[:, p][:, :, p] / n
    if not centred:
        return Moments(h, c, torch.zeros_like(mp), torch.zeros_like(md))
    return Moments(h - mp[:, :, None] * mp[:, None, :], c - mp[:, :, None] * md[:, None, :],
                   mp, md)


def _row_hessian_index(lyr: Layer, groups: int) -> torch.Tensor:
    out = lyr.weight.shape[0]
    return torch.arange(out) // (out // groups)


def bn_after(gm: fx.GraphModule, lyr: Layer) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A BatchNorm applied right after the layer: |gamma| / sqrt(var + eps) per output (ones
    without one) and its running mean (which absorbs a bias change of a layer without bias)."""
    out = torch.ones(lyr.weight.shape[0], dtype=torch.float64)
    users = list(lyr.node.users)
    if len(users) != 1:
        return out, None
    n = users[0]
    kind = switch_kind(gm, n)
    if kind not in ("batch_norm", "native_bn") or n.args[0] is not lyr.node:
        return out, None

    def val(a: Any) -> Any:
        if isinstance(a, fx.Node) and a.op == "get_attr":
            obj: Any = gm
            for part in str(a.target).split("."):
                obj = getattr(obj, part)
            return obj
        return a

    gamma, mean, var = val(n.args[1]), val(n.args[3]), val(n.args[4])
    eps: Any = n.args[7] if kind == "batch_norm" else n.args[6]
    if not isinstance(var, torch.Tensor) or not isinstance(mean, torch.Tensor):
        return out, None
    s = 1.0 / torch.sqrt(var.detach().double() + float(eps))
    if isinstance(gamma, torch.Tensor):
        s = s * gamma.detach().double().abs()
    return s.cpu(), mean


# -- the greedy OBS trace of each row -----------------------------------------------------------

def _group_of(pattern: Pattern) -> int:
    return BLOCK[1] if pattern.kind == "block" else 1


def _trace_chunk(w: torch.Tensor, hinv: torch.Tensor, size: int, steps: int,
                 nm: tuple[int, int] | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy OBS on rows ``w`` (R, d) with their own H^-1 (R, d, d); groups of ``size``
    consecutive columns are removed together. Returns (order (R, steps) of removed groups,
    error increments (R, steps))."""
    r, d = w.shape
    g = d // size
    w, hinv = w.clone(), hinv.clone()
    removed = torch.zeros(r, g, dtype=torch.bool)
    order = torch.zeros(r, steps, dtype=torch.long)
    inc = torch.zeros(r, steps, dtype=torch.float64)
    rows = torch.arange(r)
    eye = torch.eye(size, dtype=w.dtype)
    cap = None
    if nm is not None:
        n, m = nm
        cap, per_group = m - n, m
        gcount = torch.zeros(r, d // per_group, dtype=torch.long)
    for step in range(steps):
        if size == 1:
            diag = torch.diagonal(hinv, dim1=1, dim2=2).clamp_min(1e-30)
            score = w * w / diag
        else:
            blk = hinv.reshape(r, g, size, g, size).diagonal(dim1=1, dim2=3).permute(0, 3, 1, 2)
            blk = blk + removed[..., None, None] * eye  # removed blocks are zero: keep invertible
            wb = w.reshape(r, g, size, 1)
            score = (wb.transpose(2, 3) @ torch.linalg.solve(blk, wb)).reshape(r, g)
        score = score.masked_fill(removed, float("inf"))
        if cap is not None:
            full = (gcount >= cap).repeat_interleave(per_group, dim=1)
            score = score.masked_fill(full, float("inf"))
        q = score.argmin(1)
        inc[:, step] = score[rows, q]
        order[:, step] = q
        removed[rows, q] = True
        if cap is not None:
            gcount[rows, q // per_group] += 1
        cols = q[:, None] * size + torch.arange(size)  # (R, size)
        hq = torch.gather(hinv, 1, cols[:, :, None].expand(r, size, d))  # rows S of H^-1: (R,S,d)
        hss = torch.gather(hq, 2, cols[:, None, :].expand(r, size, size))  # (R, S, S)
        a = torch.linalg.inv(hss)
        ws = torch.gather(w, 1, cols)[:, None, :]  # (R, 1, S)
        w = w - ((ws @ a) @ hq).squeeze(1)
        w.scatter_(1, cols, 0.0)
        hinv = hinv - hq.transpose(1, 2) @ a @ hq
    return order, inc


def _budget_per_row(inc: torch.Tensor, total: int) -> torch.Tensor:
    """Removals per row that sum to ``total`` with the least summed error (increments made
    non-decreasing along each row so that the cheapest ``total`` are a prefix of every row)."""
    env = torch.cummax(inc, dim=1).values
    keep = torch.zeros(env.numel(), dtype=torch.bool)
    keep[torch.argsort(env.reshape(-1), stable=True)[:total]] = True
    return keep.reshape(env.shape).sum(1)


# -- one layer -----------------------------------------------------------------------------------

@dataclass
class _Plan:
    """A layer's greedy traces: what removing k groups of each row costs."""

    order: torch.Tensor  # (rows, steps) group indices in removal order
    inc: torch.Tensor  # (rows, steps) error increments (BN-scaled)
    energy: float  # summed squared (centred) output of the layer on the calibration data
    groups: int  # groups per row


def _lam(h: torch.Tensor, damp: float) -> torch.Tensor:
    lam = damp * torch.diagonal(h, dim1=-2, dim2=-1).mean(-1)
    return torch.where(lam > 0, lam, torch.ones_like(lam))  # all inputs zero: any H > 0 will do


def _damped(h: torch.Tensor, damp: float) -> torch.Tensor:
    return h + _lam(h, damp)[:, None, None] * torch.eye(h.shape[-1], dtype=h.dtype)


def target_rows(w: torch.Tensor, m: Moments, hidx: torch.Tensor, damp: float) -> torch.Tensor:
    """The unpruned rows that best reproduce the dense layer's output from the inputs the layer
    now gets: ``(H + lam I)^-1 (C w + lam w)`` (= w when nothing upstream changed). Pruning
    then minimises ``(w' - w*)^T H (w' - w*)``, which differs from the true error by a constant."""
    lam = _lam(m.h, damp)
    out = torch.empty_like(w)
    for g in range(m.h.shape[0]):
        rows = hidx == g
        rhs = w[rows] @ m.c[g].T + lam[g] * w[rows]
        out[rows] = torch.linalg.solve(_damped(m.h[g:g + 1], damp)[0], rhs.T).T
    return out


def plan_layer(w: torch.Tensor, h: torch.Tensor, hidx: torch.Tensor, pattern: Pattern,
               damp: float, scale: torch.Tensor) -> _Plan:
    """Greedy OBS trace of every row of ``w`` (R, d) to full removal (N:M: to its fixed count);
    row r uses the Hessian ``h[hidx[r]]``."""
    hinv_g = torch.cholesky_inverse(torch.linalg.cholesky(_damped(h, damp)))
    size = _group_of(pattern)
    g = w.shape[1] // size
    nm = (pattern.n, pattern.m) if pattern.kind == "n:m" else None
    steps = g * (pattern.m - pattern.n) // pattern.m if nm else g
    orders, incs = [], []
    for i in range(0, w.shape[0], ROW_CHUNK):
        sl = slice(i, i + ROW_CHUNK)
        o, c = _trace_chunk(w[sl], hinv_g[hidx[sl]], size, steps, nm)
        orders.append(o)
        incs.append(c)
    s2 = (scale * scale)[:, None]
    inc = torch.cat(incs) * s2
    return _Plan(torch.cat(orders), inc, float((s2[:, 0] * _quad(w, h, hidx)).sum()), g)


def reconstruct(w: torch.Tensor, hd: torch.Tensor, hidx: torch.Tensor,
                keep: torch.Tensor) -> torch.Tensor:
    """Per row, the kept weights that best reproduce the dense row's output on the data:
    ``w_K + H_KK^-1 H_KP w_P`` (H damped); pruned weights are zero."""
    out = torch.zeros_like(w)
    for r in range(w.shape[0]):
        k, p = keep[r], ~keep[r]
        if not k.any():
            continue
        hr = hd[hidx[r]]
        hkk = hr[k][:, k]
        hkp = hr[k][:, p]
        out[r, k] = w[r, k] + torch.linalg.solve(hkk, hkp @ w[r, p])
    return out


def _quad(w: torch.Tensor, h: torch.Tensor, hidx: torch.Tensor) -> torch.Tensor:
    """w_r^T H_r w_r per row (one shared H without copying it per row)."""
    if h.shape[0] == 1:
        return torch.einsum("ri,ij,rj->r", w, h[0], w)
    return torch.einsum("ri,rij,rj->r", w, h[hidx], w)


def _mask_from(plan: _Plan, counts: torch.Tensor, size: int, d: int) -> torch.Tensor:
    keep = torch.ones(plan.order.shape[0], plan.groups, dtype=torch.bool)
    for r, k in enumerate(counts.tolist()):
        keep[r, plan.order[r, :k]] = False
    return keep.repeat_interleave(size, dim=1)[:, :d]


def _rel_error(w: torch.Tensor, new: torch.Tensor, h: torch.Tensor, hidx: torch.Tensor,
               scale: torch.Tensor) -> float:
    num = (scale ** 2 * _quad(new - w, h, hidx)).sum()
    den = (scale ** 2 * _quad(w, h, hidx)).sum()
    return float(num / den) if den > 0 else 0.0


# -- SparseGPT for long reduction axes ----------------------------------------------------------

def sparsegpt_layer(w: torch.Tensor, hd: torch.Tensor, pattern: Pattern, sparsity: float,
                    blocksize: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """One column pass with a shared H (groups == 1): returns (new rows, keep mask)."""
    w = w.clone()
    r, d = w.shape
    hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(hd)), upper=True)
    keep = torch.ones(r, d, dtype=torch.bool)
    size = _group_of(pattern)
    for i in range(0, d, blocksize):
        j = min(i + blocksize, d)
        w1, hi = w[:, i:j].clone(), hinv[i:j, i:j]
        err = torch.zeros_like(w1)
        dg = torch.diagonal(hi)
        if pattern.kind == "n:m":  # chosen per group when the pass reaches it (see below)
            k1 = torch.ones_like(w1, dtype=torch.bool)
        else:  # this block's share of the layer's exact total, over all rows (as SparseGPT)
            sc = (w1 * w1 / dg ** 2).reshape(r, -1, size).sum(2)
            total = sparsity * r * (d // size)
            drop = round(total * j / d) - round(total * i / d)
            k1 = torch.ones(sc.numel(), dtype=torch.bool)
            k1[torch.argsort(sc.reshape(-1), stable=True)[:drop]] = False
            k1 = k1.reshape(sc.shape).repeat_interleave(size, dim=1)
        for c in range(j - i):
            if pattern.kind == "n:m" and c % pattern.m == 0:  # from the updated weights
                g = slice(c, c + pattern.m)
                sc = w1[:, g] ** 2 / dg[g] ** 2
                idx = torch.argsort(sc, dim=1, stable=True)[:, : pattern.m - pattern.n]
                k1[:, g] = torch.ones_like(sc, dtype=torch.bool).scatter_(1, idx, False)
            q = torch.where(k1[:, c], w1[:, c], torch.zeros_like(w1[:, c]))
            e = (w1[:, c] - q) / hi[c, c]
            w1[:, c:] -= e[:, None] * hi[c, c:][None, :]
            w1[:, c] = q
            err[:, c] = e
        w[:, i:j] = w1
        w[:, j:] -= err @ hinv[i:j, j:]
        keep[:, i:j] = k1
    return w * keep, keep


# -- the whole model -----------------------------------------------------------------------------

def _targets(layers: Sequence[Layer], patterns: Sequence[Pattern], sparsity: float) -> list[int]:
    out = []
    for lyr, pattern in zip(layers, patterns):
        groups = lyr.rows().numel() // _group_of(pattern)
        out.append(round(sparsity * groups))
    return out


LEVELS = tuple(i / 20 for i in range(20))  # per-layer sparsities the global allocation weighs
SENSITIVITY_SAMPLES = 256  # calibration samples whose model outputs score each level


def _global_budget(plans: Sequence[_Plan], sparsity: float) -> list[int]:
    """Groups removed per layer: the cheapest removals over all layers, each layer's increments
    relative to its output energy (so layers of different scale compare)."""
    envs = [torch.cummax(p.inc, dim=1).values / max(p.energy, 1e-30) for p in plans]
    flat = torch.cat([e.reshape(-1) for e in envs])
    total = round(sparsity * sum(p.order.shape[0] * p.groups for p in plans))
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    keep[torch.argsort(flat, stable=True)[:total]] = True
    out, at = [], 0
    for e in envs:
        out.append(int(keep[at:at + e.numel()].sum()))
        at += e.numel()
    return out


def _outputs(gm: fx.GraphModule, batches: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    outs = []
    for x in batches:
        y = gm(x)
        outs.append((y[0] if isinstance(y, (tuple, list)) else y).detach())
    return outs


def _sensitivity(gm: fx.GraphModule, lyr: Layer, plan: _Plan, m: Moments, hidx: torch.Tensor,
                 damp: float, pattern: Pattern, bn_mean: torch.Tensor | None,
                 batches: Sequence[torch.Tensor], ref: Sequence[torch.Tensor]
                 ) -> list[tuple[int, float]]:
    """(groups removed, mean squared error of the model's output against the dense model's) at
    each of LEVELS, with only this layer pruned (OBS-reconstructed)."""
    w = lyr.rows().double().cpu()
    hd = _damped(m.h, damp)
    saved = [t.detach().clone() for t in (lyr.weight, lyr.bias, bn_mean) if t is not None]
    size = _group_of(pattern)
    out = []
    for level in LEVELS:
        removed = round(level * plan.order.shape[0] * plan.groups)
        keep = _mask_from(plan, _budget_per_row(plan.inc, removed), size, w.shape[1])
        _install(lyr, bn_mean, w, reconstruct(w, hd, hidx, keep), m, hidx)
        err = sum(float(((y - r) ** 2).sum()) for y, r in zip(_outputs(gm, batches), ref))
        out.append((removed, err / max(1, sum(r.numel() for r in ref))))
        for t, v in zip([t for t in (lyr.weight, lyr.bias, bn_mean) if t is not None], saved):
            t.copy_(v)
    return out


def _allocate(options: Sequence[Sequence[tuple[int, float]]], need: int) -> list[int]:
    """One (removed, cost) option per layer: the least summed cost that removes >= ``need``
    (dynamic programming over the removal budget in units, rounded so the total never falls
    short)."""
    unit = max(1, need // 1000)
    cap = -(-need // unit)
    inf = float("inf")
    best = [0.0] + [inf] * cap  # best[b]: least cost with floor(removed / unit) >= b (capped)
    back: list[list[tuple[int, int]]] = []
    for opts in options:
        nxt, arg = [inf] * (cap + 1), [(-1, -1)] * (cap + 1)
        for i, (r, c) in enumerate(opts):
            for b in range(cap + 1):
                if best[b] == inf:
                    continue
                t = min(cap, b + r // unit)
                if best[b] + c < nxt[t]:
                    nxt[t], arg[t] = best[b] + c, (i, b)
        best = nxt
        back.append(arg)
    if best[cap] == inf:
        raise ValueError("the sparsity cannot be reached at the allowed per-layer levels")
    picks, b = [], cap
    for layer in range(len(options) - 1, -1, -1):
        i, b = back[layer][b]
        picks.append(options[layer][i][0])
    return picks[::-1]


def calibration_batches(train: Iterable[Any], samples: int) -> list[torch.Tensor]:
    got, n = [], 0
    for x, _ in train:
        x = torch.as_tensor(x, dtype=torch.float32)
        got.append(x[: samples - n])
        n += len(got[-1])
        if n >= samples:
            break
    if not got:
        raise InputError("OBS pruning needs calibration samples but the training data yields "
                         "none.", "Pass training data with at least one batch.")
    return got


@torch.no_grad()
def _install(lyr: Layer, bn_mean: torch.Tensor | None, w: torch.Tensor, new: torch.Tensor,
             m: Moments, hidx: torch.Tensor) -> None:
    """Write the pruned rows; the bias (or BN mean) restores the dense layer's output mean."""
    if _centred(lyr, bn_mean):
        delta = (w * m.mu_d[hidx]).sum(1) - (new * m.mu_p[hidx]).sum(1)
        _set_bias(lyr, bn_mean, delta)
    lyr.weight.copy_(lyr.from_rows(new.to(lyr.weight.dtype)).to(lyr.weight.device))


def _centred(lyr: Layer, bn_mean: torch.Tensor | None) -> bool:
    """A layer with a bias (or a BatchNorm after it) can absorb a change of its output mean."""
    return lyr.bias is not None or bn_mean is not None


@torch.no_grad()
def _set_bias(lyr: Layer, bn_mean: torch.Tensor | None, delta: torch.Tensor) -> None:
    if lyr.bias is not None:
        lyr.bias.add_(delta.to(lyr.bias))
    elif bn_mean is not None:  # BN(y + delta) with running mean m == BN(y) with m - delta
        bn_mean.sub_(delta.to(bn_mean))


@torch.no_grad()
def prune(gm: fx.GraphModule, layers: Sequence[Layer], pattern: Pattern | Mapping[str, Pattern],
          sparsity: float, batches: Sequence[torch.Tensor], scope: str = "layer",
          damp: float = 0.01, max_exact: int = 1024
          ) -> tuple[dict[str, torch.Tensor], list[Stats]]:
    """Prune ``layers`` of ``gm`` in place; returns their masks (shaped like each weight, 1 =
    keep) and per-layer statistics. ``sparsity`` is per layer (``scope='layer'``) or over all
    ``layers`` together (``'global'``, ``'output'``); ignored for N:M, whose pattern fixes it.
    ``pattern`` is one for all layers or one per layer name; the global scopes share one budget
    counted in groups, so they need one pattern for all layers.

    Each layer is fitted to the *dense* model's output of that layer, from the inputs that the
    already-pruned layers before it now produce; its bias (or the running mean of the BatchNorm
    after it) takes the change of the output mean."""
    pats = [pattern_of(pattern, lyr.name) for lyr in layers]
    if any(p.kind == "channel" for p in pats) or damp <= 0:
        raise ValueError("OBS prunes weights, 1x4 blocks or N:M groups with a positive damping")
    one = uniform(pattern, [lyr.name for lyr in layers])
    if scope != "layer" and one is None:
        raise ValueError("--scope global/output shares one budget of groups: one pattern only")
    set_training(gm, False)
    dense = copy.deepcopy(gm)
    batches = [b.to(next(gm.parameters()).device) for b in batches]
    exact = [lyr.rows().shape[1] <= max_exact for lyr in layers]
    if scope in ("global", "output") and one is not None and one.kind != "n:m":
        pattern = one
        if not all(exact):
            raise InputError(f"--scope {scope} with --prune-method obs needs every layer's "
                             f"reduction length <= {max_exact} (exact OBS traces).",
                             "Use --scope layer.")
        few, n = [], 0
        for x in batches:
            if n < SENSITIVITY_SAMPLES:
                few.append(x[: SENSITIVITY_SAMPLES - n])
                n += len(few[-1])
        ref = _outputs(gm, few)
        plans, options = [], []
        for lyr in layers:  # each layer alone, on the dense model's inputs
            scale, bn_mean = bn_after(gm, lyr)
            m = moments(gm, None, lyr, batches, _centred(lyr, bn_mean))
            hidx = _row_hessian_index(lyr, m.h.shape[0])
            plans.append(plan_layer(lyr.rows().double().cpu(), m.h, hidx, pattern, damp, scale))
            if scope == "output":
                options.append(_sensitivity(gm, lyr, plans[-1], m, hidx, damp, pattern,
                                            bn_mean, few, ref))
        if scope == "global":
            budget = _global_budget(plans, sparsity)
        else:
            size = _group_of(pattern)
            need = round(sparsity * sum(lyr.weight.numel() // size for lyr in layers))
            budget = _allocate(options, need)
    else:
        budget = _targets(layers, pats, sparsity)
    masks, stats = {}, []
    for lyr, pattern, total, ex in zip(layers, pats, budget, exact):  # earlier layers are pruned
        size = _group_of(pattern)
        scale, bn_mean = bn_after(gm, lyr)
        m = moments(gm, dense, lyr, batches, _centred(lyr, bn_mean))
        w = lyr.rows().double().cpu()
        hidx = _row_hessian_index(lyr, m.h.shape[0])
        wt = target_rows(w, m, hidx, damp)
        hd = _damped(m.h, damp)
        if ex:
            plan = plan_layer(wt, m.h, hidx, pattern, damp, scale)
            if pattern.kind == "n:m":
                counts = torch.full((w.shape[0],), plan.order.shape[1], dtype=torch.long)
            else:
                counts = _budget_per_row(plan.inc, total)
            keep = _mask_from(plan, counts, size, w.shape[1])
            new = reconstruct(wt, hd, hidx, keep)
        else:
            if m.h.shape[0] != 1:
                raise InputError(f"layer {lyr.name} is a grouped conv with a reduction length "
                                 f"above {max_exact}; OBS has no approximate path for it.",
                                 f"Leave it dense with --exclude {lyr.name}.")
            new, keep = sparsegpt_layer(wt, hd[0], pattern, total / max(1, w.numel() // size))
        _install(lyr, bn_mean, w, new, m, hidx)
        masks[lyr.name] = lyr.from_rows(keep.float()).to(lyr.weight.device)
        stats.append(Stats(lyr.name, w.numel(), int((~keep).sum()),
                           _rel_error(wt, new, m.h, hidx, scale), "obc" if ex else "sparsegpt"))
    return masks, stats
