"""``--pattern auto`` and ``--layer-pattern``: each layer pruned towards the pattern its kernel wants.

Before any training, every prunable layer is priced with the cost model that ``slimgen build
--sparse auto`` uses (``lower/cost.py``), on the layer's own geometry as the build sees it (its
IR node: fc, 1x1 or general conv, output pixels, kernel height): for each pattern the layer could
be pruned in, a synthetic mask of that pattern at the requested sparsity (deterministic random
int8 weights) is estimated in every sparse format it fits, and the build's own rule picks the
layer's format (the fastest one estimated ``AUTO_MARGIN`` faster than dense, else dense). That
gives each pattern the cycles the built layer would cost; ``choose_layer_patterns`` then takes
the *least constraining* pattern within ``tolerance`` of the fastest.

"Least constraining" is the order of ``PATTERN_ORDER``: unstructured, N:M, 1x4 block, which is
the order of how many masks each pattern allows at a given density (per group of 4 weights,
log2 of the choices: 2:4 keeps any 2 of 4, 2.6 bits, 50 % blocks one of 2 states for 4
weights, 1 bit per 4; 1:4 2 bits against 0.8 for 75 % blocks), so the order in which they can
keep the important weights. An N:M pattern fixes the layer's sparsity (2:4 is 50 %, 1:4 75 %),
so it is a candidate only when the requested sparsity is that one.

A layer where no sparse format pays at that density (every pattern's build estimate is the dense
kernel's), and a depthwise layer (no sparse depthwise kernel), is **left dense**: the build would
run it dense whatever its zeros, so pruning it would cost accuracy and buy neither cycles nor
flash (slimgen stores a dense layer's zeros). The model's sparsity is then below ``--sparsity``,
and the report says which layers and why; ``--layer-pattern NAME=unstructured`` prunes one anyway.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..lower.sparse_select import AUTO_MARGIN
from .patterns import BLOCK, Pattern, parse_pattern

PATTERN_ORDER = ("unstructured", "2:4", "1:4", "block")  # least constraining first
DEFAULT_TOLERANCE = 0.10
#: Sparse formats a pruning mask may fit ("shared" is weight sharing, not a pruning pattern).
PRUNING_FORMATS = ("unstructured", "bsr1x4", "nm2:4", "nm1:4")


def choose_layer_patterns(costs: Mapping[str, Mapping[str, int]], tolerance: float
                          ) -> dict[str, tuple[str, str]]:
    """Per layer, (pattern, why) from ``costs[layer][pattern]`` = the estimated cycles of the
    layer built with ``--sparse auto`` after pruning in that pattern (patterns named as in
    PATTERN_ORDER; absent: not a candidate): the least constraining pattern whose cost is within
    ``tolerance`` of the cheapest. A layer without candidates is not in the result."""
    out = {}
    for name, by_pattern in costs.items():
        cands = [p for p in PATTERN_ORDER if p in by_pattern]
        if not cands:
            continue
        best = min(by_pattern[p] for p in cands)
        pick = next(p for p in cands if by_pattern[p] <= best * (1.0 + tolerance))
        if len(cands) == 1:
            why = "the only candidate"
        elif all(by_pattern[p] == best for p in cands):
            why = "all candidates cost the same: the least constraining"
        elif by_pattern[pick] == best:
            why = "the fastest"
        else:
            why = (f"the least constraining within {tolerance:.0%} of the fastest "
                   f"({min(cands, key=lambda p: by_pattern[p])})")
        out[name] = (pick, why)
    return out


# -- costs of a layer's patterns -----------------------------------------------------------------

@dataclass(frozen=True)
class Geometry:
    """What the build's cost model needs of a layer (from its IR node)."""

    name: str  # the compress layer name
    op: str  # IR op: fc, conv2d, dwconv2d
    kernel: str  # the dense kernel slimgen build selects, e.g. sg_conv2d_s8_1x1
    rows: int
    cols: int
    pixels: int  # output pixels (1 for fc)
    kernel_h: int


