"""The whole pipeline, readable top to bottom: import -> fold -> quantize -> plan -> emit.

``build`` turns a model file plus calibration samples into a self-contained output folder;
``verify`` proves the folder's C equals the integer reference, and measures it against float.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .codegen.cformat import c_identifier
from .codegen.emit import emit_model, io_info, kernel_files
from .data import load_npz, samples
from .errors import InputError, SlimgenError, UnsupportedError
from .frontend.load import load_program
from .frontend.tflite import import_tflite, is_tflite
from .frontend.torch_export import import_program
from .ir import float_interp, interp
from .ir.graph import Graph
from .ir.serialize import load_graph, save_graph
from .ir.verify import verify_graph
from .lower.kernels import KernelSpec, dense_kernel, in_place_ok, select_kernels
from .lower.sparse_select import choose_sparse, core_of, parse_mode, parse_objective
from .passes.float_passes import (
    fold_batchnorm,
    fold_flatten,
    fuse_activation,
    fuse_pad,
    remove_reshapes,
)
from .plan.greedy import MemoryPlan, plan_arena
from .plan.liveness import graph_buffers
from .quant.calibrate import calibrate, load_ranges, override_ranges
from .quant.quantize import quantize_graph

FLOAT_PASSES = (
    fold_batchnorm,  # before calibration: observers must see the folded weights
    fuse_pad,  # F.pad before a conv becomes the conv's padding (padded taps cost nothing)
    fold_flatten,  # torch flattens NCHW: permute the next Linear's columns instead of the data
    remove_reshapes,  # an order-preserving reshape of an NHWC buffer is free
    fuse_activation,  # conv + relu6 -> conv with an int8 clamp, free in requantization
)
MARKER = "slimgen/build.json"


@dataclass
class BuildOptions:
    name: str | None = None
    trust_pickle: bool = False
    calib_method: str = "minmax"
    percentile: float = 99.99
    force: bool = False
    target: str = "host"
    board: str | None = None
    ranges: str | None = None  # activation ranges JSON (slimgen compress --qat); overrides calib
    sparse: str = "off"  # auto | off | a lower/sparse_format.FORMATS name (lower/sparse_select.py)
    sparse_objective: str = "speed"  # what --sparse auto minimises: speed | size (flash)


@dataclass
class Compiled:
    float_graph: Graph
    quant_graph: Graph
    kernels: dict[str, KernelSpec]
    plan: MemoryPlan
    files: dict[str, str] = field(default_factory=dict)
    sparse: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-layer choice and why


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _noop(stage: str, done: int, total: int) -> None:
    pass


def import_model(model: Path, example_shape: tuple[int, ...] | None, name: str,
                 trust_pickle: bool = False) -> Graph:
    ep = load_program(model, example_shape=example_shape, trust_pickle=trust_pickle)
    return import_model_from_program(ep, name)


def import_model_from_program(ep: Any, name: str) -> Graph:
    """ExportedProgram -> float graph with every float pass applied."""
    g = import_program(ep, name)
    for p in FLOAT_PASSES:
        g = p(g)
        verify_graph(g)
    if not g.nodes:
        raise UnsupportedError("the model does no computation slimgen can compile.")
    for i, n in enumerate(g.nodes):  # layer names follow the generated code's order
        n.name = f"L{i}"
    return g


def to_ir_layout(x: np.ndarray, g: Graph, path: Path | str = "the data",
                 what: str = "input") -> np.ndarray:
    """Samples in the model's own layout (batch first) -> slimgen's NHWC / flat layout."""
    want = tuple(g.input_torch_shape)
    if tuple(x.shape[1:]) != want:
        raise InputError(
            f"{what} samples in {path} have shape {tuple(x.shape[1:])} per sample, but the model "
            f"takes {want} (the model's own input layout, batch first).",
            f"Save the samples as an array of shape (N, {', '.join(map(str, want))}).",
        )
    return x.transpose(0, 2, 3, 1) if g.input_layout == "nchw" else x


def compile_graph(g: Graph, calib_x: np.ndarray, opts: BuildOptions,
                  progress: Progress = _noop,
                  ranges: dict[str, tuple[float, float]] | None = None) -> Compiled:
    total = len(calib_x)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        progress("calibrate", done[0], total)

    stats = calibrate(g, calib_x, method=opts.calib_method, percentile=opts.percentile,
                      progress=tick)
    if ranges:
        stats = override_ranges(stats, ranges)
    return lower(g, quantize_graph(g, stats), opts)


def lower(g: Graph, qg: Graph, opts: BuildOptions | None = None) -> Compiled:
    """Quant graph -> kernels and arena plan; ``g`` is the float graph verify compares with."""
    opts = opts or BuildOptions()
    verify_graph(qg)
    kernels = select_kernels(qg)
    sparse = choose_sparse(qg, kernels, parse_mode(opts.sparse), core_of(opts.target),
                           parse_objective(opts.sparse_objective))
    scratch = {n.name: kernels[n.name].scratch_bytes(n) for n in qg.nodes if n.name in kernels}
    in_place = {name: spec.in_place_ok for name, spec in kernels.items()}
    plan = plan_arena(graph_buffers(qg, scratch, in_place=lambda n: in_place.get(n.name, False)))
    return Compiled(g, qg, kernels, plan, sparse=sparse)


def report(c: Compiled, source: str) -> dict[str, Any]:
    qg = c.quant_graph
    layers = []
    for n in qg.nodes:
        spec = c.kernels.get(n.name)
        w = [v for v in n.inputs[1:] if v is not None and v.is_const]
        params = sum(v.size for v in w)
        rq = getattr(n.attrs, "rq", None)
        wbytes = sum(v.nbytes for v in w) + (8 * len(rq.mult) if rq is not None else 0)
        layers.append({
            "name": n.name,
            "op": n.op,
            "kernel": spec.name if spec else None,
            "origin": n.origin,
            "input_shapes": [list(v.shape) for v in n.inputs if v is not None and not v.is_const],
            "output_shape": list(n.out.shape),
            "macs": macs(n),
            "params": params,
            "weight_bytes": wbytes,
            "output_offset": c.plan.offsets.get(n.out.name),
        })
        if n.name in c.sparse:  # the packed weights replace the dense int8 ones
            choice = c.sparse[n.name]
            chosen = next(e for e in choice["candidates"] if e["format"] == choice["format"])
            layers[-1]["weight_bytes"] += chosen["weight_bytes"] - w[0].nbytes
            layers[-1]["sparse"] = choice
    peak_idx, peak_bytes = c.plan.peak_node()
    return {
        "slimgen_version": __version__,
        "name": qg.name,
        "source": source,
        "input": io_info(qg.inputs[0], qg.input_torch_shape, qg.input_layout),
        "output": io_info(qg.outputs[0], qg.output_torch_shape, qg.output_layout),
        "layers": layers,
        "total_macs": sum(lyr["macs"] for lyr in layers),
        "total_params": sum(lyr["params"] for lyr in layers),
        "weight_bytes": sum(lyr["weight_bytes"] for lyr in layers),
        "arena_bytes": c.plan.arena_bytes,
        "arena_peak_layer": qg.nodes[peak_idx].name if qg.nodes else None,
        "arena_peak_live_bytes": peak_bytes,
    }


def macs(n: Any) -> int:
    if n.op == "conv2d":
        kh, kw = n.attrs.kernel
        return n.out.size * kh * kw * n.x.shape[-1]
    if n.op == "dwconv2d":
        kh, kw = n.attrs.kernel
        return n.out.size * kh * kw
    if n.op == "fc":
        return n.out.size * n.x.size
    return 0


def _check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"output path {out} exists and is a file.",
                         "Choose a folder path for -o.")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file() and not force:
        raise InputError(
            f"output folder {out} is not empty and was not created by slimgen; slimgen will not "
            "overwrite it.", "Choose a new folder, or pass --force to replace it.")
    parent = out.resolve().parent
    if not parent.exists():
        raise InputError(f"the parent folder {parent} of the output does not exist.",
                         "Create it first.")
    if not parent.is_dir():
        raise InputError(f"the output's parent {parent} is a file, not a folder.",
                         "Choose an output path inside a folder.")
    if not os.access(parent, os.W_OK):
        raise InputError(f"cannot write to {parent}.", "Choose a writable output location.")


def write_folder(out: Path, files: dict[str, bytes | str | Path]) -> None:
    """Write ``files`` into a temporary sibling folder, then move it into place in one step."""
    parent = out.resolve().parent
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    except OSError as e:  # os.access says yes to root even on /proc or a read-only mount
        raise InputError(f"cannot write to {parent} ({e.strerror}).",
                         "Choose a writable output location.") from None
    try:
        for rel, content in sorted(files.items()):
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, dest)
            elif isinstance(content, bytes):
                dest.write_bytes(content)
            else:
                dest.write_text(content)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"could not write the output folder {out} ({e.strerror}: "
                         f"{e.filename}); nothing was changed.",
                         "Free disk space or choose another output location.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build(model: Path, calib: Path | None, out: Path, opts: BuildOptions | None = None,
          progress: Progress = _noop,
          extra_files: Callable[[Path, Compiled, dict[str, Any]], None] | None = None
          ) -> dict[str, Any]:
    """Build ``model`` into folder ``out``; returns the report. Raises SlimgenError on bad input.

    A .tflite model is int8 already and keeps its own quantization: it needs no ``calib``.
    """
    opts = opts or BuildOptions()
    _check_out_dir(out, opts.force)
    if _is_tflite_path(model):
        name = c_identifier(opts.name or model.stem)
        progress("import", 0, 1)
        c = lower(*import_tflite(model, name), opts)
        progress("import", 1, 1)
        return _write_build(model, out, opts, name, c, progress, extra_files)
    if calib is None:
        raise InputError(f"{model} is not an int8 .tflite model, so slimgen must calibrate it.",
                         "Pass --calib CALIB.npz with float32 samples under the key 'x'.")
    arrays = load_npz(calib, "calibration")
    x = samples(arrays, calib, "calibration")
    name = c_identifier(opts.name or model.stem)
    board = _target_board(opts)
    progress("import", 0, 1)
    ep = load_program(model, example_shape=tuple(x.shape), trust_pickle=opts.trust_pickle)
    if board is not None:  # before the float64 IR copy of every weight
        _refuse_unfit(board, name, weight_bytes=_program_weight_bytes(ep))
    g = import_model_from_program(ep, name)
    del ep
    if board is not None:  # before calibrating and emitting, which take minutes for such models
        est = int8_estimate(g)
        _refuse_unfit(board, name, **{k: est[k] for k in FIT_KEYS}, layers=len(est["layers"]),
                      kernel_files=len({lyr["op"] for lyr in est["layers"]}))
    progress("import", 1, 1)
    x_ir = to_ir_layout(x, g, calib, "calibration")
    ranges = load_ranges(Path(opts.ranges), model) if opts.ranges else None
    c = compile_graph(g, x_ir, opts, progress, ranges)
    return _write_build(model, out, opts, name, c, progress, extra_files)


def _write_build(model: Path, out: Path, opts: BuildOptions, name: str, c: Compiled,
                 progress: Progress,
                 extra_files: Callable[[Path, Compiled, dict[str, Any]], None] | None
                 ) -> dict[str, Any]:
    progress("emit", 0, 1)
    files: dict[str, bytes | str | Path] = dict(
        emit_model(c.quant_graph, c.plan, c.kernels, name, model.name))
    files.update(kernel_files(c.kernels))
    rep = report(c, model.name)
    with tempfile.TemporaryDirectory() as meta:
        save_graph(c.float_graph, Path(meta), "float")
        save_graph(c.quant_graph, Path(meta), "quant")
        for f in sorted(Path(meta).iterdir()):
            files[f"slimgen/{f.name}"] = f.read_bytes()
    files[MARKER] = json.dumps({"slimgen_version": __version__, "name": name,
                                "options": dataclasses.asdict(opts) | {"force": False}},
                               indent=1, sort_keys=True) + "\n"
    if extra_files is not None:
        staging = Path(tempfile.mkdtemp(prefix=".slimgen-stage-"))
        try:
            for rel, content in files.items():
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, Path):
                    shutil.copyfile(content, dest)
                else:
                    dest.write_bytes(content if isinstance(content, bytes) else content.encode())
            extra_files(staging, c, rep)
            files = {p.relative_to(staging).as_posix(): p.read_bytes()
                     for p in sorted(staging.rglob("*")) if p.is_file()}
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    files["report.json"] = json.dumps(rep, indent=1, sort_keys=True) + "\n"
    write_folder(out, files)
    progress("emit", 1, 1)
    return rep


def analyze(model: Path, example_shape: tuple[int, ...] | None = None,
            trust_pickle: bool = False) -> dict[str, Any]:
    """Per-layer cost of ``model`` as int8, before anything is quantized or compiled.

    Weight bytes count int8 weights, int32 bias and the per-channel multiplier and shift words;
    the arena is planned over the int8 activation sizes exactly as ``build`` will plan it.
    """
    if _is_tflite_path(model):
        return int8_estimate(import_tflite(model, c_identifier(model.stem))[0])
    return int8_estimate(import_model(model, example_shape, c_identifier(model.stem),
                                      trust_pickle))


def _is_tflite_path(model: Path) -> bool:
    return model.suffix.lower() == ".tflite" or (model.is_file() and is_tflite(model))


def int8_estimate(g: Graph) -> dict[str, Any]:
    """``analyze``'s figures for an imported float graph."""
    layers = []
    for n in g.nodes:
        consts = [v for v in n.inputs[1:] if v is not None and v.is_const]
        params = sum(v.size for v in consts)
        wbytes = 0
        if n.op in ("conv2d", "dwconv2d", "fc"):
            w, b = consts[0], consts[1]
            wbytes = w.size + 4 * b.size + 8 * n.out.shape[-1]
        layers.append({
            "name": n.name, "op": n.op, "origin": n.origin, "output_shape": list(n.out.shape),
            "macs": macs(n), "params": params, "weight_bytes": wbytes,
            "activation_bytes": n.out.size,
        })
    scratch = {}
    for n in g.nodes:
        spec = dense_kernel(n)
        if spec is not None:
            scratch[n.name] = spec.scratch_bytes(n)
    plan = plan_arena(graph_buffers(g, scratch, elem_bytes=1, in_place=in_place_ok))
    return {
        "name": g.name,
        "input_shape": list(g.input_torch_shape),
        "output_shape": list(g.output_torch_shape),
        "layers": layers,
        "total_macs": sum(lyr["macs"] for lyr in layers),
        "total_params": sum(lyr["params"] for lyr in layers),
        "weight_bytes": sum(lyr["weight_bytes"] for lyr in layers),
        "input_bytes": g.inputs[0].size,
        "output_bytes": g.outputs[0].size,
        "arena_bytes": plan.arena_bytes,
    }


