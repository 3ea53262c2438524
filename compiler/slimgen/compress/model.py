"""The working model: an exported program unlifted into a trainable fx GraphModule.

``torch.export.load(p).module()`` gives a GraphModule whose parameters are trainable but whose
BatchNorm and dropout calls were frozen in eval mode at export (``training=False`` is a constant in
the graph, and ``.train()`` raises). For fine-tuning we swap those calls for small switchable
functions: ``set_training(gm, True)`` makes BatchNorm use batch statistics and update its running
buffers, and dropout drop, exactly as the original nn.Module would; ``finalize`` swaps the frozen
calls back so the exported result is the plain eval-mode program. The export also fixed the batch
size: the input guard is removed and reshapes that name the export batch take ``-1`` instead.

Every model source (.pt2, TorchScript, a trusted pickle) goes through this one representation, so
pruning, distillation and QAT see the same aten-level graph that slimgen's importer sees.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import InputError
from ..frontend.load import load_program

aten = torch.ops.aten
CONV = (aten.conv2d.default,)
LINEAR = (aten.linear.default,)
BN = (aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default)
DROPOUT = (aten.dropout.default,)
RESHAPE = (aten.view.default, aten.reshape.default, aten._unsafe_view.default)


class _Switch(nn.Module):
    """A BatchNorm or dropout call whose train/eval behaviour follows ``self.training``.

    A submodule rather than a closure so that it survives ``copy.deepcopy`` of the GraphModule.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind  # "batch_norm" | "native_bn" | "dropout"
        self.training = False

    def forward(self, *a: Any) -> Any:
        if self.kind == "dropout":  # aten.dropout(x, p, train)
            return F.dropout(a[0], a[1], self.training)
        if self.kind == "batch_norm":  # aten.batch_norm(x, w, b, mean, var, train, mom, eps, cudnn)
            return F.batch_norm(a[0], a[3], a[4], a[1], a[2], self.training, a[6], a[7])
        # _native_batch_norm_legit_no_training(x, w, b, mean, var, momentum, eps) -> 3 tensors
        y = F.batch_norm(a[0], a[3], a[4], a[1], a[2], self.training, a[5], a[6])
        return (y, y.new_empty(0), y.new_empty(0))


_FROZEN = {"batch_norm": aten.batch_norm.default,
           "native_bn": aten._native_batch_norm_legit_no_training.default,
           "dropout": aten.dropout.default}