def geometries(gm: Any, example: Any, layers: Sequence[Any]) -> list[Geometry]:
    """The build's view of each prunable layer (``compress.model.Layer``): the model exported
    and imported exactly as ``slimgen build`` does (float passes included), its fc / conv nodes
    matched to ``layers`` in graph order (one node per torch conv / linear; shapes checked)."""
    from ..api import import_model_from_program
    from ..lower.kernels import dense_kernel
    from .model import export

    g = import_model_from_program(export(gm, example), "compress")
    nodes = [n for n in g.nodes if n.op in ("fc", "conv2d", "dwconv2d")]
    if len(nodes) != len(layers):
        raise AssertionError(f"{len(layers)} prunable layers but {len(nodes)} fc/conv nodes")
    out = []
    for lyr, n in zip(layers, nodes):
        wv = n.inputs[1]
        spec = dense_kernel(n)
        assert spec is not None and wv is not None and wv.data is not None
        w = wv.data
        pixels = 1 if n.op == "fc" else n.out.shape[0] * n.out.shape[1]
        kh = n.attrs.kernel[0] if n.op != "fc" else 1
        geo = Geometry(lyr.name, n.op, spec.name, int(w.shape[0]), int(w.size // w.shape[0]),
                       int(pixels), int(kh))
        if n.op != "dwconv2d" and tuple(lyr.rows().shape) != (geo.rows, geo.cols):
            raise AssertionError(f"layer {lyr.name} {tuple(lyr.rows().shape)} does not match "
                                 f"node {n.name} {(geo.rows, geo.cols)}")
        out.append(geo)
    return out


def synthetic_weights(rows: int, cols: int, pattern: Pattern, sparsity: float,
                      seed: int = 0) -> np.ndarray:
    """Random non-zero int8 weights on a random mask of ``pattern`` at ``sparsity``: the cost
    model depends on the mask's counts and gaps, not on the values."""
    rng = np.random.default_rng(seed)
    vals = (rng.integers(1, 128, (rows, cols)) * rng.choice([-1, 1], (rows, cols)))
    if pattern.kind == "n:m":
        groups = rows * cols // pattern.m
        order = np.argsort(rng.random((groups, pattern.m)), axis=1)
        keep: np.ndarray = np.zeros((groups, pattern.m), bool)
        np.put_along_axis(keep, order[:, :pattern.n], True, axis=1)
    else:
        size = BLOCK[1] if pattern.kind == "block" else 1
        units = rows * cols // size
        unit_keep = np.zeros(units, bool)
        unit_keep[rng.permutation(units)[:units - round(sparsity * units)]] = True
        keep = np.repeat(unit_keep, size)
    return (vals * keep.reshape(rows, cols)).astype(np.int8)


def candidates(geo: Geometry, sparsity: float) -> list[str]:
    """The patterns a layer can be pruned in at ``sparsity`` (PATTERN_ORDER names)."""
    if geo.op == "dwconv2d":  # no sparse depthwise kernel
        return []
    out = ["unstructured"]
    if geo.cols % 4 == 0:
        out += [p for p, s in (("2:4", 0.5), ("1:4", 0.75)) if abs(sparsity - s) < 1e-6]
        out.append("block")
    return out


def layer_costs(geo: Geometry, sparsity: float, core: str) -> dict[str, Any]:
    """The layer's dense estimate and, per candidate pattern, every fitting format's estimate
    and the format (and cycles) the build's ``--sparse auto`` rule would pick."""
    from ..lower.cost import estimate
    from ..lower.kernels import SPARSE_C_NAMES
    from ..lower.sparse_format import fits

    dense_w = np.ones((geo.rows, geo.cols), np.int8)
    dense = estimate(geo.kernel, "dense", dense_w, geo.pixels, core, geo.kernel_h).cycles
    rec: dict[str, Any] = {"core": core, "kernel": geo.kernel, "pixels": geo.pixels,
                           "dense_cycles": dense, "patterns": {}}
    for p in candidates(geo, sparsity):
        w = synthetic_weights(geo.rows, geo.cols, parse_pattern(p), sparsity)
        ests = {f: estimate(f"{geo.kernel}_{SPARSE_C_NAMES[f]}", f, w, geo.pixels, core,
                            geo.kernel_h).cycles
                for f in PRUNING_FORMATS if fits(w, f) is None}
        ok = {f: c for f, c in ests.items() if c <= dense * (1.0 - AUTO_MARGIN)}
        fmt = min(ok, key=lambda f: ok[f]) if ok else "dense"
        rec["patterns"][p] = {"format": fmt, "est_cycles": ok[fmt] if ok else dense,
                              "formats": ests}
    return rec


def check_target(target: str | None) -> str:
    """``--target`` of ``--pattern auto`` -> the cost model core (as ``slimgen build``)."""
    from ..lower.sparse_select import core_of

    try:
        from ..firmware.targets import TARGETS
        known: tuple[str, ...] = ("host", *TARGETS)
    except ImportError:
        known = ("host",)
    if target is None:
        raise InputError("--pattern auto prices each layer with the cost model of a core; "
                         "it needs --target.", "Add e.g. --target cortex-m4 (the target you "
                         "will pass to slimgen build).")
    if target not in known:
        raise InputError(f"--target {target} is unknown.", f"Use one of: {', '.join(known)}.")
    return core_of(target)


# -- per-layer overrides and the plan ------------------------------------------------------------

def parse_layer_patterns(specs: Sequence[str], names: Sequence[str]) -> list[tuple[str, Pattern]]:
    """``NAME=PATTERN`` (NAME a shell-style wildcard) -> (glob, pattern), checked against the
    layer names."""
    out = []
    for spec in specs:
        glob, sep, text = spec.partition("=")
        if not sep or not glob.strip():
            raise InputError(f"--layer-pattern {spec!r} is not NAME=PATTERN.",
                             "Pass e.g. --layer-pattern 'features.3=block'.")
        try:
            pat = parse_pattern(text)
        except ValueError as e:
            raise InputError(f"--layer-pattern {spec}: {e}") from None
        if pat.kind == "channel":
            raise InputError(f"--layer-pattern {spec}: channel pruning removes channels across "
                             "layers, not within one.", "Use --pattern channel for all layers.")
        if not any(fnmatch.fnmatchcase(n, glob.strip()) for n in names):
            raise InputError(f"--layer-pattern {glob.strip()} matches no layer; the prunable "
                             f"layers are: {', '.join(names)}.",
                             "Use those names (shell-style wildcards allowed).")
        out.append((glob.strip(), pat))
    return out


def plan(layers: Sequence[Any], base: Pattern | None, overrides: Sequence[tuple[str, Pattern]],
         sparsity: float, geos: Sequence[Geometry] | None, core: str,
         tolerance: float) -> tuple[dict[str, Pattern], dict[str, dict[str, Any]]]:
    """Every layer's pattern and why: ``base`` (None: ``auto`` from ``geos``' costs), then the
    last matching override. Returns (patterns, report per layer)."""
    report: dict[str, dict[str, Any]] = {}
    pats: dict[str, Pattern] = {}
    if base is None:
        assert geos is not None
        costs = {g.name: layer_costs(g, sparsity, core) for g in geos}
        picks = choose_layer_patterns(
            {n: {p: r["est_cycles"] for p, r in c["patterns"].items()} for n, c in costs.items()},
            tolerance)
        for g in geos:
            p, why = picks.get(g.name, ("dense", "depthwise: no sparse kernel format"))
            c = costs[g.name]
            if p != "dense" and c["patterns"][p]["format"] == "dense":
                p, why = "dense", (f"no sparse format is {AUTO_MARGIN:.0%} faster than dense at "
                                   f"{sparsity:g}: the build runs it dense")
            pats[g.name] = Pattern("dense") if p == "dense" else parse_pattern(p)
            report[g.name] = {"pattern": p, "why": why, "build_format": "dense" if p == "dense"
                              else c["patterns"][p]["format"], **c}
    else:
        for lyr in layers:
            pats[lyr.name] = base
            report[lyr.name] = {"pattern": str(base), "why": "--pattern"}
    for lyr in layers:
        for glob, pat in overrides:
            if fnmatch.fnmatchcase(lyr.name, glob):
                pats[lyr.name] = pat
                report[lyr.name] = {**report[lyr.name], "pattern": str(pat),
                                    "why": f"--layer-pattern {glob}={pat}"}
                if "patterns" in report[lyr.name]:
                    got = report[lyr.name]["patterns"].get(str(pat))
                    report[lyr.name]["build_format"] = got["format"] if got else None
    return pats, report