FIT_KEYS = ("weight_bytes", "arena_bytes", "input_bytes", "output_bytes")


def _target_board(opts: BuildOptions) -> Any:
    """The firmware board a build is for, or None for a host build."""
    if opts.target == "host" and opts.board is None:
        return None
    from .firmware.boards import load_board
    from .firmware.integration import resolve

    return load_board(resolve(opts.target, opts.board)[1])


def _program_weight_bytes(ep: Any) -> int:
    """A lower bound of the int8 weight bytes: one byte per conv / linear weight element.

    Read from the ExportedProgram's tensors, so a model far too large for the board is refused
    in seconds, before the import copies every weight.
    """
    tensors = list(ep.state_dict.values()) + list(ep.constants.values())
    return sum(int(t.numel()) for t in tensors
               if hasattr(t, "numel") and getattr(t, "ndim", 0) >= 2
               and t.is_floating_point())


def _refuse_unfit(board: Any, name: str, *, weight_bytes: int, arena_bytes: int = 0,
                  input_bytes: int = 0, output_bytes: int = 0, layers: int = 0,
                  kernel_files: int = 1) -> None:
    from .firmware.build import estimate_fit

    fit = estimate_fit(board, weight_bytes=weight_bytes, arena_bytes=arena_bytes,
                       input_bytes=input_bytes, output_bytes=output_bytes, layers=layers,
                       kernel_files=kernel_files)
    problems = fit.problems()
    if problems:
        raise SlimgenError(
            f"model '{name}' does not fit board {board.name} (int8 estimate, before "
            "compiling):\n  " + "\n  ".join(problems),
            "Pick a board with more memory ('slimgen analyze MODEL --board B' shows the "
            "figures), or shrink the model (slimgen compress, smaller layers).")


