"""The generated C of every zoo and MLPerf Tiny model, built with ASan + UBSan, never touches
memory outside its arena, input, output and weights, and still equals the integer reference.
The same sources also compile warning-free with -Wconversion under gcc and clang.

The buffers the C gets are malloc'ed at their exact sizes, so ASan's redzones sit right after
them (the weights are globals, which ASan pads too). As in tests/kernels/test_sanitizers.py, the
sanitized library runs in a child process with libasan preloaded; the canary there proves the
instrumentation is live.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from slimgen import api
from slimgen.build.host import WARNING_FLAGS, compile_shared

from tests.kernels.test_sanitizers import report, sanitizer_env
from tests.models import MLPERF, ZOO
from tests.pipeline import build_model, random_inputs

MODELS = {**ZOO, **MLPERF}
SAMPLES = 3

CHILD = r"""
import sys
import cffi
import numpy as np

so, name, arena_bytes, xq_path, y_path, n_out = sys.argv[1:]
xq = np.load(xq_path)
ffi = cffi.FFI()
ffi.cdef("void *malloc(size_t); void free(void *);")
ffi.cdef(f"int {name}_run(const int8_t *input, int8_t *output, uint8_t *arena);")
libc = ffi.dlopen(None)
lib = ffi.dlopen(so)
run = getattr(lib, f"{name}_run")
n_in = xq[0].size
n_out = int(n_out)
ys = np.zeros((len(xq), n_out), np.int8)
for i, x in enumerate(xq):
    # Exact-size heap blocks: one byte past any of them is an ASan report.
    inp = ffi.cast("int8_t *", libc.malloc(n_in))
    out = ffi.cast("int8_t *", libc.malloc(n_out))
    arena = ffi.cast("uint8_t *", libc.malloc(max(1, int(arena_bytes))))
    ffi.memmove(inp, np.ascontiguousarray(x).tobytes(), n_in)
    status = run(inp, out, arena)
    assert status == 0, status
    ys[i] = np.frombuffer(ffi.buffer(out, n_out), np.int8)
    for p in (inp, out, arena):
        libc.free(p)
np.save(y_path, ys)
"""


@pytest.mark.parametrize("name", sorted(ZOO) + sorted(MLPERF))
def test_generated_code_is_clean_under_asan_and_ubsan(name, tmp_path):
    model, shape = MODELS[name]()
    out = build_model(model, shape, tmp_path, n_calib=4)
    rep = json.loads((out / "report.json").read_text())
    sources = [out / "model.c", out / "weights.c", *sorted((out / "kernels" / "src").rglob("*.c"))]
    includes = [out, out / "kernels" / "include", out / "kernels" / "src"]
    so = compile_shared(sources, tmp_path / "model_asan.so", sanitize=True,
                        include_dirs=includes, extra_flags=["-Wconversion"])
    if shutil.which("clang"):
        proc = subprocess.run(["clang", "-fsyntax-only", "-std=c99", *WARNING_FLAGS,
                               "-Wconversion", *(f"-I{d}" for d in includes), *map(str, sources)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
    _, qg, _ = api.load_built(out)
    x = random_inputs(shape, SAMPLES, 5)
    x[0] = 0.0
    x[1] *= 100.0  # saturates the int8 input: every clamp path
    xq = api.quantize_inputs(qg, x, out)
    np.save(tmp_path / "xq.npy", xq)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(so), rep["name"], str(rep["arena_bytes"]),
         str(tmp_path / "xq.npy"), str(tmp_path / "y.npy"), str(rep["output"]["bytes"])],
        env=sanitizer_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, report(proc)
    assert "runtime error" not in proc.stderr and "Sanitizer" not in proc.stderr, report(proc)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), api.reference_outputs(out, x))
