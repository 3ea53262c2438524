"""Weight sharing on slimgen's int8 grid (Deep Compression, Han et al. 2016), for the ``shared``
sparse format (one byte per entry: a column delta and a 4-bit code into a per-layer codebook).

``slimgen compress --share-weights K`` leaves every shared layer with at most K - 1 distinct
non-zero int8 weights after ``slimgen build``'s quantization (symmetric per output channel,
scale = max|w| / 127). Sharing must happen on that grid, not on the float weights: a row's int8
values are ``round(127 * w / max|w_row|)``, so the layer's weights are parametrized as

    w[c, i] = s_c * L[code[c, i]]          (L[0] = 0: pruned weights stay pruned)

with one codebook ``L`` of int8 levels per layer and one positive scale ``s_c`` per output
channel. Every row keeps its largest weight on the level +127 or -127 (fixed codebook entries),
so its quantization scale is exactly ``s_c`` and its int8 weights are exactly ``L[code]``.

1. Codebook: 1-D k-means of ``u = 127 * w / max|w_row|`` over the layer's non-zero weights,
   with the levels +-127 (those the row maxima need) fixed and the others initialised linearly
   between the extremes (Han et al.'s best initialisation); ``code`` is the nearest level.
2. Fine-tuning (``--share-epochs``): the levels and the (log) scales are the trainable
   parameters; the gradient of a level is the sum of its members' gradients (times their row
   scale), as in Han et al., and the levels are rounded to integers in the forward pass
   (straight-through), so training sees the int8 values the kernel will multiply.
3. The layer's weight is replaced by ``s_c * round(L)[code]``. A BatchNorm that slimgen folds
   into the layer multiplies rows by ``gamma / sqrt(var + eps)``: a negative factor negates the
   row's int8 values, so those rows are clustered negated.

Depthwise layers (no sparse kernel) and ``--exclude``d layers keep their weights.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx, nn
from torch.nn.utils import parametrize

from ..errors import InputError
from .model import Layer, switch_kind

MAX_SHARED = 16  # the shared format's 4-bit codes: 15 non-zero values and 0
KMEANS_ITERS = 40


def check_share(k: int) -> None:
    if not 3 <= k <= MAX_SHARED:
        raise InputError(
            f"--share-weights {k}: the number of shared values (zero included) must be in "
            f"3..{MAX_SHARED}: the shared sparse format holds {MAX_SHARED - 1} non-zero values "
            "per layer, and a layer needs at least +127 and -127 for its row maxima.",
            "Pass e.g. --share-weights 16.")


def _fold_sign(gm: fx.GraphModule, lyr: Layer) -> torch.Tensor | None:
    """Per output channel, the sign of the BatchNorm scale slimgen folds into the layer."""
    users = list(lyr.node.users)
    if len(users) != 1 or switch_kind(gm, users[0]) not in ("batch_norm", "native_bn"):
        return None
    gamma = users[0].args[1]
    if not isinstance(gamma, fx.Node) or gamma.op != "get_attr":
        return None
    obj: Any = gm
    for part in str(gamma.target).split("."):
        obj = getattr(obj, part)
    g = obj.detach().reshape(-1)
    return torch.where(g < 0, -torch.ones_like(g), torch.ones_like(g))


def kmeans_levels(u: np.ndarray, k_free: int, fixed: list[float]) -> np.ndarray:
    """1-D k-means of ``u`` with the ``fixed`` centroids held; returns all centroids, sorted."""
    lo, hi = (float(u.min()), float(u.max())) if u.size else (-127.0, 127.0)
    free = np.linspace(lo, hi, k_free + 2)[1:-1] if k_free else np.zeros(0)
    for _ in range(KMEANS_ITERS):
        cents = np.concatenate([np.asarray(fixed, np.float64), free])
        assign = np.abs(u[:, None] - cents[None, :]).argmin(1)
        new = free.copy()
        for j in range(free.size):
            members = u[assign == len(fixed) + j]
            if members.size:
                new[j] = members.mean()
        if np.allclose(new, free):
            break
        free = new
    return np.sort(np.concatenate([np.asarray(fixed, np.float64), free]))


class SharedWeight(nn.Module):
    """The parametrization ``w = s_c * round(L)[code]`` of one layer's weight (see above)."""

    def __init__(self, shape: torch.Size, codes: torch.Tensor, fixed: torch.Tensor,
                 free: torch.Tensor, scale: torch.Tensor, sign: torch.Tensor) -> None:
        super().__init__()
        self.shape = shape
        self.register_buffer("codes", codes)  # [rows, cols] long: 0 zero, 1.. fixed, free
        self.register_buffer("fixed", fixed)  # the levels +-127 the row maxima use
        self.register_buffer("sign", sign)  # [rows] the folded BatchNorm's sign, or 1
        # In units of 127: Adam's steps (about lr each) then move a level by lr * 127.
        self.free = nn.Parameter(free / 127.0)
        self.log_scale = nn.Parameter(torch.log(scale))

    def levels(self) -> torch.Tensor:
        free = (127.0 * self.free).clamp(-127.0, 127.0)
        # Straight-through rounding to int8 levels, never to 0 (that would prune the members).
        r = torch.round(free)
        r = torch.where(r == 0, torch.where(free < 0, -1.0, 1.0).to(r.dtype), r)
        free = free + (r - free).detach()
        return torch.cat([torch.zeros(1, dtype=free.dtype, device=free.device), self.fixed, free])

    def forward(self, original: torch.Tensor) -> torch.Tensor:
        rows = self.levels()[self.codes] * (self.sign * torch.exp(self.log_scale))[:, None]
        if len(self.shape) == 4:  # codes are in slimgen's (OHWI) row order
            o, i, kh, kw = self.shape
            return rows.reshape(o, kh, kw, i).permute(0, 3, 1, 2).contiguous()
        return rows.reshape(self.shape)


