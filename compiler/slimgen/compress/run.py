"""``slimgen compress``: prune -> distill -> QAT, each stage measured in float and in int8.

The int8 figures come from slimgen's own pipeline (import, fold, calibrate, quantize, and the
numpy integer interpreter that the generated C is proven bit-exact against), so they are what
``slimgen build`` on the result will compute, not a torch approximation of it.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx

from ..errors import InputError
from . import channel as ch
from . import obs, share
from . import qat as qatmod
from .data import Data, check_against_model, load_data
from .distill import Teachers
from .layer_patterns import DEFAULT_TOLERANCE, check_target, geometries, parse_layer_patterns, plan
from .model import export, load_working, prunable_layers
from .patterns import Pattern, parse_pattern, uniform
from .prune import apply_masks, check_pattern, compute_masks, select_layers, sparsity_of, zhu_gupta
from .train import Progress, evaluate, fit

RANGES_SUFFIX = ".ranges.json"


@dataclass
class CompressOptions:
    data: str
    out: Path
    loss: str = "ce"
    pattern: str = "unstructured"  # or "auto": per layer, from the cost model of ``target``
    target: str | None = None  # slimgen build --target whose cost model --pattern auto uses
    layer_patterns: list[str] = field(default_factory=list)  # NAME=PATTERN overrides
    pattern_tolerance: float = DEFAULT_TOLERANCE  # auto: slower than the fastest by at most this
    sparsity: list[float] = field(default_factory=list)
    scope: str = "layer"
    exclude: list[str] = field(default_factory=list)
    epochs: int = 10  # fine-tuning epochs of each pruning run
    prune_steps: int = 10
    freeze_bn: bool = False  # fine-tune with BatchNorm on its running statistics
    ramp: float = 0.66  # fraction of fine-tuning over which sparsity ramps up
    prune_method: str = "magnitude"  # or "obs": one-shot OBS reconstruction, then masks fixed
    obs_samples: int = 1024  # calibration samples (from the training data) for OBS Hessians
    obs_damp: float = 0.01  # H + damp * mean(diag H) * I
    obs_steps: int = 1  # OBS passes on the Zhu & Gupta schedule, fine-tuning between them
    teachers: list[Path] = field(default_factory=list)
    teacher_weights: list[float] = field(default_factory=list)
    student: Path | None = None
    temperature: float = 4.0
    alpha: float = 0.9
    distill_epochs: int = 0  # 0: same as epochs
    qat: bool = False
    qat_epochs: int = 3
    lr: float = 1e-3
    qat_lr: float = 1e-4
    share_weights: int = 0  # K: <= K - 1 shared non-zero int8 values per layer (0: off)
    share_epochs: int = 3
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"
    plot: Path | None = None
    trust_pickle: bool = False
    progress: bool = False


def _check_options(o: CompressOptions) -> Pattern | None:
    """The pattern of every layer (None: ``--pattern auto``)."""
    if o.loss not in ("ce", "mse"):
        raise InputError(f"--loss {o.loss} is unknown.", "Use ce (classifiers) or mse.")
    if o.pattern.strip().lower() == "auto":
        check_target(o.target)
        if not o.sparsity:
            raise InputError("--pattern auto prices each layer's patterns at the requested "
                             "sparsity; it needs --sparsity.", "Pass e.g. --sparsity 0.6.")
        if not 0.0 <= o.pattern_tolerance < 1.0:
            raise InputError(f"--pattern-tolerance {o.pattern_tolerance} must be in [0, 1).",
                             "Pass e.g. --pattern-tolerance 0.1 (10 %).")
        pattern = Pattern("unstructured")  # for the checks below, which auto satisfies too
    else:
        try:
            pattern = parse_pattern(o.pattern)
        except ValueError as e:
            raise InputError(str(e)) from None
    if o.layer_patterns and pattern.kind == "channel":
        raise InputError("--layer-pattern does not combine with --pattern channel.",
                         "Drop --layer-pattern, or use a weight pattern.")
    if o.layer_patterns and not o.sparsity and pattern.kind != "n:m":
        raise InputError("--layer-pattern sets how layers are pruned, but no pruning was asked "
                         "(no --sparsity).", "Add e.g. --sparsity 0.6.")
    for s in o.sparsity:
        if not 0.0 <= s < 1.0:
            raise InputError(f"sparsity {s} is impossible: it is the fraction of weights (or, with "
                             "--pattern channel, of output channels) removed, in [0, 1).",
                             "Pass e.g. --sparsity 0.8 or a sweep --sparsity 0.5,0.7,0.9.")
    if o.prune_method not in ("magnitude", "obs"):
        raise InputError(f"--prune-method {o.prune_method} is unknown.", "Use magnitude or obs.")
    if o.prune_method == "obs" and pattern.kind == "channel":
        raise InputError("--prune-method obs removes single weights, 1x4 blocks or N:M groups, "
                         "not whole channels.", "Use --prune-method magnitude with --pattern "
                         "channel.")
    if o.prune_method == "obs" and (o.obs_samples < 1 or o.obs_damp <= 0):
        raise InputError(f"--obs-samples {o.obs_samples} / --obs-damp {o.obs_damp}: need at least "
                         "one sample and a positive damping.", "Pass e.g. --obs-samples 1024 "
                         "--obs-damp 0.01.")
    if o.scope not in ("layer", "global", "output"):
        raise InputError(f"--scope {o.scope} is unknown.", "Use layer, global or output.")
    if o.scope == "output" and o.prune_method != "obs":
        raise InputError("--scope output weighs each layer's sparsity by the model-output error "
                         "of its OBS reconstruction; it needs --prune-method obs.",
                         "Add --prune-method obs, or use --scope layer or global.")
    if o.scope == "global" and pattern.kind in ("channel", "n:m"):
        raise InputError(f"--scope global does not apply to {pattern} pruning.",
                         "Drop --scope global.")
    if o.teacher_weights and len(o.teacher_weights) != len(o.teachers):
        raise InputError(f"{len(o.teacher_weights)} --teacher-weight for {len(o.teachers)} "
                         "--teacher.", "Give one weight per teacher, or none.")
    if any(w < 0 for w in o.teacher_weights) or (o.teacher_weights and
                                                 sum(o.teacher_weights) <= 0):
        raise InputError("teacher weights must be non-negative and not all zero.", "")
    if o.temperature <= 0 or not 0.0 <= o.alpha <= 1.0:
        raise InputError(f"--temperature {o.temperature} / --alpha {o.alpha}: need T > 0 and "
                         "0 <= alpha <= 1.", "")
    if (o.teachers or o.student) and o.loss != "ce":
        raise InputError("distillation matches softened class probabilities; it needs --loss ce.",
                         "Drop --teacher/--student, or use a classifier.")
    if o.share_weights:
        share.check_share(o.share_weights)
    if o.out.suffix != ".pt2":
        raise InputError(f"output {o.out} must end in .pt2 (a torch.export program).",
                         "Pass e.g. -o small.pt2.")
    if not o.out.resolve().parent.is_dir():
        raise InputError(f"the folder of {o.out} does not exist.", "Create it first.")
    if o.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked but torch sees no CUDA device.",
                         "Use --device cpu, or install a CUDA build of torch.")
    return None if o.pattern.strip().lower() == "auto" else pattern


# -- measuring ---------------------------------------------------------------------------------

def _ir(gm: fx.GraphModule, example: torch.Tensor) -> tuple[Any, Any]:
    from ..api import import_model_from_program

    ep = export(_cpu(gm), example)
    return ep, import_model_from_program(ep, "compress")


def _cpu(gm: fx.GraphModule) -> fx.GraphModule:
    return copy.deepcopy(gm).cpu()


def int8_metrics(gm: fx.GraphModule, data: Data, loss: str,
                 ranges: dict[str, tuple[float, float]] | None = None) -> dict[str, float]:
    """Accuracy (or MSE) of the int8 model ``slimgen build`` would make, on the test set."""
    from ..api import BuildOptions, compile_graph, to_ir_layout
    from ..ir import interp

    _, g = _ir(gm, data.example)
    c = compile_graph(g, to_ir_layout(data.calib, g), BuildOptions(), ranges=ranges)
    qg = c.quant_graph
    iq, oq = qg.inputs[0].q, qg.outputs[0].q
    correct, total, sq = 0, 0, 0.0
    for x, y in data.test:
        xq = iq.quantize(to_ir_layout(np.asarray(x, np.float32), qg))
        out = oq.dequantize(interp.run(qg, xq))
        if qg.output_layout == "nhwc":
            out = out.transpose(0, 3, 1, 2)
        out = out.reshape(len(x), -1)
        y = np.asarray(y)
        if loss == "ce":
            correct += int((out.argmax(1) == y).sum())
        else:
            sq += float(((out - y.reshape(len(y), -1)) ** 2).sum())
        total += len(x)
    if loss == "ce":
        return {"accuracy": correct / max(1, total)}
    return {"loss": sq / max(1, total * out.shape[1])}


def size_of(gm: fx.GraphModule, example: torch.Tensor) -> dict[str, Any]:
    """Parameters, non-zero weights and int8 weight bytes of the compiled layers."""
    _, g = _ir(gm, example)
    params = nonzero = wbytes = 0
    for n in g.nodes:
        if n.op in ("conv2d", "dwconv2d", "fc"):
            w, b = n.inputs[1].data, n.inputs[2].data
            params += w.size + b.size
            nonzero += int(np.count_nonzero(w))
            # int8 weights, int32 bias, per-channel multiplier + shift (as slimgen build counts)
            wbytes += w.size + 4 * b.size + 8 * n.out.shape[-1]
    return {"params": params, "nonzero_weights": nonzero, "weight_bytes": wbytes}


def layer_table(gm: fx.GraphModule, example: torch.Tensor) -> list[dict[str, Any]]:
    return [{"name": lyr.name, "shape": list(lyr.weight.shape), "params": lyr.weight.numel(),
             "nonzero": int((lyr.weight != 0).sum()),
             "sparsity": round(sparsity_of(lyr.weight.detach()), 4)}
            for lyr in prunable_layers(gm, example)]


def _measure(stage: str, gm: fx.GraphModule, data: Data, o: CompressOptions,
             ranges: dict[str, tuple[float, float]] | None = None, **extra: Any) -> dict[str, Any]:
    rec = {"stage": stage, **extra, "float": evaluate(gm, data.test, o.loss, o.device),
           "int8": int8_metrics(gm, data, o.loss, ranges)}
    if data.val is not data.test:
        rec["float_val"] = evaluate(gm, data.val, o.loss, o.device)
    rec.update(size_of(gm, data.example))
    return rec


# -- stages ------------------------------------------------------------------------------------

def prune_run(gm: fx.GraphModule, data: Data, o: CompressOptions,
              pattern: Pattern | dict[str, Pattern], sparsity: float, teachers: Teachers | None,
              progress: Progress) -> fx.GraphModule:
    """Gradual magnitude pruning to ``sparsity`` with fine-tuning; returns the pruned model.
    ``pattern``: one for every layer, or one per layer name (N:M layers of a mixed map get
    their fixed mask at once, the others follow the schedule)."""
    gm = copy.deepcopy(gm)
    label = str(pattern) if isinstance(pattern, Pattern) else "per-layer"
    if isinstance(pattern, Pattern):
        kind = pattern.kind
    else:  # all pruned layers N:M: one fixed mask, as --pattern N:M
        kinds = {p.kind for p in pattern.values() if p.kind != "dense"}
        kind = "n:m" if kinds == {"n:m"} else "mixed"
    steps_per_epoch = _batches(data.train)
    total = max(1, o.epochs * steps_per_epoch)
    ramp = max(1, int(o.ramp * total))
    n_prune = 1 if kind == "n:m" else max(1, o.prune_steps)
    every = max(1, ramp // n_prune)
    state: dict[str, Any] = {}

    if kind == "channel":
        spaces = ch.find_spaces(gm, data.example.to(o.device))
        names = {lyr.name for lyr in prunable_layers(gm, data.example.to(o.device))}
        excl = {nm for nm in names if any(fnmatch.fnmatchcase(nm, p) for p in o.exclude)}
        targets = ch.prunable(spaces, excl)
        ch.check_channel_request(targets, spaces, sparsity)

        def update(k: int) -> None:
            s = zhu_gupta(k, n_prune, sparsity)
            state["keep"] = ch.keep_indices(gm, targets, s)
            ch.mask_channels(gm, targets, state["keep"])

        def after(step: int) -> None:
            if step % every == 0 and step // every <= n_prune:
                update(step // every)
            else:
                ch.mask_channels(gm, targets, state["keep"])
    elif o.prune_method == "obs":
        layers, _ = select_layers(prunable_layers(gm, data.example.to(o.device)), o.exclude,
                                  pattern)
        batches = obs.calibration_batches(data.train, o.obs_samples)
        n_obs = 1 if kind == "n:m" else max(1, o.obs_steps)
        every = max(1, ramp // n_obs)

        def obs_to(k: int) -> None:
            """OBS to the k-th level of the schedule; the mask then stays fixed until the next."""
            flags = {m: m.training for m in gm.modules()}  # obs evaluates; fit may be training
            state["masks"], stats = obs.prune(gm, layers, pattern, zhu_gupta(k, n_obs, sparsity),
                                              batches, o.scope, o.obs_damp)
            for m, f in flags.items():
                m.training = f
            state["obs"] = [asdict(st) for st in stats]
            state["obs_level"] = k

        obs_to(1)

        def update(k: int) -> None:
            if k == n_prune and state["obs_level"] < n_obs:  # training was too short
                obs_to(n_obs)
            apply_masks(layers, state["masks"])

        def after(step: int) -> None:
            if step % every == 0 and 1 <= step // every < n_obs:
                obs_to(step // every + 1)
            apply_masks(layers, state["masks"])
    else:
        layers, _ = select_layers(prunable_layers(gm, data.example.to(o.device)), o.exclude,
                                  pattern)

        def update(k: int) -> None:
            s = zhu_gupta(k, n_prune, sparsity)
            state["masks"] = compute_masks(layers, pattern, s, o.scope)
            apply_masks(layers, state["masks"])

        def after(step: int) -> None:
            if step % every == 0 and step // every <= n_prune and kind != "n:m":
                update(step // every)
            else:
                apply_masks(layers, state["masks"])

    update(1 if kind == "n:m" else 0)
    if o.epochs > 0:
        fit(gm, data.train, o.epochs, loss=o.loss, lr=o.lr, device=o.device, teachers=teachers,
            alpha=o.alpha, temperature=o.temperature, after_step=after, progress=progress,
            name=f"prune {label} {sparsity:g}", seed=o.seed, freeze_bn=o.freeze_bn)
    update(n_prune)  # the exact target, whatever the step count
    if kind == "channel":
        ch.shrink(gm, targets, state["keep"])
    if "obs" in state:
        gm.meta["sg_obs"] = state["obs"]  # per-layer OBS figures for the report
    return gm


def _levels(o: CompressOptions, pattern: Pattern | None) -> list[float]:
    """The sparsities of the sweep (an N:M pattern alone fixes its own)."""
    if o.sparsity or pattern is None or pattern.kind != "n:m":
        return list(o.sparsity)
    return [1 - pattern.n / pattern.m]


def _per_layer_plans(gm: fx.GraphModule, layers: list[Any], data: Data, o: CompressOptions,
                     pattern: Pattern | None
                     ) -> dict[float, tuple[Pattern | dict[str, Pattern], dict[str, Any] | None]]:
    """``--pattern auto`` / ``--layer-pattern``: each layer's pattern at each sparsity of the
    sweep, and why; checked before any training."""
    names = [lyr.name for lyr in layers]
    overrides = parse_layer_patterns(o.layer_patterns, names)
    geos = core = None
    if pattern is None:
        core = check_target(o.target)
        geos = geometries(_cpu(gm), data.example, layers)
    out: dict[float, tuple[Pattern | dict[str, Pattern], dict[str, Any] | None]] = {}
    for s in _levels(o, pattern):
        pats, why = plan(layers, pattern, overrides, s, geos, core or "", o.pattern_tolerance)
        kept = [n for n in names if not any(fnmatch.fnmatchcase(n, e) for e in o.exclude)]
        if pattern is None and kept and all(pats[n].kind == "dense" for n in kept):
            raise InputError(f"--pattern auto: no layer runs faster on {core} at sparsity {s:g} "
                             "in any sparse format, so nothing would be pruned.",
                             "Use a higher --sparsity, or --pattern unstructured to prune anyway.")
        chosen, skipped = select_layers(layers, o.exclude, pats)
        for name, reason in skipped.items():
            if pats[name].kind != "dense":  # its "why" says it already
                why[name] = {**why[name], "skipped": reason}
        check_pattern(chosen, pats, s)
        if o.scope != "layer" and uniform(pats, [lyr.name for lyr in chosen]) is None:
            raise InputError(f"--scope {o.scope} ranks all layers with one budget, but the "
                             "layers have different patterns here ("
                             + ", ".join(f"{n}: {why[n]['pattern']}" for n in names) + ").",
                             "Use --scope layer with per-layer patterns.")
        out[s] = (pats, {"target": o.target, "core": core, "sparsity": s,
                         "tolerance": o.pattern_tolerance, "layers": why})
    return out


def _batches(loader: Any) -> int:
    try:
        return len(loader)
    except TypeError:
        return sum(1 for _ in loader)


def qat_run(gm: fx.GraphModule, data: Data, o: CompressOptions, teachers: Teachers | None,
            progress: Progress) -> tuple[fx.GraphModule, dict[str, tuple[float, float]]]:
    """Fine-tune under int8 fake quantization; returns the float model and its learned ranges."""
    gm = copy.deepcopy(gm)
    layers = prunable_layers(gm, data.example.to(o.device))
    zero = {lyr.name: (lyr.weight != 0).float() for lyr in layers}  # keep pruned weights at 0
    ins = qatmod.insert(gm)
    with torch.no_grad():  # initial ranges: min/max over calibration samples, as slimgen does
        calib = torch.from_numpy(data.calib).to(o.device)
        for i in range(0, len(calib), 64):
            gm(calib[i:i + 64])
    qatmod.start_quantizing(gm)
    total = max(1, o.qat_epochs * _batches(data.train))

    def after(step: int) -> None:
        apply_masks(layers, zero)
        if step == total // 2:
            qatmod.freeze_ranges(gm)

    fit(gm, data.train, o.qat_epochs, loss=o.loss, lr=o.qat_lr, device=o.device,
        teachers=teachers, alpha=o.alpha, temperature=o.temperature, after_step=after,
        progress=progress, name="qat", seed=o.seed, freeze_bn=True)
    qatmod.freeze_ranges(gm)
    learned = qatmod.ranges(gm)
    qatmod.remove(gm, ins)
    _, g = _ir(gm, data.example)
    names = {"input"} | {v.name for n in g.nodes for v in n.outputs}
    return gm, {k: v for k, v in learned.items() if k in names}


# -- the command -------------------------------------------------------------------------------

def _load_model(path: Path, data: Data, o: CompressOptions, what: str,
                n_out: int | None = None) -> tuple[fx.GraphModule, int]:
    gm, in_shape = load_working(path, tuple(data.example.shape), o.trust_pickle)
    k = check_against_model(data, gm, o.loss, in_shape, what, n_out)
    return gm.to(o.device), k


def compress(model: Path, o: CompressOptions) -> dict[str, Any]:
    """Run every requested stage; writes o.out, its report and (with QAT) its ranges."""
    pattern = _check_options(o)
    torch.manual_seed(o.seed)
    data = load_data(o.data, o.loss, o.batch_size, o.seed)
    gm, n_out = _load_model(model, data, o, "model")
    teacher_models = [_load_model(t, data, o, f"teacher {t}", n_out)[0] for t in o.teachers]
    student = None
    if o.student is not None:
        student = _load_model(o.student, data, o, f"student {o.student}", n_out)[0]
        if not teacher_models:
            teacher_models = [gm]  # distil the given model into the smaller student
    plans: dict[float, tuple[Pattern | dict[str, Pattern], dict[str, Any] | None]] = {}
    nm = pattern is not None and pattern.kind == "n:m"
    if o.sparsity or nm:
        base = student if student is not None else gm
        layers = prunable_layers(base, data.example)
        if pattern is not None and not o.layer_patterns:
            chosen, _ = select_layers(layers, o.exclude, pattern)
            for s in o.sparsity or [0.0]:
                if pattern.kind != "channel":
                    check_pattern(chosen, pattern, s)
            plans = {s: (pattern, None) for s in _levels(o, pattern)}
        else:
            plans = _per_layer_plans(base, layers, data, o, pattern)
    teachers = (Teachers(teacher_models, o.teacher_weights or None, o.temperature)
                if teacher_models else None)

    rep: dict[str, Any] = {"model": str(model), "data": data.source, "loss": o.loss,
                           "metric": "accuracy" if o.loss == "ce" else "mse",
                           "options": _jsonable(asdict(o)), "stages": []}
    with Progress(o.progress) as progress:
        rep["stages"].append(_measure("baseline", gm, data, o))
        for t, tm in zip(o.teachers, teacher_models if o.teachers else []):
            rep.setdefault("teachers", []).append(
                {"model": str(t), "float": evaluate(tm, data.test, o.loss, o.device)})
        if student is not None:
            rep["stages"].append(_measure("student before distillation", student, data, o))
            fit(student, data.train, o.distill_epochs or o.epochs, loss=o.loss, lr=o.lr,
                device=o.device, teachers=teachers, alpha=o.alpha, temperature=o.temperature,
                progress=progress, name="distill", seed=o.seed, freeze_bn=o.freeze_bn)
            gm = student
            rep["stages"].append(_measure("distilled", gm, data, o))
        if plans:
            sweep = []
            pruned = gm
            for s, (pats, why) in plans.items():
                pruned = prune_run(gm, data, o, pats, s, teachers, progress)
                label = o.pattern.strip().lower() if pattern is None else str(pattern)
                if o.layer_patterns:
                    label += " + --layer-pattern"
                rec = _measure(f"pruned {label} {s:g}", pruned, data, o, sparsity=s)
                if why is not None:
                    rec["layer_patterns"] = why
                if "sg_obs" in pruned.meta:
                    rec["obs"] = pruned.meta["sg_obs"]
                sweep.append(rec)
                if len(o.sparsity) > 1:
                    p = o.out.with_name(f"{o.out.stem}.sparsity-{s:g}.pt2")
                    torch.export.save(export(_cpu(pruned), data.example), str(p))
                    rec["saved"] = str(p)
            rep["stages"] += sweep
            gm = pruned
            if o.plot is not None:
                plot_sweep(rep["stages"][0], sweep, o.plot, rep["metric"])
                rep["plot"] = str(o.plot)
        ranges = None
        if o.qat:
            gm, ranges = qat_run(gm, data, o, teachers, progress)
            rep["stages"].append(_measure("qat", gm, data, o, ranges))
        if o.share_weights:  # last: the shared values are what the int8 model multiplies
            gm, books = share.share_run(gm, data, o, teachers, progress)
            rec = _measure(f"shared {o.share_weights}", gm, data, o, ranges)
            rec["int8_values"] = share.int8_values(gm, data, ranges)
            rec["codebooks"] = books
            rep["stages"].append(rec)
    ep = export(_cpu(gm), data.example)
    torch.export.save(ep, str(o.out))
    rpath = o.out.with_name(o.out.stem + RANGES_SUFFIX)
    if ranges:
        from ..quant.calibrate import RANGES_FORMAT

        digest = hashlib.sha256(o.out.read_bytes()).hexdigest()
        rpath.write_text(json.dumps({"format": RANGES_FORMAT, "model_sha256": digest,
                                     "ranges": {k: list(v) for k, v in sorted(ranges.items())}},
                                    indent=1) + "\n")
        rep["ranges"] = str(rpath)
    elif rpath.exists():
        rpath.unlink()  # a stale file would now name the wrong model
    rep["layers"] = layer_table(gm, data.example)
    rep["output"] = str(o.out)
    o.out.with_name(o.out.stem + ".report.json").write_text(json.dumps(rep, indent=1) + "\n")
    return rep


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else
                [str(x) if isinstance(x, Path) else x for x in v] if isinstance(v, list) else v)
            for k, v in d.items()}


def plot_sweep(base: dict[str, Any], sweep: list[dict[str, Any]], path: Path, metric: str) -> None:
    """PNG of the metric against sparsity, float and int8, with the unpruned model at 0."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib.", "pip install 'slimgen[compress]'") from None
    xs = [0.0] + [r["sparsity"] for r in sweep]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for kind, style in (("float", "o-"), ("int8", "s--")):
        ys = [base[kind][metric if metric == "accuracy" else "loss"]] + [
            r[kind][metric if metric == "accuracy" else "loss"] for r in sweep]
        ax.plot(xs, ys, style, label=kind)
    ax.set_xlabel("sparsity (fraction of weights zero)")
    ax.set_ylabel("test accuracy" if metric == "accuracy" else "test MSE")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
