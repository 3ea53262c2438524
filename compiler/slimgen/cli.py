"""`slimgen build | verify | ...`: a thin command line over slimgen.api.

User errors (SlimgenError) print one paragraph and exit 2 with no traceback; a failed
verification exits 1.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from . import __version__
from .errors import SlimgenError


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class _Progress:
    """Progress on stderr: a rich bar on a terminal, nothing when piped (CI logs stay clean)."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, int], None]:
        if self.enabled:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=_console())
            self.bar.start()
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        if not self.bar:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()


def run_guarded(fn: Callable[[], int | None]) -> None:
    """Run a command: user errors as one paragraph (exit 2), slimgen bugs as one line (exit 3).

    SLIMGEN_DEBUG=1 shows torch's warnings and the traceback of an internal error.
    """
    debug = bool(os.environ.get("SLIMGEN_DEBUG"))
    if not debug:
        # torch.export warns about its own internals; nothing a user of slimgen can act on.
        warnings.simplefilter("ignore")
    try:
        code = fn()
    except SlimgenError as e:
        click.echo(f"slimgen: error: {e.render()}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("slimgen: interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        if debug:
            raise
        click.echo(f"slimgen: internal error: {type(e).__name__}: {e}\n  This is a slimgen bug. "
                   "Rerun with SLIMGEN_DEBUG=1 for the traceback and report it.", err=True)
        sys.exit(3)
    sys.exit(code or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slimgen")
def main() -> None:
    """slimgen: compile a trained PyTorch model into small, bit-exact int8 C for Cortex-M."""


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--calib", "calib", default=None, type=click.Path(path_type=Path),
              help="Calibration samples: .npz with key 'x', float32, batch first, model layout. "
                   "Not needed for an int8 .tflite, which keeps its own quantization.")
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output folder (created; replaced only if slimgen made it, or with --force).")
@click.option("--name", default=None, help="C prefix of every symbol (default: model file stem).")
@click.option("--target", default="host", show_default=True,
              help="host, or a core: cortex-m0plus|m3|m4|m7|m33|m55.")
@click.option("--board", default=None, help="Board from boards/ to build firmware for.")
@click.option("--calib-method", type=click.Choice(["minmax", "percentile"]), default="minmax",
              show_default=True, help="How activation ranges are chosen from calibration.")
@click.option("--percentile", type=click.FloatRange(50.0, 100.0), default=99.99,
              show_default=True, help="Percentile kept with --calib-method percentile.")
@click.option("--ranges", type=click.Path(path_type=Path), default=None,
              help="Activation ranges learned by 'slimgen compress --qat' (MODEL.ranges.json); "
                   "they replace the calibrated ranges of the tensors they name.")
@click.option("--trust-pickle", is_flag=True,
              help="Allow loading a pickled nn.Module (unpickling runs code from the file).")
@click.option("--force", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--sparse", default="off", show_default=True,
              type=click.Choice(["auto", "off", "unstructured", "bsr1x4", "nm2:4", "nm1:4",
                                 "shared"]),
              help="Sparse kernels for fc and conv layers: auto picks, per layer, the format "
                   "with the lowest estimated cycles (dense when none pays); a format name "
                   "uses it wherever the weights fit. report.json says what and why.")
@click.option("--sparse-objective", type=click.Choice(["speed", "size"]), default="speed",
              show_default=True,
              help="What --sparse auto minimises: estimated cycles, or weight bytes among the "
                   "formats not estimated slower than dense (flash-bound targets).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
def build(model: Path, calib: Path, out: Path, name: str | None, target: str, board: str | None,
          calib_method: str, percentile: float, ranges: Path | None, trust_pickle: bool,
          force: bool, sparse: str, sparse_objective: str, quiet: bool) -> None:
    """Compile MODEL (.pt2, TorchScript .pt, int8 .tflite) into int8 C in folder OUT."""
    from . import api

    def go() -> int:
        opts = api.BuildOptions(name=name, trust_pickle=trust_pickle, calib_method=calib_method,
                                percentile=percentile, force=force, target=target, board=board,
                                ranges=str(ranges) if ranges else None, sparse=sparse,
                                sparse_objective=sparse_objective)
        extra = _firmware_hook(opts)
        with _Progress(quiet) as progress:
            rep = api.build(model, calib, out, opts, progress, extra)
        if not quiet:
            _print_build_summary(rep, out)
        return 0

    run_guarded(go)


def _firmware_hook(opts: Any) -> Any:
    if opts.target == "host" and opts.board is None:
        return None
    try:
        from .firmware.integration import firmware_hook
    except ImportError:
        raise SlimgenError("firmware targets are not available in this slimgen build.",
                           "Use --target host.") from None
    return firmware_hook(opts.target, opts.board)


def _print_build_summary(rep: dict[str, Any], out: Path) -> None:
    from rich.table import Table

    con = _console()
    sparse = [lyr for lyr in rep["layers"] if lyr.get("sparse")]
    t = Table(title=f"{rep['name']}: {len(rep['layers'])} layers -> {out}")
    cols = ["layer", "op", "kernel", "output", "MACs", "weight bytes"]
    if sparse:
        cols.append("density / est. speedup")
    # on a narrow (piped, 80-column) console the kernel name keeps its end, which says which
    # sparse format was chosen; the headers wrap instead
    width = max((len(lyr["kernel"] or "-") for lyr in rep["layers"]), default=1)
    for col in cols:
        t.add_column(col, justify="left" if col in ("layer", "op", "kernel", "output") else "right",
                     min_width=width if col == "kernel" else None, no_wrap=col == "kernel")
    for lyr in rep["layers"]:
        row = [lyr["name"], lyr["op"], lyr["kernel"] or "-",
               "x".join(map(str, lyr["output_shape"])), f"{lyr['macs']:,}",
               f"{lyr['weight_bytes']:,}"]
        if sparse:
            row.append(_sparse_cell(lyr.get("sparse")))
        t.add_row(*row)
    con.print(t)
    con.print(f"MACs {rep['total_macs']:,}  weights {rep['weight_bytes']:,} B  "
              f"arena {rep['arena_bytes']:,} B (peak at {rep['arena_peak_layer']})")
    if sparse:
        dense, chosen, blocks = _sparse_est(sparse)
        core = sparse[0]["sparse"].get("core", "?")
        n = sum(1 for lyr in sparse if lyr["sparse"]["format"] != "dense")
        con.print(f"sparse: {n} of {len(sparse)} candidate layers sparse; their estimated cycles "
                  f"on {core} {dense:,} dense -> {chosen:,} ({dense / max(chosen, 1):.2f}x; "
                  "per-candidate figures in report.json, measured: slimgen profile)")
        if blocks < 0.9 * chosen:
            target = (rep.get("firmware") or {}).get("target") or f"cortex-{core}"
            con.print(f"hint: the same non-zeros in 1x4 blocks (slimgen compress --pattern block) "
                      f"would estimate {blocks:,} cycles ({dense / max(blocks, 1):.2f}x dense; "
                      "'repruned' in report.json); 'slimgen compress --pattern auto --target "
                      f"{target}' picks each layer's pattern by these estimates")


def _est_of(sp: dict[str, Any], fmt: str) -> int:
    return next((int(c["est_cycles"]) for c in sp.get("candidates", []) if c["format"] == fmt), 0)


def _sparse_cell(sp: dict[str, Any] | None) -> str:
    """`34% 1.22x` for a layer that went sparse, `41% dense` for one that stayed dense."""
    if not sp:
        return ""
    density = f"{100 * sp['density']:.0f}%"
    dense, chosen = _est_of(sp, "dense"), _est_of(sp, sp["format"])
    if sp["format"] == "dense" or not dense or not chosen:
        return f"{density} dense"
    return f"{density} {dense / chosen:.2f}x"


def _sparse_est(layers: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Estimated cycles of the sparse candidate layers: all dense, as chosen, and as chosen or,
    where cheaper, re-pruned in 1x4 blocks (report.json ``repruned``)."""
    dense = chosen = blocks = 0
    for lyr in layers:
        sp = lyr["sparse"]
        own = _est_of(sp, sp["format"]) or _est_of(sp, "dense")
        dense += _est_of(sp, "dense")
        chosen += own
        blocks += min(own, sp["repruned"]["est_cycles"]) if "repruned" in sp else own
    return dense, chosen, blocks


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--inputs", "inputs", required=True, type=click.Path(path_type=Path),
              help="Test samples: .npz with 'x' (float32 like the calibration data, or int8) and "
                   "optional 'y' labels (-1 = none).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--save-outputs", type=click.Path(path_type=Path), default=None,
              help="Write the C's raw int8 outputs to this .npz (key y_int8).")
@click.option("-q", "--quiet", is_flag=True)
def verify(out: Path, inputs: Path, as_json: bool, save_outputs: Path | None,
           quiet: bool) -> None:
    """Compile OUT's C on the host and check it bit for bit against the integer reference."""
    from . import api

    def go() -> int:
        with _Progress(quiet or as_json) as progress:
            res = api.verify(out, inputs, progress)
        outputs = res.pop("_outputs_int8")
        if save_outputs is not None:
            try:
                np.savez(save_outputs, y_int8=outputs)
            except OSError as e:
                raise SlimgenError(f"cannot write --save-outputs {save_outputs} ({e.strerror}).",
                                   "Choose a writable path.") from None
        if as_json:
            click.echo(json.dumps(res, sort_keys=True))
        else:
            _print_verify(res)
        return 0 if res["bit_exact"] else 1

    run_guarded(go)


def _print_verify(res: dict[str, Any]) -> None:
    from rich.table import Table

    t = Table(title=f"verify {res['model']}", show_header=False)
    t.add_column("metric")
    t.add_column("value", justify="right")
    ok = "[green]yes[/green]" if res["bit_exact"] else "[red]NO[/red]"
    t.add_row("bit-exact (C == integer reference)", ok)
    t.add_row("samples", str(res["samples"]))
    if not res["bit_exact"]:
        t.add_row("mismatched samples", str(res["mismatched_samples"]))
        t.add_row("first mismatch", json.dumps(res["first_mismatch"]))
    for key, label in (("cosine", "cosine float vs int8"), ("max_abs_error", "max |float - int8|"),
                       ("top1_agreement", "top-1 agreement"), ("accuracy_float", "accuracy float"),
                       ("accuracy_int8", "accuracy int8")):
        if key in res:
            t.add_row(label, f"{res[key]:.4f}")
    from rich.console import Console

    Console().print(t)


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "data", required=True,
              help="Training data: .npz with x_train, y_train, x_test, y_test (x_val, y_val "
                   "optional), or module:function returning (train, test[, val]) DataLoaders.")
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Compressed model (.pt2); SMALL.report.json (and SMALL.ranges.json with --qat) "
                   "are written beside it.")
@click.option("--loss", type=click.Choice(["ce", "mse"]), default="ce", show_default=True)
@click.option("--pattern", default="unstructured", show_default=True,
              help="unstructured | N:M (2:4, 1:4) | block (1x4 along the reduction axis) | channel "
                   "| auto (per layer, the least constraining pattern within --pattern-tolerance "
                   "of the fastest on --target's cost model).")
@click.option("--target", "pattern_target", default=None,
              help="With --pattern auto: the 'slimgen build --target' whose cost model prices "
                   "each layer (e.g. cortex-m4).")
@click.option("--pattern-tolerance", default=0.10, show_default=True,
              help="--pattern auto: a less constraining pattern may be this much slower.")
@click.option("--layer-pattern", "layer_patterns", multiple=True,
              help="NAME=PATTERN: this layer's pattern, over --pattern or auto (repeatable; "
                   "wildcards).")
@click.option("--sparsity", default="", help="Fraction of weights (channel: of output channels) "
              "removed, e.g. 0.8; a list 0.5,0.7,0.9 runs a sweep (-o gets the last).")
@click.option("--scope", type=click.Choice(["layer", "global", "output"]), default="layer",
              show_default=True, help="One threshold per layer, or one for all layers; output "
              "(--prune-method obs): per-layer sparsities with the least model-output error.")
@click.option("--exclude", multiple=True, help="Layer to leave dense (repeatable; wildcards).")
@click.option("--epochs", default=10, show_default=True, help="Fine-tuning epochs per pruning run.")
@click.option("--prune-steps", default=10, show_default=True,
              help="Pruning updates of the Zhu & Gupta schedule.")
@click.option("--prune-method", type=click.Choice(["magnitude", "obs"]), default="magnitude",
              show_default=True,
              help="magnitude: gradual Zhu & Gupta schedule during fine-tuning; obs: one-shot "
                   "layer-wise Optimal Brain Surgeon reconstruction from calibration samples, "
                   "then --epochs of fine-tuning with the mask fixed (0: none).")
@click.option("--obs-samples", default=1024, show_default=True,
              help="Training samples whose layer inputs give the OBS Hessians.")
@click.option("--obs-damp", default=0.01, show_default=True,
              help="OBS dampening: H + damp * mean(diag H) * I.")
@click.option("--obs-steps", default=1, show_default=True,
              help="OBS passes to the target on the Zhu & Gupta schedule, spread over the first "
                   "two thirds of fine-tuning (1: one-shot before fine-tuning).")
@click.option("--freeze-bn", is_flag=True,
              help="Prune/distil with BatchNorm on its running statistics (small or heavily "
                   "augmented data: batch statistics would drift).")
@click.option("--teacher", "teachers", multiple=True, type=click.Path(path_type=Path),
              help="Teacher model (repeatable: ensemble of averaged soft outputs).")
@click.option("--teacher-weight", "teacher_weights", multiple=True, type=float,
              help="Weight of each teacher in the ensemble average (one per --teacher).")
@click.option("--student", type=click.Path(path_type=Path), default=None,
              help="Smaller architecture to distil into (default: the pruned model itself).")
@click.option("--temperature", default=4.0, show_default=True)
@click.option("--alpha", default=0.9, show_default=True,
              help="Weight of the soft (teacher) term: alpha*T^2*KL + (1-alpha)*CE.")
@click.option("--distill-epochs", default=0, help="Epochs of student distillation (0: --epochs).")
@click.option("--qat", is_flag=True, help="Quantization-aware fine-tuning; writes learned ranges.")
@click.option("--qat-epochs", default=3, show_default=True)
@click.option("--share-weights", default=0, show_default=True,
              help="K: weight sharing (Han et al.): each fc / conv layer keeps at most K - 1 "
                   "distinct non-zero int8 weights (3..16), for '--sparse shared' (0: off).")
@click.option("--share-epochs", default=3, show_default=True,
              help="Fine-tuning epochs of the shared values (with --share-weights).")
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--qat-lr", default=1e-4, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda[:N].")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="PNG of accuracy against sparsity (with a --sparsity sweep).")
@click.option("--trust-pickle", is_flag=True,
              help="Allow loading pickled nn.Modules (unpickling runs code from the file).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
def compress(model: Path, data: str, out: Path, loss: str, pattern: str,
             pattern_target: str | None, pattern_tolerance: float,
             layer_patterns: tuple[str, ...], sparsity: str, scope: str, exclude: tuple[str, ...], epochs: int, prune_steps: int,
             prune_method: str, obs_samples: int, obs_damp: float, obs_steps: int,
             freeze_bn: bool,
             teachers: tuple[Path, ...], teacher_weights: tuple[float, ...],
             student: Path | None, temperature: float, alpha: float, distill_epochs: int,
             qat: bool, qat_epochs: int, share_weights: int, share_epochs: int, lr: float,
             qat_lr: float, batch_size: int, seed: int,
             device: str, plot: Path | None, trust_pickle: bool, quiet: bool) -> None:
    """Prune, distil and/or quantization-aware train MODEL into a smaller .pt2 for 'build'."""
    def go() -> int:
        from .compress.report import print_summary
        from .compress.run import CompressOptions, compress as run

        try:
            levels = [float(s) for s in sparsity.split(",") if s.strip()]
        except ValueError:
            raise SlimgenError(f"--sparsity {sparsity!r} is not a number or a comma list.",
                               "Pass e.g. --sparsity 0.8 or --sparsity 0.5,0.7,0.9.") from None
        opts = CompressOptions(
            data=data, out=out, loss=loss, pattern=pattern, target=pattern_target,
            pattern_tolerance=pattern_tolerance, layer_patterns=list(layer_patterns),
            sparsity=levels, scope=scope,
            exclude=list(exclude), epochs=epochs, prune_steps=prune_steps,
            prune_method=prune_method, obs_samples=obs_samples, obs_damp=obs_damp,
            obs_steps=obs_steps,
            freeze_bn=freeze_bn,
            teachers=list(teachers), teacher_weights=list(teacher_weights), student=student,
            temperature=temperature, alpha=alpha, distill_epochs=distill_epochs, qat=qat,
            qat_epochs=qat_epochs, share_weights=share_weights, share_epochs=share_epochs,
            lr=lr, qat_lr=qat_lr, batch_size=batch_size, seed=seed,
            device=device, plot=plot, trust_pickle=trust_pickle,
            progress=not quiet and sys.stderr.isatty())
        rep = run(model, opts)
        if not quiet:
            print_summary(rep, _console())
        return 0

    run_guarded(go)


def _register_optional() -> None:
    """Commands that live in other subpackages register here when present."""
    try:
        from .firmware import commands
    except ImportError:
        return
    for attr in ("run_cmd", "flash_cmd", "analyze_cmd"):
        cmd = getattr(commands, attr, None)
        if cmd is not None:
            main.add_command(cmd)


_register_optional()

from .profile.command import profile_cmd  # noqa: E402  (after main exists)

main.add_command(profile_cmd)
