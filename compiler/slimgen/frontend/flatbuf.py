"""A bounds-checked reader for FlatBuffers tables, enough to walk a TFLite model.

Every offset read from the file is checked against the buffer before it is followed, so a
truncated or hostile file raises ``FlatbufferError`` instead of reading garbage or looping;
the caller turns that into a user error. Only what the TFLite schema needs is here: tables,
scalars, strings, vectors of scalars and vectors of tables (unions are a type byte plus a table).
"""

from __future__ import annotations

import struct

import numpy as np


class FlatbufferError(ValueError):
    """The bytes are not a well-formed flatbuffer (or not the table the caller expected)."""


_SCALARS = {"u8": "<B", "i8": "<b", "u16": "<H", "i16": "<h", "u32": "<I", "i32": "<i",
            "u64": "<Q", "i64": "<q", "f32": "<f"}
_NP = {"u8": "<u1", "i8": "<i1", "i32": "<i4", "u32": "<u4", "i64": "<i8", "f32": "<f4"}


class Table:
    """One table at byte ``pos`` of ``buf``; fields are addressed by their schema index."""

    __slots__ = ("_tab_len", "_vt", "_vt_len", "buf", "pos")

    def __init__(self, buf: bytes, pos: int, what: str) -> None:
        self.buf = buf
        self.pos = pos
        _need(buf, pos, 4, what)
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        _need(buf, vt, 4, f"{what} vtable")
        vt_len, tab_len = struct.unpack_from("<HH", buf, vt)
        if vt_len < 4 or vt_len % 2:
            raise FlatbufferError(f"{what}: vtable of {vt_len} bytes")
        _need(buf, vt, vt_len, f"{what} vtable")
        _need(buf, pos, tab_len, what)
        self._vt, self._vt_len, self._tab_len = vt, vt_len, tab_len

    def _field(self, index: int) -> int:
        """Byte offset of field ``index`` inside the table, 0 when absent."""
        o = 4 + 2 * index
        if o + 2 > self._vt_len:
            return 0
        off: int = struct.unpack_from("<H", self.buf, self._vt + o)[0]
        return off

    def has(self, index: int) -> bool:
        return self._field(index) != 0

    def scalar(self, index: int, kind: str, default: float = 0) -> int | float:
        off = self._field(index)
        if not off:
            return default
        fmt = _SCALARS[kind]
        if off + struct.calcsize(fmt) > self._tab_len:
            raise FlatbufferError(f"field {index} lies outside its table")
        v: int | float = struct.unpack_from(fmt, self.buf, self.pos + off)[0]
        return v

    def _target(self, index: int) -> int | None:
        off = self._field(index)
        if not off:
            return None
        if off + 4 > self._tab_len:
            raise FlatbufferError(f"field {index} lies outside its table")
        p = self.pos + off
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, index: int, what: str) -> Table | None:
        t = self._target(index)
        return None if t is None else Table(self.buf, t, what)

    def string(self, index: int) -> str:
        t = self._target(index)
        if t is None:
            return ""
        n = _vec_len(self.buf, t, 1, "string")
        return self.buf[t + 4:t + 4 + n].decode("utf-8", errors="replace")

    def vector(self, index: int, kind: str) -> np.ndarray | None:
        """A vector of scalars as a read-only numpy view (None when absent)."""
        t = self._target(index)
        if t is None:
            return None
        dt = np.dtype(_NP[kind])
        n = _vec_len(self.buf, t, dt.itemsize, f"vector field {index}")
        return np.frombuffer(self.buf, dtype=dt, count=n, offset=t + 4)

    def tables(self, index: int, what: str) -> list[Table]:
        t = self._target(index)
        if t is None:
            return []
        n = _vec_len(self.buf, t, 4, what)
        out = []
        for i in range(n):
            p = t + 4 + 4 * i
            out.append(Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0],
                             f"{what}[{i}]"))
        return out


def _need(buf: bytes, pos: int, n: int, what: str) -> None:
    if pos < 0 or n < 0 or pos + n > len(buf):
        raise FlatbufferError(f"{what} at byte {pos} (+{n}) lies outside the {len(buf)}-byte file")


def _vec_len(buf: bytes, pos: int, elem: int, what: str) -> int:
    _need(buf, pos, 4, what)
    n: int = struct.unpack_from("<I", buf, pos)[0]
    _need(buf, pos + 4, n * elem, what)
    return n


def root(buf: bytes, identifier: bytes) -> Table:
    """The root table of ``buf``, whose 4-byte file identifier must be ``identifier``."""
    if len(buf) < 8:
        raise FlatbufferError(f"{len(buf)} bytes is too short for a flatbuffer")
    if buf[4:8] != identifier:
        raise FlatbufferError(f"file identifier {buf[4:8]!r}, expected {identifier!r}")
    return Table(buf, struct.unpack_from("<I", buf, 0)[0], "root table")
