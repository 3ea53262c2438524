"""Fuzzing the readers of untrusted files: whatever the bytes, slimgen answers with a result or
a SlimgenError, never another exception (a crash, to the CLI: exit 3), a hang or code execution.

Targets: the .npz readers (slimgen.data), the model loader (slimgen.frontend.load.load_program
plus the import), and the build-folder reader (slimgen.api.load_built and the integer reference
that verify runs on it). Inputs are valid files mutated by hypothesis: byte overwrites,
truncation, and for zip archives and JSON the same aimed at one member or one field.

CI runs a short deterministic pass (derandomize, SLIMGEN_FUZZ_EXAMPLES examples per target);
docs/fuzzing.md gives the command for a long, random run. A failure hypothesis finds here is pinned as a
regression case in PINNED below (or in test_hostile_files.py) with a comment.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slimgen import api
from slimgen.data import load_npz, samples
from slimgen.errors import SlimgenError
from slimgen.frontend.load import load_program

from tests.e2e.test_cli import Tiny
from tests.pipeline import random_inputs, write_npz
from tests.robustness.conftest import SHAPE

EXAMPLES = int(os.environ.get("SLIMGEN_FUZZ_EXAMPLES", "40"))
# CI explores the same inputs every run; SLIMGEN_FUZZ_RANDOM=1 (long runs) draws new ones.
RANDOM = os.environ.get("SLIMGEN_FUZZ_RANDOM") == "1"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                suppress_health_check=list(HealthCheck))


# -- mutations ---------------------------------------------------------------------------------

@st.composite
def mutated(draw: Any, data: bytes) -> bytes:
    """``data`` with a few bytes overwritten, a span deleted or duplicated, or cut short."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["set", "set", "delete", "repeat", "truncate"]))
        if not b:
            break
        i = draw(st.integers(0, len(b) - 1))
        if kind == "set":
            b[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif kind == "delete":
            del b[i:i + draw(st.integers(1, 64))]
        elif kind == "repeat":
            b[i:i] = b[i:i + draw(st.integers(1, 64))]
        else:
            del b[i:]
    return bytes(b)


@st.composite
def mutated_zip(draw: Any, data: bytes) -> bytes:
    """A well-formed zip whose members are those of ``data``, one of them mutated or dropped:
    gets past the zip layer (CRCs are recomputed) into the reader behind it."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    k = draw(st.integers(0, len(members) - 1))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for j, (name, content) in enumerate(members):
            if j == k:
                if draw(st.integers(0, 9)) == 0:
                    continue
                content = draw(mutated(content)) if content else content
            z.writestr(name, content)
    return out.getvalue()


def json_paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            paths += json_paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            paths += json_paths(v, prefix + (i,))
    return paths


HOSTILE_JSON = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, -1, 1, 2 ** 31, -2 ** 31, 2 ** 63, 10 ** 30, 0.5, 1e308, -0.0]),
    st.integers(-300, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "O", "f8", "V8", "i8", "conv2d", "nchw", "../x", "Requant", "x" * 300]),
    st.lists(st.integers(-3, 70), max_size=5),
    st.dictionaries(st.sampled_from(["__nd__", "__dc__", "dtype", "shape"]),
                    st.integers(-5, 5), max_size=3),
)


@st.composite
def mutated_json(draw: Any, doc: Any) -> Any:
    """``doc`` with one to three fields (or whole subtrees) replaced by hostile values."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = json_paths(doc)[1:]
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(HOSTILE_JSON)
    return doc


def only_clean_errors(fn: Any, *args: Any) -> Any:
    """Run ``fn``; a SlimgenError is a correct answer to a bad file, anything else fails."""
    try:
        return fn(*args)
    except SlimgenError as e:
        assert e.problem and e.fix, f"error without a fix: {e}"
        return None


# -- .npz ------------------------------------------------------------------------------------

def read_calibration(path: Path) -> np.ndarray:
    x = samples(load_npz(path, "calibration"), path, "calibration")
    assert x.dtype == np.float32 and np.all(np.isfinite(x)) and x.ndim >= 2 and len(x)
    return x


@pytest.fixture(scope="module")
def npz_bytes(tmp_path_factory) -> bytes:
    p = write_npz(tmp_path_factory.mktemp("npz") / "c.npz", x=random_inputs(SHAPE, 3, 0),
                  y=np.arange(3))
    return p.read_bytes()


def test_npz_member_with_bad_magic(tmp_path):
    """Regression (found by test_fuzz_npz_bytes): a member that is not a .npy (its magic
    damaged, or no .npy in its name) comes back from np.load as raw bytes; samples() crashed on
    bytes.dtype."""
    p = tmp_path / "f.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x", np.lib.format.MAGIC_PREFIX[1:] + b"\x01\x00rest")
    with pytest.raises(SlimgenError, match="not numpy arrays"):
        read_calibration(p)


def test_npz_header_that_does_not_parse(npz_bytes, tmp_path):
    """Regression (found by a 300-example run): a .npy header missing its opening brace made
    numpy's header parser raise tokenize.TokenError, which escaped as an internal error."""
    p = tmp_path / "f.npz"
    header = b"\x93NUMPY\x01\x00v\x00'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x.npy", header.ljust(128, b" ")[:127] + b"\n" + bytes(12))
    with pytest.raises(SlimgenError, match="not a readable .npz"):
        read_calibration(p)


