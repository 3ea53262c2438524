"""Quantization-aware training that rounds exactly like slimgen's int8 contract.

Inserted into the working graph, removed again before export:

- weights of every conv / depthwise / linear: BatchNorm folded as slimgen folds it
  (w * gamma / sqrt(var + eps)), then symmetric per-output-channel int8 with scale amax / 127,
  round half to even, clamp to [-127, 127]; the conv then sees ``fake_quant(w_folded) / s`` so the
  BatchNorm that still follows it reproduces exactly the folded, quantized layer;
- activations at every tensor slimgen quantizes with its own parameters (the model input, each
  conv/linear output after its fused BatchNorm and activation, each residual add): asymmetric
  int8 from a range [lo, hi] widened to include 0, scale (hi - lo) / 255, zero point
  round(-128 - lo / scale), exactly ``quant.quantize.choose_qparams``.

Gradients pass the rounding unchanged (straight-through estimator). Activation ranges start from
min/max over calibration batches, follow an exponential moving average while training, and are
frozen for the second half of QAT so the final weights adapt to the ranges ``slimgen build`` will
use. BatchNorm statistics stay fixed during QAT (the usual practice, and what makes the folding
above exact). ``ranges`` returns the learned ranges keyed by the graph node that produces each
tensor; ``compress`` maps them to slimgen's tensor names (``<model>.ranges.json``).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from .model import CONV, LINEAR, switch_kind

aten = torch.ops.aten
_ACTS = {aten.relu.default, aten.relu_.default, aten.relu6.default, aten.hardtanh.default,
         aten.clamp.default}


def choose_qparams(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) as quant.quantize.choose_qparams, in double precision."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-12:
        hi = lo + 1.0
    scale = (hi - lo) / 255.0
    zp = int(min(127, max(-128, round(-128 - lo / scale))))
    return scale, zp


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        return g


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-channel (axis 0) int8 round trip, as quant.quantize.quantize_weights."""
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(1)
    scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
    scale = scale.reshape((-1,) + (1,) * (w.dim() - 1))
    return torch.clamp(_RoundSTE.apply(w / scale), -127, 127) * scale


def folded_weight(w: torch.Tensor, gamma: Any, var: Any, eps: float) -> torch.Tensor:
    """The conv weight whose BN-folded int8 version the int8 model will use."""
    if gamma is None:
        return fake_quant_weight(w)
    s = (gamma / torch.sqrt(var + eps)).reshape((-1,) + (1,) * (w.dim() - 1))
    safe = torch.where(s != 0, s, torch.ones_like(s))
    return torch.where(s != 0, fake_quant_weight(w * s) / safe, torch.zeros_like(w))


class FakeQuantAct(nn.Module):
    """Asymmetric per-tensor int8 round trip with a tracked [lo, hi] range."""

    def __init__(self, key: str, momentum: float = 0.05) -> None:
        super().__init__()
        self.key = key
        self.training = False
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(math.inf))
        self.register_buffer("hi", torch.tensor(-math.inf))
        self.observe = True  # calibrating or tracking
        self.quantize = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observe and (self.training or not self.quantize):
            lo, hi = x.detach().min(), x.detach().max()
            if not self.quantize or not torch.isfinite(self.lo):
                self.lo = torch.minimum(self.lo, lo)
                self.hi = torch.maximum(self.hi, hi)
            else:
                self.lo += self.momentum * (lo - self.lo)
                self.hi += self.momentum * (hi - self.hi)
        if not self.quantize:
            return x
        scale, zp = choose_qparams(float(self.lo), float(self.hi))
        q = torch.clamp(_RoundSTE.apply(x / scale) + zp, -128, 127)
        return (q - zp) * scale


@dataclass
class _Inserted:
    act_nodes: list[fx.Node]
    weight_nodes: list[tuple[fx.Node, fx.Node]]  # (inserted node, original weight node)


def _single_user(n: fx.Node) -> fx.Node | None:
    users = list(n.users)
    return users[0] if len(users) == 1 else None




def _attr(gm: fx.GraphModule, node: Any) -> Any:
    if getattr(node, "op", None) != "get_attr":
        return None
    obj: Any = gm
    for part in str(node.target).split("."):
        obj = getattr(obj, part)
    return obj


def insert(gm: fx.GraphModule) -> _Inserted:
    """Add weight and activation fake quantization to the working graph, in place."""
    g = gm.graph
    ins = _Inserted([], [])
    counter = [0]

    def add_act(after: fx.Node, key: str) -> None:
        name = f"sg_fq_{counter[0]}"
        counter[0] += 1
        gm.add_submodule(name, FakeQuantAct(key))
        users = list(after.users)
        with g.inserting_after(after):
            q = g.call_module(name, (after,))
        for u in users:
            u.replace_input_with(after, q)
        ins.act_nodes.append(q)

    for n in list(g.nodes):
        if n.op == "placeholder" and not ins.act_nodes:
            add_act(n, "input")
            continue
        if n.op != "call_function":
            continue
        if n.target in CONV + LINEAR:
            out, gamma, var, eps = n, None, None, 0.0
            nxt = _single_user(n)
            kind = switch_kind(gm, nxt) if nxt is not None else None
            if nxt is not None and kind in ("batch_norm", "native_bn") and nxt.args[0] is n:
                gamma, var = nxt.args[1], nxt.args[4]
                eps = float(nxt.args[7] if kind == "batch_norm" else nxt.args[6])
                out = nxt
                after = _single_user(nxt)
                if after is not None and after.target is operator.getitem:
                    out = after
            act = _single_user(out)
            if act is not None and act.op == "call_function" and act.target in _ACTS:
                out = act
            w = n.args[1]
            with g.inserting_before(n):
                wq = g.call_function(folded_weight, (w, gamma, var, eps))
            n.replace_input_with(w, wq)
            ins.weight_nodes.append((wq, w))
            add_act(out, n.name)
        elif n.target is aten.add.Tensor and all(isinstance(a, fx.Node) for a in n.args[:2]):
            out = n
            act = _single_user(n)
            if act is not None and act.op == "call_function" and act.target in _ACTS:
                out = act
            add_act(out, n.name)
    g.lint()
    gm.recompile()
    return ins


def modules(gm: fx.GraphModule) -> list[FakeQuantAct]:
    return [m for m in gm.modules() if isinstance(m, FakeQuantAct)]


def start_quantizing(gm: fx.GraphModule) -> None:
    """After calibration: fake quantization on, ranges keep tracking."""
    for m in modules(gm):
        m.quantize = True


def freeze_ranges(gm: fx.GraphModule) -> None:
    for m in modules(gm):
        m.observe = False


def ranges(gm: fx.GraphModule) -> dict[str, tuple[float, float]]:
    return {m.key: (float(m.lo), float(m.hi)) for m in modules(gm)}


def remove(gm: fx.GraphModule, ins: _Inserted) -> None:
    """Take the fake quantization out again: the float model with QAT-trained weights."""
    g = gm.graph
    for q in ins.act_nodes:
        q.replace_all_uses_with(q.args[0])
        g.erase_node(q)
        gm.delete_submodule(str(q.target))
    for wq, w in ins.weight_nodes:
        wq.replace_all_uses_with(w)
        g.erase_node(wq)
    g.lint()
    gm.recompile()
