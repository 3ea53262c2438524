"""Save and load graphs as JSON plus one binary blob of constants.

``slimgen verify`` re-runs the float and integer graphs from an output folder; this format keeps
that folder self-contained, deterministic (no timestamps, stable order) and free of pickles, so
opening a build folder never runs code from it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from .attrs import ATTRS_TYPES
from .graph import Graph, Node, QParams, Value

FORMAT = "slimgen-graph/1"


def _types() -> dict[str, type]:
    from ..ref.requant import Requant

    return {**ATTRS_TYPES, "Requant": Requant, "QParams": QParams}


class _Writer:
    def __init__(self) -> None:
        self.blob = bytearray()

    def array(self, a: np.ndarray) -> dict[str, Any]:
        a = np.ascontiguousarray(a)
        while len(self.blob) % 16:
            self.blob.append(0)
        off = len(self.blob)
        self.blob += a.astype(a.dtype.newbyteorder("<")).tobytes()
        return {"__nd__": off, "dtype": a.dtype.str.lstrip("<>|="), "shape": list(a.shape)}

    def obj(self, x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return self.array(x)
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            return {"__dc__": type(x).__name__,
                    **{f.name: self.obj(getattr(x, f.name)) for f in dataclasses.fields(x)}}
        if isinstance(x, (list, tuple)):
            return [self.obj(v) for v in x]
        if isinstance(x, dict):
            return {k: self.obj(v) for k, v in x.items()}
        if isinstance(x, (np.integer,)):
            return int(x)
        if isinstance(x, (np.floating,)):
            return float(x)
        return x


def save_graph(g: Graph, folder: Path, stem: str) -> None:
    w = _Writer()
    ids: dict[int, int] = {}
    values: list[dict[str, Any]] = []

    def vid(v: Value | None) -> int | None:
        if v is None:
            return None
        if id(v) not in ids:
            ids[id(v)] = len(values)
            d = {"name": v.name, "shape": list(v.shape), "dtype": v.dtype,
                 "q": w.obj(v.q), "data": w.obj(v.data) if v.data is not None else None}
            if hasattr(v, "scales"):
                d["scales"] = w.obj(v.scales)
            values.append(d)
        return ids[id(v)]

    doc = {
        "format": FORMAT,
        "name": g.name,
        "stage": g.stage,
        "input_layout": g.input_layout,
        "output_layout": g.output_layout,
        "input_torch_shape": list(g.input_torch_shape),
        "output_torch_shape": list(g.output_torch_shape),
        "inputs": [vid(v) for v in g.inputs],
        "nodes": [{"op": n.op, "name": n.name, "origin": n.origin,
                   "inputs": [vid(v) for v in n.inputs], "outputs": [vid(v) for v in n.outputs],
                   "attrs": w.obj(n.attrs)} for n in g.nodes],
        "outputs": [vid(v) for v in g.outputs],
    }
    doc["values"] = values
    (folder / f"{stem}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    (folder / f"{stem}.bin").write_bytes(bytes(w.blob))


#: Largest tensor a graph file may declare (elements): far above any microcontroller model, far
#: below what would exhaust the host's memory when verify allocates it per sample.
MAX_ELEMENTS = 1 << 26
_DTYPES = {"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8", "b1"}
_VALUE_DTYPES = {"f32", "i8", "i32"}


class GraphFileError(ValueError):
    """A graph file is damaged or hostile; the message says where."""


def _shape(x: Any, where: str) -> tuple[int, ...]:
    if not isinstance(x, list) or len(x) > 8 or not all(
            type(d) is int and 0 <= d <= MAX_ELEMENTS for d in x):
        raise GraphFileError(f"{where}: shape {str(x)[:80]} is not a list of sizes")
    if int(np.prod(x, dtype=np.int64)) > MAX_ELEMENTS:
        raise GraphFileError(f"{where}: shape {x} holds more than {MAX_ELEMENTS} elements")
    return tuple(x)


def _index(i: Any, n: int, where: str) -> int:
    if type(i) is not int or not 0 <= i < n:
        raise GraphFileError(f"{where}: value index {str(i)[:40]} is not in 0..{n - 1}")
    return i


def load_graph(folder: Path, stem: str) -> Graph:
    """Read a graph written by ``save_graph``; raises GraphFileError (or OSError) if it is
    damaged, never runs code from it and never allocates more than the blob's size."""
    try:
        return _load_graph(folder, stem)
    except (KeyError, IndexError, TypeError, AttributeError, RecursionError) as e:
        raise GraphFileError(f"{folder / stem}.json: malformed ({type(e).__name__}: "
                             f"{str(e)[:120]})") from None