# -- verification ------------------------------------------------------------------------------

def load_built(out: Path) -> tuple[Graph, Graph, dict[str, Any]]:
    """The float graph, the integer graph and the report of a build folder, checked for
    consistency: a damaged or hand-edited folder is an InputError, never a crash later."""
    if not (out / MARKER).is_file() or not (out / "report.json").is_file():
        raise InputError(f"{out} is not a slimgen build folder (no {MARKER}).",
                         "Pass the folder written by 'slimgen build ... -o OUT'.")
    try:
        fg = load_graph(out / "slimgen", "float")
        qg = load_graph(out / "slimgen", "quant")
        rep = json.loads((out / "report.json").read_text())
        _check_built(out, fg, qg, rep)
    # verify_graph indexes node inputs by position, so a hostile graph can also raise IndexError.
    except (OSError, ValueError, KeyError, TypeError, AssertionError, RecursionError,
            IndexError, AttributeError) as e:
        raise InputError(f"the build folder {out} is damaged ({str(e)[:300]}).",
                         "Rebuild it with 'slimgen build'.") from None
    return fg, qg, rep


def _check_built(out: Path, fg: Graph, qg: Graph, rep: Any) -> None:
    """What verify and run rely on before they allocate buffers or call the C."""
    for g, stage in ((fg, "float"), (qg, "quant")):
        assert g.stage == stage, f"{stage} graph has stage {g.stage!r}"
        assert len(g.inputs) == 1 and len(g.outputs) == 1, f"{stage} graph inputs/outputs"
        verify_graph(g)
        shape = tuple(g.input_torch_shape)
        want = {"nchw": shape[1:] + shape[:1] if len(shape) == 3 else None,
                "nhwc": shape if len(shape) == 3 else None,  # .tflite models
                "flat": shape if len(shape) == 1 else None}.get(g.input_layout)
        assert want is not None and want == g.inputs[0].shape, f"{stage} graph input shape"
        assert g.output_layout in ("nhwc", "flat"), f"{stage} graph output layout"
    assert fg.input_torch_shape == qg.input_torch_shape, "float and int8 input shapes differ"
    assert fg.outputs[0].shape == qg.outputs[0].shape, "float and int8 output shapes differ"
    for v in (qg.inputs[0], qg.outputs[0]):
        assert v.q is not None and np.isfinite(v.q.scale) and v.q.scale > 0, "input/output q"
    assert isinstance(rep, dict) and rep.get("name") == qg.name, "report name"
    assert isinstance(qg.name, str) and c_identifier(qg.name) == qg.name, "model name"
    assert rep["output"]["bytes"] == qg.outputs[0].size, "report output bytes"
    arena = rep["arena_bytes"]
    assert type(arena) is int and 0 <= arena < 1 << 31, "report arena bytes"
    header = (out / "model.h").read_text()
    assert f"#define {qg.name.upper()}_ARENA_BYTES {arena}\n" in header, "model.h arena size"


