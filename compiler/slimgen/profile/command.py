"""The ``slimgen profile`` command (registered in slimgen/cli.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from slimgen.profile.cores import CORES


@click.command("profile")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--core", default="m4", show_default=True,
              help=f"Core to profile on: {'|'.join(CORES)}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def profile_cmd(out: Path, core: str, as_json: bool) -> None:
    """Exact instructions and estimated cycles per layer of build folder OUT, no board needed."""
    from slimgen.cli import run_guarded
    from slimgen.profile.model import profile_build

    def go() -> int:
        res = profile_build(out, core)
        if as_json:
            click.echo(json.dumps(res, sort_keys=True))
        else:
            _print(res)
        return 0 if res["bit_exact"] else 1

    run_guarded(go)


def _print(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"profile on cortex-{res['core']} ({res['cycle_model']})")
    for col, just in (("layer", "left"), ("op", "left"), ("kernel", "left"), ("MACs", "right"),
                      ("instructions", "right"), ("est. cycles", "right"),
                      ("[low, high]", "right"), ("MAC/cycle", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for lyr in res["per_layer"]:
        mpc = f"{lyr['macs'] / lyr['cycles_est']:.2f}" if lyr["macs"] and lyr["cycles_est"] else ""
        t.add_row(lyr["name"], lyr["op"], lyr["kernel"], f"{lyr['macs']:,}",
                  f"{lyr['instructions']:,}", f"{lyr['cycles_est']:,}",
                  f"[{lyr['cycles_low']:,}, {lyr['cycles_high']:,}]", mpc)
    t.add_row("(calls between layers)", "", "", "", f"{res['glue_instructions']:,}", "", "", "")
    t.add_row("[bold]inference[/bold]", "", "", f"{res['macs_per_inference']:,}",
              f"[bold]{res['instructions_per_inference']:,}[/bold]",
              f"[bold]{res['cycles_est_per_inference']:,}[/bold]",
              f"[{res['cycles_low_per_inference']:,}, {res['cycles_high_per_inference']:,}]",
              f"{res['macs_per_cycle_est'] or 0:.2f}")
    import sys

    con = Console(width=None if sys.stdout.isatty() else 150)
    con.print(t)
    con.print(f"cycles: {res['note']}; instructions: exact ({res['counting']})")
    con.print(f"input: {res['input']}; output bit-exact with the integer reference: "
              f"{'yes' if res['bit_exact'] else '[red]NO[/red]'}")
