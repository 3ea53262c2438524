"""MLPerf Tiny on emulated Cortex-M boards: size, RAM, instructions, accuracy -> docs/benchmarks.md.

    python3 benchmarks/mlperf_tiny.py [--data ../shared/data] [--samples 3] [--no-pytorch]

For each of the four int8 reference models (imported from their .tflite, quantization kept):

1. host: ``slimgen build MODEL.tflite`` and the generated C run on *every* test sample; every
   output byte is compared with TFLite Micro's (``tflm_int8``; AD: per-clip scores), and the
   int8 accuracy is measured;
2. for each emulated board: ``slimgen build --target --board`` and ``slimgen run`` on the first
   ``--samples`` samples (bit-exact against the host and TFLM), recording flash, RAM,
   instructions per inference;
3. TFLite Micro's own arena for the same model, from the ``tflite-micro`` Python interpreter
   (``pip install -e .[bench]``);
4. unless ``--no-pytorch``: slimgen's PyTorch -> int8 accuracy (examples/mlperf_tiny/evaluate.py).

Emulator figures are instruction counts (QEMU -icount), not board cycles.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slimgen import api

from tests.realdata import mlperf_data as md

BOARDS = (("mps2-an386", "cortex-m4"), ("mps2-an500", "cortex-m7"),
          ("mps2-an505", "cortex-m33"), ("mps3-an547", "cortex-m55"))
NAMES = {"kws": "KWS DS-CNN", "vww": "VWW MobileNetV1-0.25", "ic": "IC ResNet-8",
         "ad": "AD FC auto-encoder"}


def slimgen(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "slimgen", *args], capture_output=True,
                          text=True, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"slimgen {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def host_check(b: md.Bench, out: Path) -> dict:
    """Every test sample through the host C: bytes vs TFLM, and the int8 accuracy."""
    rep = json.loads((out / "report.json").read_text())
    _, qg, _ = api.load_built(out)
    if b.key == "ad":
        scores, exact = [], 0
        for i, clip in enumerate(b.x_int8):
            w = md.ad_windows(clip)
            s = md.ad_score(w, api.run_host(out, md.ad_quantize(w, qg.inputs[0].q.scale)),
                            qg.outputs[0].q.scale)
            scores.append(s)
            exact += abs(s - b.tflm_int8[i]) <= 1e-12 * b.tflm_int8[i]
        return {"exact": exact, "n": len(b.x_int8), "metric": "AUC",
                "accuracy": md.auc(np.array(scores), b.y), "report": rep}
    y = api.run_host(out, b.x_int8)
    exact = int(np.all(y == b.tflm_int8, axis=1).sum())
    return {"exact": exact, "n": len(y), "metric": "top-1",
            "accuracy": float((y.argmax(1) == b.y).mean()), "report": rep}


def board_run(b: md.Bench, board: str, target: str, work: Path, samples: int) -> dict:
    out = work / f"{b.key}-{board}"
    slimgen("build", str(b.tflite), "--target", target, "--board", board, "-o", str(out), "-q",
            "--force")
    if b.key == "ad":
        _, qg, _ = api.load_built(out)
        x = md.ad_quantize(md.ad_windows(b.x_int8[0])[:samples], qg.inputs[0].q.scale)
        inputs = {"x": x}
    else:
        inputs = {"x": b.x_int8[:samples], "expected": b.tflm_int8[:samples]}
    npz = work / f"{b.key}-{board}.npz"
    np.savez(npz, **inputs)
    res = json.loads(slimgen("run", str(out), "--inputs", str(npz), "--json"))
    rep = json.loads((out / "report.json").read_text())
    return {"run": res, "report": rep}


def tflm_arena(tflite: Path) -> dict | None:
    """TFLite Micro's arena for the model (RecordingMicroAllocator), or None without the package."""
    code = ("import sys\nfrom tflite_micro.python.tflite_micro import runtime\n"
            "it = runtime.Interpreter.from_file(sys.argv[1])\nit.print_allocations()\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tflite)], capture_output=True,
                          text=True, check=False)
    text = proc.stdout + proc.stderr
    found = {k: re.search(rf"Arena allocation {k} (\d+) bytes", text)
             for k in ("total", "head", "tail")}
    if proc.returncode != 0 or not all(found.values()):
        return None
    return {k: int(m.group(1)) for k, m in found.items() if m}


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


