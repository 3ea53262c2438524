"""Click commands ``slimgen run``, ``slimgen flash`` and ``slimgen analyze``.

slimgen.cli registers ``run_cmd``, ``flash_cmd`` and ``analyze_cmd`` from this module.
``run`` needs the host pipeline's ``slimgen.api`` for the quantized inputs and the reference
outputs; everything else here is the firmware package's own.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import numpy as np

from slimgen.firmware.errors import FirmwareError, FirmwareFault, FirmwareTimeout


def _guarded(fn: Any) -> None:
    from slimgen.cli import run_guarded

    run_guarded(fn)


def _host_api() -> Any:
    try:
        from slimgen import api
    except ImportError as e:
        raise FirmwareError(f"slimgen run needs the host pipeline (slimgen.api), which failed to "
                            f"import: {e}") from None
    for fn in ("load_built", "quantize_inputs", "reference_outputs"):
        if not hasattr(api, fn):
            raise FirmwareError(f"slimgen.api has no {fn}(); this slimgen is incomplete")
    return api


def reference_for(out: Path, inputs: Path) -> tuple[np.ndarray, np.ndarray]:
    """(int8 inputs as the C reads them, int8 reference outputs) for a test .npz.

    An ``expected`` int8 array in the .npz is used as the reference as it is (checked-in
    vectors); otherwise the host integer reference computes it.
    """
    from slimgen.data import load_npz, samples

    api = _host_api()
    arrays = load_npz(inputs, "test input")
    x = samples(arrays, inputs, "test input", allow_int8=True)
    _, qg, _ = api.load_built(out)
    xq = api.quantize_inputs(qg, x, inputs)
    if "expected" in arrays:
        return xq, np.asarray(arrays["expected"], dtype=np.int8)
    return xq, api.reference_outputs(out, x)


@click.command("run")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--inputs", "inputs", required=True, type=click.Path(path_type=Path),
              help="Test samples: .npz with 'x' (float32 in model layout, or int8), optionally "
                   "'expected' int8 outputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--timeout", type=float, default=None,
              help="Seconds before a silent firmware counts as hung [60 + 2 per sample].")
def run_cmd(out: Path, inputs: Path, as_json: bool, timeout: float | None) -> None:
    """Boot OUT's firmware in QEMU, run every sample, compare bit for bit with the host."""
    from slimgen.firmware.qemu import run_on_board

    def go() -> int:
        xq, expected = reference_for(out, inputs)
        try:
            res = run_on_board(out, xq, expected, timeout=timeout)
        except (FirmwareFault, FirmwareTimeout) as e:
            if not as_json:
                raise
            failure = {"bit_exact": False, "samples": len(xq), "error": str(e)}
            if isinstance(e, FirmwareFault):
                failure |= {"fault_pc": f"0x{e.pc:08x}", "fault_where": e.where}
            click.echo(json.dumps(failure, sort_keys=True))
            return 1
        if as_json:
            click.echo(json.dumps(res, sort_keys=True))
        else:
            _print_run(res)
        return 0 if res["bit_exact"] else 1

    _guarded(go)