def _run_reference(fn: Callable[..., np.ndarray], g: Graph, x: np.ndarray,
                   out: Path) -> np.ndarray:
    """The integer or float reference on a graph read from ``out``; a hand-edited graph can
    pass load_built's checks and still be nonsense, which is the folder's fault, not a bug."""
    try:
        return fn(g, x)
    except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, AssertionError,
            AttributeError, OverflowError, MemoryError) as e:
        raise InputError(f"the {g.stage} graph in {out}/slimgen cannot be run "
                         f"({type(e).__name__}: {str(e)[:200]}); the folder is damaged or was "
                         "edited.", "Rebuild it with 'slimgen build'; if it is unmodified, this "
                         "is a slimgen bug: please report it.") from None


def reference_outputs(out: Path, x: np.ndarray) -> np.ndarray:
    """Integer-reference int8 outputs (N, output bytes) for float or int8 inputs in model layout."""
    _, qg, _ = load_built(out)
    xq = quantize_inputs(qg, x, out)
    return _run_reference(interp.run, qg, xq, out).reshape(len(xq), -1)


def quantize_inputs(qg: Graph, x: np.ndarray, path: Path) -> np.ndarray:
    if x.dtype == np.int8:
        xi = to_ir_layout(x, qg, path, "input")
        return xi
    xi = to_ir_layout(x.astype(np.float32), qg, path, "input")
    assert qg.inputs[0].q is not None
    return qg.inputs[0].q.quantize(xi)


