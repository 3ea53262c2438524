"""Sparse weight formats: packers, ``densify`` and the build-time bias fold (no torch import).

A weight matrix here is dense ``[rows][cols]`` int8: ``rows`` output channels, ``cols`` the
reduction axis in slimgen's layout (an FC row, a 1x1 filter's C_in, an im2col row). Every
format groups along the reduction axis, so each packed row is what one output channel reads.
The C structs in ``kernels/include/sg_kernels.h`` hold exactly these arrays.

``unstructured`` (:class:`Csr8`, C ``sg_csr8_s8``)
    Compressed rows with 8-bit column deltas. ``row_len[r]`` (uint16) entries per row, then
    per entry one ``delta`` byte (uint8) and one ``values`` byte (int8). A cursor starts at
    column 0 at each row; entry ``k`` is at column ``col_k = col_{k-1} + delta_k`` (with
    ``col_{-1} = 0``, so the first delta is the first column itself). A gap of 255 or more is
    crossed by *escape entries*: ``delta = 255, value = 0``, each moving the cursor 255 columns;
    their product is 0, so the kernel needs no escape branch. Every entry's column is < cols.

``bsr1x4`` (:class:`Bsr1x4`, C ``sg_bsr1x4_s8``)
    Block rows of 1x4 blocks along the reduction axis (``compress.patterns.BLOCK``):
    ``row_blocks[r]`` (uint16) blocks per row, ``block_col[b]`` (uint16) = column / 4 of each
    block, ``values[b][4]`` int8. One 32-bit load of the 4 weights and one of the 4 inputs feed
    SXTB16/SMLAD. ``cols`` must be a multiple of 4 (the kernel loads 4 inputs at a time and
    must not read past the input row): the packer refuses other shapes rather than padding.

``nm`` (:class:`NM`, C ``sg_nm4_s8``), N:4 with N in {1, 2}, as pair-table entries
    Every group of 4 consecutive columns holds at most N non-zeros. The kernels multiply by a
    *pair table* built once per input row (kernels/src/sparse/sg_sparse_nm4.h): int16x2 words
    holding every pair of inputs an entry can use, so one entry costs one table load and one
    SMLAD. An *entry* is one SMLAD: one group for 2:4 (its two kept columns), two consecutive
    groups for 1:4 (one column of each). ``entries`` per row = groups (2:4) or
    ceil(groups / 2) (1:4).

    Table: per entry ``table_entry_bytes`` (24 for 2:4, 64 for 1:4) of int16x2 words. 2:4,
    group g: word ``s`` = (x[4g + i], x[4g + j]) for (i, j) = ``NM_PAIRS[s]``; 1:4, groups
    2k, 2k+1: word ``4i + j`` = (x[8k + i], x[8k + 4 + j]). Inputs past ``cols`` read as 0.

    ``offset[r][e]`` (uint8): the index of entry e's table word counted from the start of its
    *block* of ``NM_BLOCK`` = 16 entries, ``(e % 16) * table_entry_bytes / 4 + word`` (at most
    255 for 1:4); the kernel advances its table pointer once per block (384 or 1024 bytes).
    ``values[r][e // 2][4]`` (int8): entries 2k and 2k+1 interleaved as (a0, b0, a1, b1),
    where (a0, a1) multiply entry 2k's (low, high) halfwords and (b0, b1) entry 2k+1's: one
    SXTB16 gives (a0, a1), SXTB16 ROR 8 gives (b0, b1). An odd last entry has b = 0. The
    convolutions read these (the extension is shared by two pixels); the fc kernel reads
    ``pairs`` instead, the same weights as int16 (a0, a1) per entry, one SMLAD operand without
    an SXTB16: 2 bytes per stored weight instead of 1, for fc's speed at batch 1.
    Fillers (a group with fewer than N non-zeros) are zero weights on zero-valued columns of
    the group; in a last, partial group (cols not a multiple of 4) they may name columns past
    ``cols``, whose table halfwords are 0 and whose weights are 0.

``shared`` (``sparse_shared.Shared``, C ``sg_shared_s8``): one byte per entry, a column delta
    and a code into a per-layer codebook of at most 15 int8 values (weight sharing for flash;
    encoding in ``sparse_shared``'s docstring).

``densify`` is the meaning of a packed matrix: the kernel computes ``sum(x[col] * value)`` over
its entries, which equals the dense dot product with ``densify(packed)``. So the reference of
every sparse kernel is "densify, then the dense reference" (``slimgen.ref.sparse``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..compress.patterns import BLOCK
from .sparse_shared import Shared, densify_shared, pack_shared

I8 = npt.NDArray[np.int8]
U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]

ESCAPE = 255  # a delta byte of 255 is an escape entry (value 0) when a gap is >= 255
MAX_ROW_ENTRIES = 0xFFFF  # row_len and row_blocks are uint16
FORMATS = ("unstructured", "bsr1x4", "nm2:4", "nm1:4", "shared")


class SparseFormatError(ValueError):
    """A weight matrix that a sparse format cannot hold (message names the fix)."""


def _check_dense(w: npt.ArrayLike) -> I8:
    a = np.asarray(w)
    if a.dtype != np.int8 or a.ndim != 2 or a.size == 0:
        raise SparseFormatError(f"sparse packers take a non-empty 2-D int8 matrix, got "
                                f"{a.dtype} {a.shape}")
    return a


@dataclass(frozen=True)
class Csr8:
    rows: int
    cols: int
    row_len: U16  # [rows] entries per row, escapes included
    delta: U8  # [entries]
    values: I8  # [entries]

    @property
    def entries(self) -> int:
        return int(self.values.size)

    @property
    def nbytes(self) -> int:
        """Flash bytes of the arrays (struct fields not counted)."""
        return 2 * self.rows + 2 * self.entries


@dataclass(frozen=True)
class Bsr1x4:
    rows: int
    cols: int
    row_blocks: U16  # [rows]
    block_col: U16  # [blocks] column / 4
    values: I8  # [blocks * 4]

    @property
    def blocks(self) -> int:
        return int(self.block_col.size)

    @property
    def nbytes(self) -> int:
        return 2 * self.rows + 2 * self.blocks + 4 * self.blocks


#: 2:4 table words: the in-group positions (i, j) of word s of a group.
NM_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
NM_BLOCK = 16  # entries per table-pointer step (offsets are word indexes within a block)


@dataclass(frozen=True)
class NM:
    rows: int
    cols: int
    n: int  # non-zeros per group of M = 4
    offset: U8  # [rows * entries] pair-table word indexes, block-relative
    values: I8  # [rows * value_row_bytes] entry pairs interleaved (a0, b0, a1, b1)
    m: int = 4

    @property
    def groups(self) -> int:
        return -(-self.cols // self.m)

    @property
    def entries(self) -> int:
        """Entries (SMLADs) per row."""
        return self.groups if self.n == 2 else -(-self.groups // 2)

    @property
    def value_row_bytes(self) -> int:
        return 4 * -(-self.entries // 2)

    @property
    def table_entry_bytes(self) -> int:
        return nm_table_entry_bytes(self.n)

    @property
    def nbytes(self) -> int:
        """Flash bytes as the convolutions read them (int8 values)."""
        return int(self.values.size + self.offset.size)

    @property
    def pairs(self) -> npt.NDArray[np.int16]:
        """[rows * entries * 2] the weights as int16 (a0, a1) per entry: the fc kernel's
        layout, an SMLAD operand per entry without a sign extension (twice the weight bytes)."""
        vw = self.values.reshape(self.rows, -1, 2, 2).transpose(0, 1, 3, 2)
        return vw.reshape(self.rows, -1, 2)[:, :self.entries].reshape(-1).astype(np.int16)

    @property
    def nbytes_fc(self) -> int:
        """Flash bytes as the fc kernel reads them (int16 pairs)."""
        return int(2 * self.rows * self.entries * 2 + self.offset.size)


def nm_table_entry_bytes(n: int) -> int:
    return 4 * len(NM_PAIRS) if n == 2 else 4 * 16


def nm_table_bytes(cols: int, n: int) -> int:
    """sg_nm4_table_bytes(): the pair table of one input row (the kernels' scratch unit)."""
    groups = -(-cols // 4)
    entries = groups if n == 2 else -(-groups // 2)
    return entries * nm_table_entry_bytes(n)


Packed = Csr8 | Bsr1x4 | NM | Shared


# ---- unstructured -----------------------------------------------------------------------------

def pack_csr8(w: npt.ArrayLike) -> Csr8:
    a = _check_dense(w)
    rows, cols = a.shape
    row_len = np.zeros(rows, np.uint16)
    deltas: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for r in range(rows):
        nz = np.flatnonzero(a[r])
        gaps = np.diff(nz, prepend=0)  # first gap is the first column itself
        escapes = gaps // ESCAPE  # escape entries before each non-zero
        n_entries = int(nz.size + escapes.sum())
        if n_entries > MAX_ROW_ENTRIES:
            raise SparseFormatError(
                f"unstructured: row {r} needs {n_entries} entries, more than the uint16 row "
                f"length holds ({MAX_ROW_ENTRIES}); split the layer or use bsr1x4")
        d = np.full(n_entries, ESCAPE, np.uint8)
        v = np.zeros(n_entries, np.int8)
        last = np.cumsum(escapes + 1) - 1  # where each real non-zero lands
        d[last] = gaps - escapes * ESCAPE
        v[last] = a[r, nz]
        row_len[r] = n_entries
        deltas.append(d)
        values.append(v)
    return Csr8(rows, cols, row_len, np.concatenate(deltas), np.concatenate(values))


def _densify_csr8(p: Csr8) -> I8:
    out = np.zeros((p.rows, p.cols), np.int64)
    start = 0
    for r in range(p.rows):
        n = int(p.row_len[r])
        cols = np.cumsum(p.delta[start:start + n].astype(np.int64))
        if n and cols[-1] >= p.cols:
            raise SparseFormatError(f"unstructured: row {r} reaches column {cols[-1]} of "
                                    f"{p.cols}")
        np.add.at(out[r], cols, p.values[start:start + n].astype(np.int64))
        start += n
    return out.astype(np.int8)


# ---- block 1x4 --------------------------------------------------------------------------------

def pack_bsr1x4(w: npt.ArrayLike) -> Bsr1x4:
    a = _check_dense(w)
    rows, cols = a.shape
    bw = BLOCK[1]
    if BLOCK[0] != 1 or cols % bw:
        raise SparseFormatError(
            f"bsr1x4: the reduction length ({cols}) is not a multiple of {bw}; the kernel "
            f"loads {bw} inputs at a time. Use unstructured or N:4 for this layer")
    if cols // bw > 0xFFFF:
        raise SparseFormatError(f"bsr1x4: {cols} columns exceed the uint16 block index")
    blocks = a.reshape(rows, cols // bw, bw)
    keep = np.any(blocks != 0, axis=2)
    rr, cc = np.nonzero(keep)  # row-major: rows in order, blocks by column
    return Bsr1x4(rows, cols, keep.sum(axis=1).astype(np.uint16), cc.astype(np.uint16),
                  blocks[rr, cc].reshape(-1).astype(np.int8))


def _densify_bsr1x4(p: Bsr1x4) -> I8:
    bw = BLOCK[1]
    out = np.zeros((p.rows, p.cols // bw, bw), np.int8)
    rr = np.repeat(np.arange(p.rows), p.row_blocks.astype(np.int64))
    out[rr, p.block_col.astype(np.int64)] = p.values.reshape(-1, bw)
    return out.reshape(p.rows, p.cols)


# ---- N:4 --------------------------------------------------------------------------------------

def pack_nm(w: npt.ArrayLike, n: int, m: int = 4) -> NM:
    a = _check_dense(w)
    if m != 4 or n not in (1, 2):
        raise SparseFormatError(f"N:M kernels exist for 1:4 and 2:4 only, not {n}:{m}; use "
                                "unstructured or bsr1x4")
    rows, cols = a.shape
    groups = -(-cols // m)
    g = np.zeros((rows, groups * m), np.int8)
    g[:, :cols] = a
    g = g.reshape(rows, groups, m)
    counts = (g != 0).sum(axis=2)
    if counts.max() > n:
        r, grp = (int(v[0]) for v in np.nonzero(counts > n))
        raise SparseFormatError(
            f"{n}:{m}: row {r}, columns {grp * m}..{grp * m + m - 1} hold {counts[r, grp]} "
            f"non-zeros, more than {n}; prune with 'slimgen compress --pattern {n}:{m}' or use "
            "unstructured")
    # Stable sort puts non-zero positions first, then zero-valued ones (the fillers), each in
    # column order: n distinct positions per group.
    pos = np.sort(np.argsort(g == 0, axis=2, kind="stable")[:, :, :n], axis=2)
    vals = np.take_along_axis(g, pos, axis=2)
    if n == 2:
        word = np.zeros(pos.shape[:2], np.int64)
        for s_, (i, j) in enumerate(NM_PAIRS):
            word[(pos[..., 0] == i) & (pos[..., 1] == j)] = s_
        pair_w = vals  # [rows][entries][2]
    else:
        if groups % 2:  # a missing partner group: word 4i + 0, weight 0
            pos = np.concatenate([pos, np.zeros((rows, 1, 1), pos.dtype)], axis=1)
            vals = np.concatenate([vals, np.zeros((rows, 1, 1), np.int8)], axis=1)
        pos = pos.reshape(rows, -1, 2)
        word = 4 * pos[..., 0] + pos[..., 1]
        pair_w = vals.reshape(rows, -1, 2)
    entries = word.shape[1]
    e = np.arange(entries)
    offset = (e % NM_BLOCK) * (nm_table_entry_bytes(n) // 4) + word
    if entries % 2:
        pair_w = np.concatenate([pair_w, np.zeros((rows, 1, 2), np.int8)], axis=1)
    # (a0, a1), (b0, b1) -> a0, b0, a1, b1
    quads = pair_w.reshape(rows, -1, 2, 2).transpose(0, 1, 3, 2)
    return NM(rows, cols, n, offset.astype(np.uint8).reshape(-1),
              quads.reshape(-1).astype(np.int8), m)


def _nm_columns(p: NM) -> np.ndarray:
    """[rows][entries][2] column of each weight of each entry (may pass cols in the last group)."""
    off = p.offset.reshape(p.rows, p.entries).astype(np.int64)
    e = np.arange(p.entries)
    word = off - (e % NM_BLOCK) * (p.table_entry_bytes // 4)
    if word.min(initial=0) < 0 or word.max(initial=0) >= p.table_entry_bytes // 4:
        raise SparseFormatError(f"{p.n}:{p.m}: an offset does not name a word of its entry")
    if p.n == 2:
        ij = np.array(NM_PAIRS)[word]  # [rows][entries][2]
        return ij + 4 * e[None, :, None]
    return np.stack([word // 4 + 8 * e, word % 4 + 8 * e + 4], axis=2)


def _densify_nm(p: NM) -> I8:
    vw = p.values.reshape(p.rows, -1, 2, 2).transpose(0, 1, 3, 2).reshape(p.rows, -1, 2)
    vals = vw[:, :p.entries].astype(np.int64)
    cols = _nm_columns(p)
    if (vals[cols >= p.cols] != 0).any():
        raise SparseFormatError(f"{p.n}:{p.m}: a non-zero weight lies past column {p.cols}")
    width = max(p.cols, int(cols.max(initial=0)) + 1)
    out = np.zeros((p.rows, width), np.int64)
    rr = np.repeat(np.arange(p.rows), 2 * p.entries)
    np.add.at(out, (rr, cols.reshape(-1)), vals.reshape(-1))
    return out[:, :p.cols].astype(np.int8)


# ---- common -----------------------------------------------------------------------------------

def pack(w: npt.ArrayLike, fmt: str) -> Packed:
    """Pack ``w`` in format ``fmt`` (one of FORMATS)."""
    if fmt == "unstructured":
        return pack_csr8(w)
    if fmt == "bsr1x4":
        return pack_bsr1x4(w)
    if fmt in ("nm2:4", "nm1:4"):
        return pack_nm(w, int(fmt[2]))
    if fmt == "shared":
        return pack_shared(w)
    raise SparseFormatError(f"unknown sparse format {fmt!r}; use one of {', '.join(FORMATS)}")


def densify(p: Packed) -> I8:
    """The dense ``[rows][cols]`` int8 matrix a packed one stands for."""
    if isinstance(p, Csr8):
        return _densify_csr8(p)
    if isinstance(p, Bsr1x4):
        return _densify_bsr1x4(p)
    if isinstance(p, Shared):
        return densify_shared(p)
    return _densify_nm(p)


def format_name(p: Packed) -> str:
    if isinstance(p, Csr8):
        return "unstructured"
    if isinstance(p, Bsr1x4):
        return "bsr1x4"
    if isinstance(p, Shared):
        return "shared"
    return f"nm{p.n}:{p.m}"


def fits(w: npt.ArrayLike, fmt: str) -> str | None:
    """None if ``w`` can be packed as ``fmt``, else the reason it cannot."""
    try:
        pack(w, fmt)
    except SparseFormatError as e:
        return str(e)
    return None


def fold_input_offset(bias: npt.ArrayLike | None, w: npt.ArrayLike, in_offset: int
                      ) -> npt.NDArray[np.int32]:
    """``bias' = bias + in_offset * sum(w[row])`` over ALL weights of each row, so a sparse
    kernel computes ``bias' + sum(x * w)`` over its entries only, with no offset in the loop.

    Raises OverflowError when a partial sum of the folded kernel could leave int32: every one
    lies within ``bias' +- 128 * sum|w|`` (|x| <= 128).
    """
    a = np.asarray(w).astype(np.int64)
    b = np.zeros(a.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64)
    folded = b + int(in_offset) * a.sum(axis=1)
    spread = 128 * np.abs(a).sum(axis=1)
    if (folded + spread).max() > 2**31 - 1 or (folded - spread).min() < -(2**31):
        raise OverflowError("sparse kernel: the folded bias plus the largest partial sum may "
                            "leave int32; reduce the reduction size or the bias")
    return folded.astype(np.int32)
