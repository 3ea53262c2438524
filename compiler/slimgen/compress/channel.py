"""Structured channel pruning on the aten-level working graph: remove whole output channels.

Channels are tracked as *channel spaces*: the output channels of a conv/linear, carried unchanged
through BatchNorm, activations, pooling, dropout, depthwise convs and flatten, and merged by a
residual add (both inputs of an add must keep the same channels). Removing channel c of a space
slices every member at once: producer filters and biases, BatchNorm vectors, depthwise filters,
and the matching input columns of every consumer conv/linear. A space that reaches the model
output, the input, or an op this module does not understand is frozen (never pruned), so the
transformation is exact by construction: ``mask_channels`` zeroes the channels in place (the
"masked original"), ``shrink`` deletes them, and both compute the same function.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from ..errors import InputError
from .model import CONV, LINEAR, RESHAPE, shapes, switch_kind

aten = torch.ops.aten
_PASS = {aten.relu.default, aten.relu_.default, aten.relu6.default, aten.max_pool2d.default,
         aten.avg_pool2d.default, aten.adaptive_avg_pool2d.default, aten.dropout.default,
         aten.clone.default, aten.contiguous.default, aten.alias.default, aten.detach.default}
_FLATTEN = {aten.flatten.using_ints, *RESHAPE}


@dataclass
class Space:
    """One set of channels that must be kept or removed together."""

    id: int
    channels: int
    frozen: str = ""  # why it cannot be pruned ("" = prunable)
    producers: list[fx.Node] = field(default_factory=list)  # conv/linear writing these channels
    bns: list[fx.Node] = field(default_factory=list)
    depthwise: list[fx.Node] = field(default_factory=list)
    consumers: list[tuple[fx.Node, int]] = field(default_factory=list)  # (conv/linear, H*W)

    @property
    def names(self) -> list[str]:
        return [str(p.args[1].target).removesuffix(".weight") for p in self.producers]


class _UF:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        while self.parent.setdefault(a, a) != a:
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
        return ra


def _get(gm: fx.GraphModule, node: Any) -> torch.Tensor | None:
    if getattr(node, "op", None) != "get_attr":
        return None
    return _attr(gm, str(node.target))


def _attr(gm: fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _set(gm: fx.GraphModule, node: Any, value: torch.Tensor) -> None:
    if getattr(node, "op", None) != "get_attr":
        return
    owner_path, _, leaf = str(node.target).rpartition(".")
    owner = gm.get_submodule(owner_path) if owner_path else gm
    old = getattr(owner, leaf)
    if isinstance(old, nn.Parameter):
        setattr(owner, leaf, nn.Parameter(value.detach().clone(), old.requires_grad))
    else:
        setattr(owner, leaf, value.detach().clone())




def find_spaces(gm: fx.GraphModule, example: torch.Tensor) -> list[Space]:
    """Channel spaces of the working graph, frozen ones included (with the reason)."""
    shp = shapes(gm, example)
    uf = _UF()
    spaces: dict[int, Space] = {}
    of: dict[str, int] = {}  # node name -> space id of the channels it carries (axis 1)
    flat: dict[str, tuple[int, int]] = {}  # flatten node -> (space, H*W)

    def new(ch: int, frozen: str = "") -> int:
        sid = len(spaces)
        spaces[sid] = Space(sid, ch, frozen)
        return sid

    def freeze(sid: int, why: str) -> None:
        s = spaces[uf.find(sid)]
        s.frozen = s.frozen or why

    def sp(node: Any) -> int | None:
        if isinstance(node, fx.Node) and node.name in of:
            return uf.find(of[node.name])
        return None

    for n in gm.graph.nodes:
        if n.op == "placeholder":
            if n.name in shp and len(shp[n.name]) >= 2:
                of[n.name] = new(shp[n.name][1], "model input")
            continue
        if n.op == "get_attr":
            continue
        if n.op == "output":
            for a in _flat_args(n.args):
                s = sp(a)
                if s is not None:
                    freeze(s, "reaches the model output")
                if isinstance(a, fx.Node) and a.name in flat:
                    freeze(flat[a.name][0], "reaches the model output")
            continue
        x = n.args[0] if n.args else None
        xs = sp(x)
        t = n.target
        if n.op == "call_function" and t in CONV + LINEAR:
            groups = n.args[6] if t in CONV and len(n.args) > 6 else 1
            cout = int(_attr(gm, str(n.args[1].target)).shape[0])
            if t in CONV and groups > 1:
                cin = shp[x.name][1] if isinstance(x, fx.Node) and x.name in shp else -1
                if xs is not None and groups == cin == cout:
                    spaces[xs].depthwise.append(n)
                    of[n.name] = xs
                else:
                    if xs is not None:
                        freeze(xs, f"feeds grouped conv {n.name}")
                    of[n.name] = new(cout, f"grouped conv {n.name}")
                continue
            if isinstance(x, fx.Node) and x.name in flat:
                fs, hw = flat[x.name]
                spaces[uf.find(fs)].consumers.append((n, hw))
            elif xs is not None:
                spaces[xs].consumers.append((n, 1))
            sid = new(cout)
            spaces[sid].producers.append(n)
            of[n.name] = sid
            continue
        if xs is None and not (isinstance(x, fx.Node) and x.name in flat):
            for a in _flat_args(n.args):  # a flattened space used by anything but a linear
                if isinstance(a, fx.Node) and a.name in flat:
                    freeze(flat[a.name][0], f"flattened output used by {n.name}")
            continue
        if xs is None:
            freeze(flat[x.name][0], f"flattened output used by {n.name}")
            continue
        kind = switch_kind(gm, n)
        if kind in ("batch_norm", "native_bn"):
            spaces[xs].bns.append(n)
            of[n.name] = xs
        elif n.op == "call_function" and t is operator.getitem and n.args[1] == 0 or kind == "dropout" or (n.op == "call_function" and t in _PASS):
            of[n.name] = xs
        elif n.op == "call_function" and t in (aten.hardtanh.default, aten.clamp.default):
            lo = n.args[1] if len(n.args) > 1 else None
            hi = n.args[2] if len(n.args) > 2 else None
            if (lo is not None and lo > 0) or (hi is not None and hi < 0):
                freeze(xs, f"{n.name} maps 0 to a non-zero value")
            of[n.name] = xs
        elif n.op == "call_function" and t is aten.mean.dim and sorted(
                d % len(shp[x.name]) for d in n.args[1]) == [2, 3] or n.op == "call_function" and _zero_spatial_pad(n):
            of[n.name] = xs
        elif n.op == "call_function" and t is aten.add.Tensor and len(n.args) == 2 \
                and sp(n.args[1]) is not None:
            of[n.name] = uf.union(xs, sp(n.args[1]))
        elif n.op == "call_function" and t in _FLATTEN and n.name in shp \
                and len(shp[x.name]) == 4 and len(shp[n.name]) == 2:
            flat[n.name] = (xs, shp[x.name][2] * shp[x.name][3])
        else:
            freeze(xs, f"used by {n.target} ({n.name})")
    merged: dict[int, Space] = {}
    for sid, s in spaces.items():
        root = uf.find(sid)
        if root == sid:
            merged.setdefault(root, s)
            continue
        r = merged.setdefault(root, spaces[root])
        r.frozen = r.frozen or s.frozen
        r.producers += s.producers
        r.bns += s.bns
        r.depthwise += s.depthwise
        r.consumers += s.consumers
    return [s for s in merged.values() if s.producers or s.frozen]


def _zero_spatial_pad(n: fx.Node) -> bool:
    """Zero padding of H and W only: a zeroed channel stays zero."""
    args = list(n.args) + [None] * 4
    if n.target is aten.constant_pad_nd.default:
        return len(args[1]) <= 4 and args[2] in (None, 0, 0.0)
    if n.target is aten.pad.default:
        mode = args[2] if args[2] is not None else n.kwargs.get("mode", "constant")
        value = args[3] if args[3] is not None else n.kwargs.get("value")
        return len(args[1]) <= 4 and mode == "constant" and value in (None, 0, 0.0)
    return False


def _flat_args(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out += _flat_args(a)
        else:
            out.append(a)
    return out


def prunable(spaces: list[Space], exclude_names: set[str]) -> list[Space]:
    out = []
    for s in spaces:
        if s.frozen or not s.producers:
            continue
        if exclude_names & set(s.names):
            s.frozen = "excluded"
            continue
        out.append(s)
    return out


@torch.no_grad()
def channel_scores(gm: fx.GraphModule, s: Space) -> torch.Tensor:
    """Importance of each channel: filter L2 norms, each producer normalised by its mean norm."""
    total = torch.zeros(s.channels)
    for p in s.producers:
        w = _attr(gm, str(p.args[1].target)).detach().cpu()
        norms = w.reshape(w.shape[0], -1).norm(dim=1)
        total += norms / norms.mean().clamp_min(1e-12)
    for bn in s.bns:  # a BatchNorm scale multiplies the channel's whole output
        gamma = _get(gm, bn.args[1])
        var = _get(gm, bn.args[4])
        if gamma is not None and var is not None:
            total *= (gamma.detach().abs().cpu() / (var.cpu() + 1e-5).sqrt())
    return total


def keep_indices(gm: fx.GraphModule, spaces: list[Space], sparsity: float
                 ) -> dict[int, torch.Tensor]:
    """Sorted kept channel indices per space for removing ``sparsity`` of its channels."""
    keep = {}
    for s in spaces:
        k = max(1, s.channels - math.floor(sparsity * s.channels + 1e-9))
        order = torch.argsort(channel_scores(gm, s), descending=True, stable=True)
        keep[s.id] = torch.sort(order[:k]).values
    return keep


def check_channel_request(spaces: list[Space], all_spaces: list[Space], sparsity: float) -> None:
    if not 0.0 <= sparsity < 1.0:
        raise InputError(f"channel sparsity {sparsity} is impossible: it is the fraction of output "
                         "channels removed and must be in [0, 1).", "Pass e.g. --sparsity 0.5.")
    if not spaces:
        why = "; ".join(f"{'/'.join(s.names) or '?'}: {s.frozen}" for s in all_spaces if s.frozen)
        raise InputError("channel pruning found no channel it can remove safely "
                         f"({why or 'no conv or linear layer'}).",
                         "Channel pruning handles conv/linear layers followed by BatchNorm, "
                         "activations, pooling, depthwise convs, flatten and residual adds; use "
                         "--pattern unstructured for other models.")


@torch.no_grad()
def mask_channels(gm: fx.GraphModule, spaces: list[Space], keep: dict[int, torch.Tensor]) -> None:
    """Zero the removed channels in place so that each of them is exactly 0 everywhere."""
    for s in spaces:
        drop = torch.ones(s.channels, dtype=torch.bool)
        drop[keep[s.id]] = False
        if not drop.any():
            continue
        for p in s.producers + s.depthwise:
            for a in (p.args[1], p.args[2] if len(p.args) > 2 else None):
                t = _get(gm, a)
                if t is not None:
                    t[drop.to(t.device)] = 0
        for bn in s.bns:  # gamma = beta = 0 makes BN output 0 whatever its input
            for a in (bn.args[1], bn.args[2]):
                t = _get(gm, a)
                if t is not None:
                    t[drop.to(t.device)] = 0


@torch.no_grad()
def shrink(gm: fx.GraphModule, spaces: list[Space], keep: dict[int, torch.Tensor]) -> None:
    """Delete the removed channels: every member of each space gets smaller."""
    for s in spaces:
        idx = keep[s.id]
        if len(idx) == s.channels:
            continue
        for p in s.producers + s.depthwise:
            for a in (p.args[1], p.args[2] if len(p.args) > 2 else None):
                t = _get(gm, a)
                if t is not None:
                    _set(gm, a, t[idx.to(t.device)])
        for dw in s.depthwise:
            args = list(dw.args)
            args[6] = len(idx)
            dw.args = tuple(args)
        for bn in s.bns:
            for a in bn.args[1:5]:
                t = _get(gm, a)
                if t is not None:
                    _set(gm, a, t[idx.to(t.device)])
        for c, hw in s.consumers:
            w = _get(gm, c.args[1])
            assert w is not None
            cols = (idx.reshape(-1, 1) * hw + torch.arange(hw)).reshape(-1) if hw > 1 else idx
            _set(gm, c.args[1], w[:, cols.to(w.device)])
        s.channels = len(idx)
    gm.recompile()