def host_library(out: Path) -> tuple[Any, Any, dict[str, Any]]:
    """Compile OUT's C (model + its kernels) into a cached shared library; return (ffi, lib)."""
    import cffi

    from .build.host import CompileError, cdef_text, compile_shared, default_cc

    rep = json.loads((out / "report.json").read_text())
    name = rep["name"]
    sources = [out / "model.c", out / "weights.c"] + sorted((out / "kernels" / "src").rglob("*.c"))
    h = hashlib.sha256()
    for s in sources:
        h.update(s.read_bytes())
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "slimgen" / "host"
    cache.mkdir(parents=True, exist_ok=True)
    so = cache / f"{name}-{h.hexdigest()[:20]}.so"
    cc = default_cc()
    if shutil.which(cc) is None:
        raise SlimgenError(f"the C compiler {cc!r} (CC, default cc) is not on PATH; verify "
                           "compiles OUT's C on the host.",
                           "Install it: apt-get install gcc (Debian package gcc), or set CC.")
    try:
        compile_shared(sources, so, include_dirs=[out, out / "kernels" / "include",
                                                  out / "kernels" / "src"])
    except CompileError as e:
        raise SlimgenError(f"the C in {out} does not compile on the host:\n{e.output[-2000:]}",
                           "Rebuild the folder with 'slimgen build'; if it is unmodified, this "
                           "is a slimgen bug: please report it.") from None
    ffi = cffi.FFI()
    ffi.cdef(cdef_text([out / "kernels" / "include" / "sg_types.h"]))
    ffi.cdef(f"sg_status {name}_run(const int8_t *input, int8_t *output, uint8_t *arena);")
    lib = ffi.dlopen(str(so))
    return ffi, getattr(lib, f"{name}_run"), rep


