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


def load_graph(folder: Path, stem: str) -> Graph:
    doc = json.loads((folder / f"{stem}.json").read_text())
    if doc.get("format") != FORMAT:
        raise ValueError(f"{folder / stem}.json is not a {FORMAT} file")
    blob = (folder / f"{stem}.bin").read_bytes()
    types = _types()

    def obj(x: Any, tuples: bool = True) -> Any:
        if isinstance(x, dict) and "__nd__" in x:
            dt = np.dtype(x["dtype"]).newbyteorder("<")
            count = int(np.prod(x["shape"], dtype=np.int64))
            off = x["__nd__"]
            if off < 0 or off + count * dt.itemsize > len(blob):
                raise ValueError("constant out of range of the blob")
            return np.frombuffer(blob, dt, count, off).astype(dt.newbyteorder("=")).reshape(
                x["shape"])
        if isinstance(x, dict) and "__dc__" in x:
            cls = types[x["__dc__"]]
            return cls(**{k: obj(v) for k, v in x.items() if k != "__dc__"})
        if isinstance(x, list):
            return tuple(obj(v) for v in x) if tuples else [obj(v) for v in x]
        if isinstance(x, dict):
            return {k: obj(v) for k, v in x.items()}
        return x

    values = []
    for d in doc["values"]:
        v = Value(d["name"], tuple(d["shape"]), d["dtype"], obj(d["data"]), obj(d["q"]))
        if "scales" in d:
            v.scales = obj(d["scales"])  # type: ignore[attr-defined]
        values.append(v)

    def val(i: int | None) -> Value | None:
        return None if i is None else values[i]

    nodes = [Node(n["op"], [val(i) for i in n["inputs"]], [values[i] for i in n["outputs"]],
                  obj(n["attrs"]), n["name"], n["origin"]) for n in doc["nodes"]]
    return Graph(doc["name"], [values[i] for i in doc["inputs"]],
                 [values[i] for i in doc["outputs"]], nodes, doc["stage"], doc["input_layout"],
                 doc["output_layout"], tuple(doc["input_torch_shape"]),
                 tuple(doc["output_torch_shape"]))