def _load_graph(folder: Path, stem: str) -> Graph:
    doc = json.loads((folder / f"{stem}.json").read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GraphFileError(f"{folder / stem}.json is not a {FORMAT} file")
    blob = (folder / f"{stem}.bin").read_bytes()
    types = _types()

    def obj(x: Any, tuples: bool = True) -> Any:
        if isinstance(x, dict) and "__nd__" in x:
            if x.get("dtype") not in _DTYPES or type(x["__nd__"]) is not int:
                raise GraphFileError(f"constant with dtype {str(x.get('dtype'))[:20]}")
            dt = np.dtype(x["dtype"]).newbyteorder("<")
            shape = _shape(x["shape"], "constant")
            count = int(np.prod(shape, dtype=np.int64))
            off = x["__nd__"]
            if off < 0 or off + count * dt.itemsize > len(blob):
                raise GraphFileError("constant out of range of the blob")
            return np.frombuffer(blob, dt, count, off).astype(dt.newbyteorder("=")).reshape(
                shape)
        if isinstance(x, dict) and "__dc__" in x:
            cls = types.get(x["__dc__"]) if isinstance(x["__dc__"], str) else None
            if cls is None:
                raise GraphFileError(f"unknown attribute type {str(x['__dc__'])[:40]}")
            return cls(**{k: obj(v) for k, v in x.items() if k != "__dc__"})
        if isinstance(x, list):
            return tuple(obj(v) for v in x) if tuples else [obj(v) for v in x]
        if isinstance(x, dict):
            return {k: obj(v) for k, v in x.items()}
        return x

    values = []
    for i, d in enumerate(doc["values"]):
        where = f"value {i}"
        shape = _shape(d["shape"], where)
        if d["dtype"] not in _VALUE_DTYPES or not isinstance(d["name"], str):
            raise GraphFileError(f"{where}: bad name or dtype {str(d['dtype'])[:20]}")
        data = obj(d["data"])
        if data is not None and (not isinstance(data, np.ndarray) or data.shape != shape):
            raise GraphFileError(f"{where}: constant data does not have shape {shape}")
        q = obj(d["q"])
        if q is not None and not isinstance(q, QParams):
            raise GraphFileError(f"{where}: bad quantization parameters")
        v = Value(d["name"], shape, d["dtype"], data, q)
        if "scales" in d:
            v.scales = obj(d["scales"])  # type: ignore[attr-defined]
        values.append(v)
    n_values = len(values)

    def val(i: int | None, where: str) -> Value | None:
        return None if i is None else values[_index(i, n_values, where)]

    nodes = []
    for n in doc["nodes"]:
        if not all(isinstance(n[k], str) for k in ("op", "name", "origin")) or not all(
                isinstance(n[k], list) for k in ("inputs", "outputs")):
            raise GraphFileError("a node's op, name, origin, inputs or outputs has the wrong type")
        where = f"node {n['name'][:40]}"
        outs = [values[_index(i, n_values, where)] for i in n["outputs"]]
        if not outs:
            raise GraphFileError(f"{where} has no output")
        nodes.append(Node(n["op"], [val(i, where) for i in n["inputs"]], outs, obj(n["attrs"]),
                          n["name"], n["origin"]))
    return Graph(doc["name"], [values[_index(i, n_values, "inputs")] for i in doc["inputs"]],
                 [values[_index(i, n_values, "outputs")] for i in doc["outputs"]], nodes,
                 doc["stage"], doc["input_layout"], doc["output_layout"],
                 _shape(doc["input_torch_shape"], "input_torch_shape"),
                 _shape(doc["output_torch_shape"], "output_torch_shape"))