def run_host(out: Path, xq: np.ndarray) -> np.ndarray:
    """Run OUT's generated C on int8 IR-layout samples; (N, output bytes) int8."""
    ffi, run, rep = host_library(out)
    n_out = rep["output"]["bytes"]
    arena = np.zeros(max(1, rep["arena_bytes"]) + 16, np.uint8)
    # The generated API asks for 16-byte alignment; numpy only promises the dtype's.
    shift = (-arena.ctypes.data) % 16
    arena_view = arena[shift:]
    ys = np.zeros((len(xq), n_out), np.int8)
    for i in range(len(xq)):
        xi = np.ascontiguousarray(xq[i]).reshape(-1)
        yi = ys[i]
        status = run(ffi.cast("const int8_t *", ffi.from_buffer(xi)),
                     ffi.cast("int8_t *", ffi.from_buffer(yi)),
                     ffi.cast("uint8_t *", ffi.from_buffer(arena_view)))
        if status != 0:
            raise SlimgenError(f"the generated {rep['name']}_run returned status {status} on "
                               f"sample {i}.", "This is a slimgen bug; please report it.")
    return ys


def verify(out: Path, inputs: Path, progress: Progress = _noop) -> dict[str, Any]:
    fg, qg, rep = load_built(out)
    arrays = load_npz(inputs, "test input")
    x = samples(arrays, inputs, "test input", allow_int8=True)
    labels = arrays.get("y")
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if len(labels) != len(x) or labels.dtype.kind not in "iu":
            raise InputError(f"labels 'y' in {inputs} must be {len(x)} integers, one per sample "
                             f"(got shape {labels.shape}, dtype {labels.dtype}).",
                             "Save integer class labels, -1 for none.")
    xq = quantize_inputs(qg, x, inputs)
    progress("reference", 0, 1)
    ref_q = _run_reference(interp.run, qg, xq, out).reshape(len(x), -1)
    progress("reference", 1, 1)
    progress("host C", 0, 1)
    c_q = run_host(out, xq)
    progress("host C", 1, 1)
    mismatch = np.any(c_q != ref_q, axis=1)
    result: dict[str, Any] = {
        "model": rep["name"],
        "samples": len(x),
        "bit_exact": bool(not mismatch.any()),
        "mismatched_samples": int(mismatch.sum()),
        "mismatched_bytes": int((c_q != ref_q).sum()),
    }
    oq = qg.outputs[0].q
    assert oq is not None
    deq = oq.dequantize(ref_q)
    if x.dtype != np.int8:
        xf = to_ir_layout(x, fg, inputs, "input")
        yf = _run_reference(float_interp.run, fg, xf, out).reshape(len(x), -1)
        num = (yf * deq).sum(axis=1)
        den = np.linalg.norm(yf, axis=1) * np.linalg.norm(deq, axis=1)
        cos = np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)
        result.update({
            "cosine": float(cos.mean()),
            "max_abs_error": float(np.abs(yf - deq).max()),
            "mean_abs_error": float(np.abs(yf - deq).mean()),
            "top1_agreement": float((yf.argmax(1) == deq.argmax(1)).mean()),
        })
        if labels is not None and (labels >= 0).any():
            keep = labels >= 0
            result["labelled_samples"] = int(keep.sum())
            result["accuracy_float"] = float((yf.argmax(1)[keep] == labels[keep]).mean())
            result["accuracy_int8"] = float((deq.argmax(1)[keep] == labels[keep]).mean())
    elif labels is not None and (labels >= 0).any():
        keep = labels >= 0
        result["labelled_samples"] = int(keep.sum())
        result["accuracy_int8"] = float((ref_q.argmax(1)[keep] == labels[keep]).mean())
    if mismatch.any():
        i = int(np.argmax(mismatch))
        j = int(np.argmax(c_q[i] != ref_q[i]))
        result["first_mismatch"] = {"sample": i, "byte": j, "c": int(c_q[i, j]),
                                    "reference": int(ref_q[i, j])}
    result["_outputs_int8"] = c_q
    return result
