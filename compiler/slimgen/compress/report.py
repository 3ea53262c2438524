"""The readable summary of a ``slimgen compress`` report (the JSON holds everything)."""

from __future__ import annotations

from typing import Any


def _metric(rec: dict[str, Any], kind: str, metric: str) -> str:
    v = rec[kind].get("accuracy" if metric == "accuracy" else "loss")
    return f"{100 * v:.2f} %" if metric == "accuracy" else f"{v:.5f}"


def print_summary(rep: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    metric = rep["metric"]
    t = Table(title=f"slimgen compress -> {rep['output']}")
    for col in ("stage", f"{metric} float", f"{metric} int8", "params", "non-zero weights",
                "weight bytes (int8, dense)"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for r in rep["stages"]:
        t.add_row(r["stage"], _metric(r, "float", metric), _metric(r, "int8", metric),
                  f"{r['params']:,}", f"{r['nonzero_weights']:,}", f"{r['weight_bytes']:,}")
    console.print(t)
    for tr in rep.get("teachers", []):
        console.print(f"teacher {tr['model']}: {metric} float "
                      f"{_metric(tr, 'float', metric)}")
    lt = Table(title="layers")
    for col in ("layer", "weight shape", "params", "non-zero", "sparsity"):
        lt.add_column(col, justify="left" if col in ("layer", "weight shape") else "right")
    for lyr in rep["layers"]:
        lt.add_row(lyr["name"], "x".join(map(str, lyr["shape"])), f"{lyr['params']:,}",
                   f"{lyr['nonzero']:,}", f"{100 * lyr['sparsity']:.1f} %")
    console.print(lt)
    plan = next((r["layer_patterns"] for r in reversed(rep["stages"]) if "layer_patterns" in r),
                None)
    if plan is not None:
        print_layer_patterns(plan, console)
    out = rep["output"]
    stem = out.removesuffix(".pt2")
    console.print(f"report: {stem}.report.json" + (f"   plot: {rep['plot']}" if "plot" in rep
                                                   else ""))
    if "ranges" in rep:
        console.print(f"QAT activation ranges: {rep['ranges']} (slimgen build uses them with "
                      f"--ranges {rep['ranges']})")


def print_layer_patterns(plan: dict[str, Any], console: Any) -> None:
    """Per layer: the pattern, the format the build will pick, why, and (``--pattern auto``)
    the estimated cycles of each candidate pattern (its format) and of the dense kernel."""
    core = plan.get("core")
    console.print(f"per-layer patterns at sparsity {plan['sparsity']:g}"
                  + (f", est. cycles on {core} (tolerance {plan['tolerance']:.0%}):" if core
                     else ":"))
    for name, r in plan["layers"].items():
        head = f"  {name}: {r['pattern']}"
        if r.get("build_format") and r["build_format"] != r["pattern"]:
            head += f" -> {r['build_format']}"
        cands = ", ".join(f"{p} {c['est_cycles']:,} ({c['format']})"
                          for p, c in r.get("patterns", {}).items())
        if "dense_cycles" in r:
            cands = f"dense {r['dense_cycles']:,}" + (f", {cands}" if cands else "")
        why = r["why"] + (f"; {r['skipped']}" if "skipped" in r else "")
        console.print(f"{head}   [{cands}]   {why}" if cands else f"{head}   {why}",
                      highlight=False, markup=False)