def _print_run(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ok = "[green]bit-exact[/green]" if res["bit_exact"] else "[red]NOT bit-exact[/red]"
    t = Table(title=f"{res['board']} ({res['target']}): {res['samples']} samples, {ok}")
    for col in ("layer", "op", "MACs", "instructions", "instr/MAC"):
        t.add_column(col, justify="left" if col in ("layer", "op") else "right")
    for p in res["per_layer"]:
        per_mac = f"{p['instructions'] / p['macs']:.2f}" if p["macs"] else "-"
        t.add_row(p["name"], p["op"], f"{p['macs']:,}", f"{p['instructions']:,}", per_mac)
    t.add_row("total", "", "", f"{res['instructions_per_inference']:,}", "")
    con = Console()
    con.print(t)
    for m in res["mismatches"]:
        con.print(f"sample {m['sample']}: byte {m['index']} expected {m['expected']} got "
                  f"{m['got']} ({m['differing']} bytes differ)")
    for s in res["status_errors"]:
        con.print(f"sample {s['sample']}: the model returned status {s['status']}")


@click.command("flash")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--probe", default=None, help="Debug probe serial number (one of several).")
@click.option("--tool", type=click.Choice(["pyocd", "openocd"]), default=None,
              help="Flash tool [pyocd if installed, else openocd].")
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
def flash_cmd(out: Path, probe: str | None, tool: str | None, dry_run: bool) -> None:
    """Flash OUT's firmware onto a real board with pyOCD or OpenOCD."""
    from slimgen.firmware.flash import check_installed, flash_command

    def go() -> int:
        cmd = flash_command(out, tool, probe)
        if dry_run:
            click.echo(shlex.join(cmd))
            return 0
        check_installed(cmd)
        return subprocess.run(cmd).returncode

    _guarded(go)


@click.command("analyze")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--board", default=None, help="Compare the totals with this board's flash and RAM.")
@click.option("--input-shape", default=None,
              help="Example input shape, batch first, e.g. 1,1,8,8 (TorchScript models).")
@click.option("--trust-pickle", is_flag=True,
              help="Allow loading a pickled nn.Module (unpickling runs code from the file).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def analyze_cmd(model: Path, board: str | None, input_shape: str | None, trust_pickle: bool,
                as_json: bool) -> None:
    """Per-layer MACs, parameters, weight and activation bytes of MODEL, before compiling."""

    def go() -> int:
        from slimgen import api

        shape = _parse_shape(input_shape) if input_shape else None
        rep = api.analyze(model, shape, trust_pickle)
        fits = True
        if board is not None:
            rep["board"] = _board_fit(rep, board)
            fits = not rep["board"]["problems"]
        if as_json:
            click.echo(json.dumps(rep, sort_keys=True))
        else:
            _print_analyze(rep)
        return 0 if fits else 1

    _guarded(go)


def _parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) < 2 or any(d <= 0 for d in shape):
        from slimgen.errors import InputError

        raise InputError(f"--input-shape {text!r} is not a shape.",
                         "Give positive sizes, batch first, separated by commas: 1,3,32,32.")
    return shape


def _board_fit(rep: dict[str, Any], board: str) -> dict[str, Any]:
    from dataclasses import asdict

    from slimgen.firmware.boards import load_board
    from slimgen.firmware.build import estimate_fit

    brd = load_board(board)
    ops = {lyr["op"] for lyr in rep["layers"] if lyr["weight_bytes"] or lyr["macs"]}
    fit = estimate_fit(brd, weight_bytes=rep["weight_bytes"], arena_bytes=rep["arena_bytes"],
                       input_bytes=rep["input_bytes"], output_bytes=rep["output_bytes"],
                       layers=len(rep["layers"]), kernel_files=max(1, len(ops)))
    return asdict(fit) | {"problems": fit.problems()}


def _print_analyze(rep: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{rep['name']}: {len(rep['layers'])} layers (int8 estimate)")
    for col in ("layer", "op", "output", "MACs", "params", "weight B", "activation B"):
        t.add_column(col, justify="left" if col in ("layer", "op", "output") else "right")
    for lyr in rep["layers"]:
        t.add_row(lyr["name"], lyr["op"], "x".join(map(str, lyr["output_shape"])),
                  f"{lyr['macs']:,}", f"{lyr['params']:,}", f"{lyr['weight_bytes']:,}",
                  f"{lyr['activation_bytes']:,}")
    con = Console()
    con.print(t)
    con.print(f"MACs {rep['total_macs']:,}  params {rep['total_params']:,}  weights "
              f"{rep['weight_bytes']:,} B  arena {rep['arena_bytes']:,} B")
    fit = rep.get("board")
    if fit:
        con.print(f"{fit['board']}: flash ~{fit['flash_need']:,} / {fit['flash_size']:,} B, "
                  f"RAM ~{fit['ram_need']:,} / {fit['ram_size']:,} B")
        for p in fit["problems"]:
            con.print(f"[red]does not fit[/red]: {p}")