@dataclass
class Layer:
    """A prunable conv or linear layer of the working model."""

    name: str  # parameter path without '.weight', e.g. 'features.0' (what --exclude matches)
    node: fx.Node
    weight: nn.Parameter
    bias: nn.Parameter | None
    depthwise: bool
    # Column order that puts the weight's reduction axis in slimgen's layout (OHWI rows, NHWC
    # columns after a flatten); None when torch's order already is slimgen's.
    perm: torch.Tensor | None = None

    def rows(self) -> torch.Tensor:
        """The weight as (out, reduction) in slimgen's reduction order (a copy)."""
        w = self.weight.detach()
        if w.dim() == 4:
            w = w.permute(0, 2, 3, 1)
        w = w.reshape(w.shape[0], -1)
        return w[:, self.perm] if self.perm is not None else w

    def from_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Inverse of ``rows`` for a tensor of the same shape (e.g. a mask)."""
        if self.perm is not None:
            out = torch.empty_like(rows)
            out[:, self.perm] = rows
            rows = out
        w = self.weight
        if w.dim() == 4:
            o, i, kh, kw = w.shape
            return rows.reshape(o, kh, kw, i).permute(0, 3, 1, 2).contiguous()
        return rows.reshape(w.shape)


def load_working(path: Path, example_shape: tuple[int, ...],
                 trust_pickle: bool) -> tuple[fx.GraphModule, tuple[int, ...]]:
    """Any model file slimgen reads -> (trainable working GraphModule, its input shape)."""
    ep = load_program(path, example_shape=example_shape, trust_pickle=trust_pickle)
    return from_program(ep), input_shape(ep)


def from_program(ep: Any) -> fx.GraphModule:
    gm = ep.module()
    g = gm.graph
    batch = None
    for n in g.nodes:
        if n.op == "placeholder":
            val = n.meta.get("val")
            if val is not None and hasattr(val, "shape") and len(val.shape) > 0:
                batch = val.shape[0]
            break
    count = 0
    for n in list(g.nodes):
        if n.op == "call_module" and str(n.target).startswith("_guards"):
            g.erase_node(n)
        elif n.op == "call_function" and n.target in RESHAPE and isinstance(batch, int):
            shape = list(n.args[1])
            if shape and shape[0] == batch:
                n.args = (n.args[0], [-1] + shape[1:])
        elif n.op == "call_function" and n.target in BN + DROPOUT:
            kind = next(k for k, op in _FROZEN.items() if op is n.target)
            name = f"sg_switch_{count}"
            count += 1
            gm.add_submodule(name, _Switch(kind))
            n.op, n.target = "call_module", name
    g.lint()
    gm.recompile()
    for p in gm.parameters():
        p.requires_grad_(True)
    return gm


def switches(gm: fx.GraphModule) -> list[_Switch]:
    return [m for m in gm.modules() if isinstance(m, _Switch)]


def set_training(gm: fx.GraphModule, on: bool) -> None:
    """Batch statistics, dropout and QAT range tracking on (fine-tuning) or off (evaluation).

    The unlifted root refuses ``.train()``; its submodules only carry the flag, which the
    swapped-in BatchNorm/dropout calls and the QAT observers read.
    """
    for m in gm.modules():
        if m is not gm:
            m.training = on


def switch_kind(gm: fx.GraphModule, n: fx.Node) -> str | None:
    """'batch_norm', 'native_bn' or 'dropout' for a swapped call, else None."""
    if n.op == "call_module" and str(n.target).startswith("sg_switch_"):
        return gm.get_submodule(str(n.target)).kind  # type: ignore[return-value]
    if n.op == "call_function":
        return next((k for k, op in _FROZEN.items() if op is n.target), None)
    return None


def finalize(gm: fx.GraphModule) -> fx.GraphModule:
    """A copy with the frozen eval-mode calls restored: what gets exported."""
    out = copy.deepcopy(gm)
    for n in out.graph.nodes:
        kind = switch_kind(out, n)
        if kind is not None and n.op == "call_module":
            name = str(n.target)
            n.op, n.target = "call_function", _FROZEN[kind]
            out.delete_submodule(name)
    out.recompile()
    return out


def export(gm: fx.GraphModule, example: torch.Tensor) -> Any:
    plain = finalize(gm)
    with torch.no_grad():
        return torch.export.export(plain, (example,))


def _param(gm: fx.GraphModule, node: Any) -> nn.Parameter | None:
    if node is None or getattr(node, "op", None) != "get_attr":
        return None
    obj: Any = gm
    for part in str(node.target).split("."):
        obj = getattr(obj, part)
    return obj


def shapes(gm: fx.GraphModule, example: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape of every node for ``example`` (batch included)."""
    out: dict[str, tuple[int, ...]] = {}

    class _Rec(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            r = super().run_node(n)
            if isinstance(r, torch.Tensor):
                out[n.name] = tuple(r.shape)
            elif isinstance(r, tuple) and r and isinstance(r[0], torch.Tensor):
                out[n.name] = tuple(r[0].shape)
            return r

    with torch.no_grad():
        _Rec(gm).run(example)
    return out


def prunable_layers(gm: fx.GraphModule, example: torch.Tensor) -> list[Layer]:
    """Conv and linear layers in graph order, with slimgen's reduction order of their weights."""
    shp = shapes(gm, example)
    layers = []
    for n in gm.graph.nodes:
        if n.op != "call_function" or n.target not in CONV + LINEAR:
            continue
        w = _param(gm, n.args[1])
        if w is None:
            continue
        b = _param(gm, n.args[2]) if len(n.args) > 2 else None
        groups = n.args[6] if n.target in CONV and len(n.args) > 6 else 1
        perm = None
        if n.target in LINEAR:
            src = n.args[0]
            while getattr(src, "op", None) == "call_function" and (
                    src.target in RESHAPE or src.target is aten.flatten.using_ints):
                src = src.args[0]
            s = shp.get(src.name) if isinstance(src, fx.Node) else None
            if s is not None and len(s) == 4 and s[2] * s[3] > 1:
                c, hw = s[1], s[2] * s[3]
                # torch flattens NCHW (column c*HW + p); slimgen reads NHWC (column p*C + c).
                perm = torch.arange(c * hw).reshape(c, hw).t().reshape(-1)
        layers.append(Layer(str(n.args[1].target).removesuffix(".weight"), n, w, b,
                            depthwise=groups > 1, perm=perm))
    if not layers:
        raise InputError("the model has no conv or linear layer to compress.",
                         "Pass a model with nn.Conv2d or nn.Linear layers.")
    return layers


def input_shape(ep: Any) -> tuple[int, ...]:
    """The exported program's (single) user input shape, batch first."""
    users = set(ep.graph_signature.user_inputs)
    for n in ep.graph.nodes:
        if n.op == "placeholder" and n.name in users:
            return tuple(int(d) for d in n.meta["val"].shape)
    raise InputError("the model takes no input tensor.", "Export it with an example input.")