def incumbent_instructions(data: Path) -> dict[str, int]:
    """Instructions per inference of TFLM + CMSIS-NN on QEMU's M4, from ../shared/reference."""
    ref = data.parent / "reference" / "tflm-e2e-m4.md"
    found: dict[str, int] = {}
    if ref.is_file():
        for line in ref.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) > 2 and cells[0].lower() in NAMES and cells[2].replace(",", "").isdigit():
                found[cells[0].lower()] = int(cells[2].replace(",", ""))
    return found


def render(results: dict, pytorch: dict | None, samples: int, seconds: float,
           incumbent: dict[str, int]) -> str:
    lines = [
        "# MLPerf Tiny benchmark",
        "",
        ("Generated by `python3 benchmarks/mlperf_tiny.py` (real models and test sets from "
        "`../shared/data`; " f"{seconds / 60:.0f} min on 2 cores). The models are the four int8 "
        "reference `.tflite` files, imported with `slimgen build MODEL.tflite` (their "
        "quantization kept, no calibration), so every figure below is for the same network "
        "TFLite Micro runs."),
        "",
        ("**Emulator instruction counts are not board cycles.** QEMU counts executed "
        "instructions exactly (`-icount`, see docs/firmware.md) but models no pipeline, wait "
        "states, caches or memory timing; an instruction costs one cycle or several on a real "
        "core, and the M7/M55 dual-issue. Compare the counts with each other and with other "
        "code on the same emulator, not with published board latencies. slimgen's kernels are "
        "currently the portable C99 ones on every core (no DSP/Helium path yet), which is why "
        "the four cores count nearly the same."),
        "",
        "## Correctness and memory (host build)",
        "",
        ("| model | MACs | weights + requant (B) | slimgen arena + input + output (B) | TFLM "
        "arena: total / activations incl. input and output (B) | bit-exact vs TFLM int8 | "
        "int8 accuracy (= TFLM) | slimgen PyTorch -> int8 |"),
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for key, r in results.items():
        h = r["host"]
        rep = h["report"]
        t = r["tflm_arena"]
        tflm = f"{t['total']:,} / {t['head']:,}" if t else "n/a (pip install -e .[bench])"
        exact = f"{h['exact']}/{h['n']} " + ("clip scores" if key == "ad" else "samples")
        acc = f"{h['accuracy']:.3f} AUC" if key == "ad" else f"{100 * h['accuracy']:.1f} %"
        pt = "-"
        if pytorch and key in pytorch:
            p = pytorch[key]
            pt = (f"{p['int8']:.3f} AUC" if key == "ad" else f"{100 * p['int8']:.1f} %") + \
                f" ({p['samples']} held-out)"
        io = rep["input"]["bytes"] + rep["output"]["bytes"]
        lines.append(f"| {NAMES[key]} | {rep['total_macs']:,} | {rep['weight_bytes']:,} | "
                     f"{rep['arena_bytes']:,} + {io:,} = {rep['arena_bytes'] + io:,} | {tflm} | "
                     f"{exact} | {acc} | {pt} |")
    lines += [
        "",
        ("slimgen's arena holds the activations and scratch between layers; the input and output "
        "buffers are the caller's and live outside it. TFLM plans the input and output inside "
        "its arena ('head'), where the input's space is reused once it is dead, and its total "
        "adds persistent tensor, node and kernel data ('tail'). Counting both the same way "
        "(activations + input + output), slimgen needs more than TFLM's head on every model: "
        "it keeps the caller's input alive for the whole inference, which a future in-arena "
        "input option would remove. The 'activations' figure is TFLM's RecordingMicroAllocator "
        "(`tflite-micro` Python package)."),
        "",
        f"## Emulated boards (instructions: largest over {samples} samples)",
        "",
        ("| model | board (core) | flash used (B) | of which weights | code + runtime | RAM: "
        "arena + stack est. (B) | instructions / inference | MAC / instruction | TFLM + "
        "CMSIS-NN, same emulated M4 |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in results.items():
        for board, target in BOARDS:
            br = r["boards"].get(board)
            if br is None:
                continue
            fw = br["report"]["firmware"]
            rep = br["report"]
            ins = br["run"]["instructions_per_inference"]
            ok = "" if br["run"]["bit_exact"] else " (NOT bit-exact)"
            code = fw["flash_used"] - rep["weight_bytes"]
            inc = incumbent.get(key) if target == "cortex-m4" else None
            inc_s = f"{inc:,} ({rep['total_macs'] / inc:.3f} MAC/instr)" if inc else ""
            lines.append(
                f"| {NAMES[key]} | {board} ({target.replace('cortex-', '')}) | "
                f"{fw['flash_used']:,} | {rep['weight_bytes']:,} | {code:,} | "
                f"{rep['arena_bytes']:,} + {fw['stack_estimate']:,} | {ins:,}{ok} | "
                f"{rep['total_macs'] / ins:.3f} | {inc_s} |")
    lines += [
        "",
        ("Flash is `.text + .data` of the whole firmware image, including the test harness "
        "(semihosting, SysTick counting, newlib pieces). The stack figure is GCC's static "
        "call-graph estimate of the deepest path. The last column is TFLite Micro with CMSIS-NN "
        "kernels on the same QEMU M4, counted the same way (`../shared/reference/tflm-e2e-m4.md`, "
        "instructions of `Invoke()`): the incumbent. slimgen's portable kernels execute "
        "several times more instructions than CMSIS-NN's DSP (SMLAD) inner loops; closing that "
        "gap is the kernel-optimization work still ahead. Published MLPerf Tiny board "
        "latencies are in `../shared/reference/mlperf-tiny-published.md` for context only."),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--models", default="kws,vww,ic,ad")
    ap.add_argument("--boards", default=",".join(b for b, _ in BOARDS))
    ap.add_argument("--samples", type=int, default=3, help="samples run on each emulated board")
    ap.add_argument("--no-pytorch", action="store_true", help="skip the PyTorch -> int8 path")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results here")
    ap.add_argument("--from-json", type=Path, default=None,
                    help="re-render --out from a --json file of an earlier run")
    args = ap.parse_args()
    if args.from_json:
        raw = json.loads(args.from_json.read_text())
        args.out.write_text(render(raw["results"], raw["pytorch"], args.samples, raw["seconds"],
                                   incumbent_instructions(args.data)))
        return
    t0 = time.time()
    boards = set(args.boards.split(","))
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for key in args.models.split(","):
            b = md.load(args.data, key)
            out = work / key
            api.build(b.tflite, None, out)
            r = {"host": host_check(b, out), "tflm_arena": tflm_arena(b.tflite), "boards": {}}
            print(f"{key}: bit-exact {r['host']['exact']}/{r['host']['n']}, accuracy "
                  f"{r['host']['accuracy']:.4f}, TFLM arena {r['tflm_arena']}", flush=True)
            for board, target in BOARDS:
                if board in boards:
                    r["boards"][board] = board_run(b, board, target, work, args.samples)
                    run = r["boards"][board]["run"]
                    print(f"  {board}: {run['instructions_per_inference']:,} instructions, "
                          f"bit-exact {run['bit_exact']}", flush=True)
            results[key] = r
        pytorch = None
        if not args.no_pytorch:
            from examples.mlperf_tiny import evaluate

            pytorch = {k: evaluate.evaluate(k, args.data, work) for k in results}
            print("pytorch -> int8:", json.dumps(pytorch), flush=True)
    args.out.write_text(render(results, pytorch, args.samples, time.time() - t0,
                               incumbent_instructions(args.data)))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "pytorch": pytorch,
                                         "seconds": time.time() - t0}, indent=1, default=str))
    bad = [k for k, r in results.items() if r["host"]["exact"] != r["host"]["n"]
           or not all(br["run"]["bit_exact"] for br in r["boards"].values())]
    print(f"wrote {args.out}" + (f"; NOT bit-exact: {bad}" if bad else ""))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