@dataclass
class SharedLayer:
    layer: Layer
    module: nn.Module
    param: SharedWeight


def _rows(w: torch.Tensor) -> torch.Tensor:
    return (w.permute(0, 2, 3, 1) if w.dim() == 4 else w).reshape(w.shape[0], -1)


def share_layer(gm: fx.GraphModule, lyr: Layer, k: int) -> SharedLayer:
    """Cluster ``lyr`` into ``k - 1`` int8 levels and parametrize its weight (in place)."""
    w = lyr.weight.detach()
    rows = _rows(w).double()
    sign = _fold_sign(gm, lyr)
    sign = torch.ones(rows.shape[0], dtype=torch.float64) if sign is None else sign.double()
    amax = rows.abs().amax(1)
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    u = rows / scale[:, None] * sign[:, None]  # the int8 values of the folded layer, unrounded
    nz = rows != 0
    # The row maxima sit on +-127 exactly: those levels are fixed.
    arg = rows.abs().argmax(1)
    top = u[torch.arange(rows.shape[0]), arg][amax > 0]
    fixed = sorted({127.0 * float(torch.sign(t)) for t in top}) or [127.0]
    levels = kmeans_levels(u[nz].numpy(), k - 1 - len(fixed), fixed)
    codes = torch.zeros(rows.shape, dtype=torch.long)
    codes[nz] = torch.from_numpy(np.abs(u[nz].numpy()[:, None] - levels[None, :]).argmin(1)) + 1
    # Order the parameters as levels(): zero, the fixed ones, then the free ones.
    is_fixed = np.isin(levels, fixed)
    order = np.concatenate([[0], 1 + np.flatnonzero(is_fixed), 1 + np.flatnonzero(~is_fixed)])
    codes = torch.from_numpy(np.argsort(order))[codes]
    dtype = w.dtype
    param = SharedWeight(w.shape, codes.to(w.device),
                         torch.tensor(levels[is_fixed], dtype=dtype, device=w.device),
                         torch.tensor(levels[~is_fixed], dtype=dtype, device=w.device),
                         scale.to(dtype).to(w.device), sign.to(dtype).to(w.device))
    owner = gm.get_submodule(lyr.name)
    parametrize.register_parametrization(owner, "weight", param, unsafe=True)
    owner.parametrizations.weight.original.requires_grad_(False)
    return SharedLayer(lyr, owner, param)


def shareable(layers: list[Layer], exclude: list[str]) -> list[Layer]:
    return [lyr for lyr in layers if not lyr.depthwise
            and not any(fnmatch.fnmatchcase(lyr.name, p) for p in exclude)]


def start(gm: fx.GraphModule, layers: list[Layer], k: int) -> list[SharedLayer]:
    check_share(k)
    return [share_layer(gm, lyr, k) for lyr in layers]


def finish(shared: list[SharedLayer]) -> list[dict[str, Any]]:
    """Bake ``s_c * round(L)[code]`` into each weight; returns the codebooks."""
    out = []
    for s in shared:
        with torch.no_grad():
            levels = s.param.levels()
        parametrize.remove_parametrizations(s.module, "weight", leave_parametrized=True)
        used = torch.unique(s.param.codes)
        vals = sorted({int(v) for v in levels[used].round().tolist() if v != 0})
        out.append({"name": s.layer.name, "levels": vals})
    return out


def int8_values(gm: fx.GraphModule, data: Any,
                ranges: dict[str, tuple[float, float]] | None) -> dict[str, int]:
    """Distinct non-zero int8 weights of each fc / conv layer of the model ``slimgen build``
    makes (its own import, folding and quantization): what the shared format will hold."""
    from ..api import BuildOptions, compile_graph, to_ir_layout
    from .run import _ir

    _, g = _ir(gm, data.example)
    qg = compile_graph(g, to_ir_layout(data.calib, g), BuildOptions(), ranges=ranges).quant_graph
    return {n.name: int(np.unique(n.inputs[1].data[n.inputs[1].data != 0]).size)
            for n in qg.nodes if n.op in ("fc", "conv2d")}


def share_run(gm: fx.GraphModule, data: Any, o: Any, teachers: Any, progress: Any
              ) -> tuple[fx.GraphModule, list[dict[str, Any]]]:
    """Cluster, fine-tune the shared values for ``o.share_epochs``, bake them in."""
    import copy

    from .model import prunable_layers
    from .train import fit

    gm = copy.deepcopy(gm)
    layers = shareable(prunable_layers(gm, data.example.to(o.device)), o.exclude)
    shared = start(gm, layers, o.share_weights)
    if o.share_epochs > 0:
        fit(gm, data.train, o.share_epochs, loss=o.loss, lr=o.lr, device=o.device,
            teachers=teachers, alpha=o.alpha, temperature=o.temperature, progress=progress,
            name=f"share {o.share_weights}", seed=o.seed, freeze_bn=True)
    return gm, finish(shared)