def test_npz_header_promising_terabytes(tmp_path):
    """np.load allocates what a header declares before reading: a 200-byte file must not ask
    for 4 TB."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 6, 10 ** 6)})
    p = tmp_path / "f.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x.npy", buf.getvalue() + bytes(16))
    with pytest.raises(SlimgenError, match="declares shape"):
        read_calibration(p)


def test_fuzz_npz_bytes(npz_bytes, tmp_path):
    @FUZZ
    @given(data=st.one_of(mutated(npz_bytes), mutated_zip(npz_bytes)))
    def run(data: bytes) -> None:
        p = tmp_path / "f.npz"
        p.write_bytes(data)
        only_clean_errors(read_calibration, p)

    run()


dtypes = st.sampled_from(["f2", "f4", "f8", "i1", "u1", "i8", "b1", "c8", "U3", "S2", "M8[s]",
                          "m8[s]", "V4"])


def test_fuzz_npz_arrays(tmp_path):
    """Well-formed .npz files holding arrays of every kind and shape under 'x'."""
    @FUZZ
    @given(dtype=dtypes, shape=st.lists(st.integers(0, 4), max_size=5),
           fill=st.sampled_from([0.0, 1.0, -1e39, np.nan, np.inf, 255.0]))
    def run(dtype: str, shape: list[int], fill: float) -> None:
        a = np.zeros(shape, dtype=dtype)
        if a.dtype.kind in "fc":
            with np.errstate(all="ignore"):
                a[...] = fill
        p = write_npz(tmp_path / "a.npz", x=a)
        only_clean_errors(read_calibration, p)

    run()


# -- model files -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    model = Tiny().eval()
    torch.export.save(torch.export.export(model, (torch.zeros(SHAPE),)), str(tmp / "m.pt2"))
    torch.jit.script(model).save(str(tmp / "m.pt"))
    torch.save(model, tmp / "pickled.pt")
    return {k: (tmp / k).read_bytes() for k in ("m.pt2", "m.pt", "pickled.pt")}


def load_and_import(path: Path) -> Any:
    ep = load_program(path, example_shape=SHAPE, trust_pickle=False)
    return api.import_model_from_program(ep, "m")


def test_model_zip_with_damaged_central_directory(model_files, tmp_path):
    """Regression (found by a 300-example run): zipfile.is_zipfile only checks the end record,
    so sniffing the archive kind raised BadZipFile outside the loader's error handling."""
    p = tmp_path / "m.pt2"
    data = model_files["m.pt2"]
    last_entry = data.rindex(b"PK\x01\x02")
    p.write_bytes(data[:last_entry] + b"PK\x01\x00" + data[last_entry + 4:])
    assert zipfile.is_zipfile(p)
    with pytest.raises(SlimgenError, match="not a PyTorch model"):
        load_and_import(p)


@pytest.mark.parametrize("kind", ["m.pt2", "m.pt", "pickled.pt"])
def test_fuzz_model_loader(model_files, tmp_path, kind):
    data = model_files[kind]
    # A TorchScript archive that gets past the zip layer costs a child process importing torch
    # (seconds each); the converter crash it found is pinned in test_hostile_files.py.
    examples = max(3, EXAMPLES // 12) if kind == "m.pt" else EXAMPLES

    @settings(FUZZ, max_examples=examples)
    @given(data=st.one_of(mutated(data), mutated_zip(data)))
    def run(data: bytes) -> None:
        p = tmp_path / kind
        p.write_bytes(data)
        only_clean_errors(load_and_import, p)

    run()


# -- build folders -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def build_folder(built) -> Path:
    return built


def reference_run(out: Path, x: np.ndarray) -> np.ndarray:
    api.load_built(out)
    y = api.reference_outputs(out, x)
    assert y.dtype == np.int8 and y.shape[0] == len(x)
    return y


@pytest.mark.parametrize("stem", ["quant", "float"])
def test_fuzz_graph_json(build_folder, tmp_path, stem):
    doc = json.loads((build_folder / "slimgen" / f"{stem}.json").read_text())
    x = random_inputs(SHAPE, 2, 0)
    out = tmp_path / "o"
    shutil.copytree(build_folder, out)
    target = out / "slimgen" / f"{stem}.json"

    @FUZZ
    @given(doc=mutated_json(doc))
    def run(doc: Any) -> None:
        target.write_text(json.dumps(doc))
        only_clean_errors(reference_run, out, x)

    run()


def test_fuzz_graph_blob(build_folder, tmp_path):
    blob = (build_folder / "slimgen" / "quant.bin").read_bytes()
    x = random_inputs(SHAPE, 2, 0)
    out = tmp_path / "o"
    shutil.copytree(build_folder, out)

    @FUZZ
    @given(data=mutated(blob))
    def run(data: bytes) -> None:
        (out / "slimgen" / "quant.bin").write_bytes(data)
        only_clean_errors(reference_run, out, x)

    run()


def test_fuzzed_folder_through_verify(build_folder, tmp_path):
    """A few mutated graphs all the way through verify, which also compiles and runs the C."""
    doc = json.loads((build_folder / "slimgen" / "quant.json").read_text())
    inputs = write_npz(tmp_path / "t.npz", x=random_inputs(SHAPE, 2, 0))
    out = tmp_path / "o"
    shutil.copytree(build_folder, out)

    @settings(FUZZ, max_examples=max(5, EXAMPLES // 8))
    @given(doc=mutated_json(doc))
    def run(doc: Any) -> None:
        (out / "slimgen" / "quant.json").write_text(json.dumps(doc))
        only_clean_errors(api.verify, out, inputs)

    run()
