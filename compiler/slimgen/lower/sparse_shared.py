"""The ``shared`` sparse format: weight sharing for flash (Deep Compression, Han et al. 2016).

C struct ``sg_shared_s8`` (kernels/include/sg_kernels.h), kernels ``sg_*_shared``
(kernels/src/sparse/sg_sparse_shared.h). A weight matrix is dense ``[rows][cols]`` int8 as in
``sparse_format``; this format stores one byte per entry: a column delta and a code into a
per-layer codebook of int8 values.

``codebook`` has ``1 << code_bits`` int8 entries with ``codebook[0] == 0``. The packer takes the
matrix's distinct non-zero values in ascending order as codes 1, 2, ... and the fewest code bits
(1..4) that hold them, so a layer may take at most 15 distinct non-zero values (``slimgen
compress --share-weights 16`` makes such layers); it refuses more. ``row_len[r]`` entries per
row, uint8 when every row has at most 255 entries (C ``row_len8``), else uint16 (C
``row_len``): short rows (a 1x1 conv's) would otherwise pay 2 bytes each. A cursor starts at
column 0 of each row. Entry byte ``e`` has
``code = e & (2**code_bits - 1)``:

- a code other than 0 moves the cursor by ``e >> code_bits`` (0 .. 2**(8 - code_bits) - 1) and
  multiplies ``x[cursor]`` by ``codebook[code]``;
- code 0 is an *escape*: it moves the cursor by ``e`` itself (a multiple of ``2**code_bits``,
  16 .. 240 with 4-bit codes) and, as ``codebook[0] == 0``, adds nothing.

So the kernel has no escape branch (only a select of the advance), and a long gap costs one
byte per 240 columns rather than per 15. With 4-bit codes a gap up to 15 columns is one entry,
up to 255 two. Escapes only ever precede a real entry, so every column the cursor visits is
< cols. The int8 values the kernel multiplies are exactly the layer's quantized weights (the
codebook holds them, the per-channel scales are unchanged), so the reference is still densify +
the dense reference (``slimgen.ref.sparse``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_CODE_BITS = 4  # at most 2**4 - 1 = 15 distinct non-zero values per layer


@dataclass(frozen=True)
class Shared:
    rows: int
    cols: int
    code_bits: int  # 1..4: the low bits of an entry; its other 8 - code_bits are the delta
    codebook: npt.NDArray[np.int8]  # [1 << code_bits], codebook[0] == 0
    row_len: npt.NDArray[np.uint8] | npt.NDArray[np.uint16]  # [rows] entries, escapes included
    entry: npt.NDArray[np.uint8]  # [entries] (delta << code_bits) | code; code 0: an escape

    @property
    def entries(self) -> int:
        return int(self.entry.size)

    @property
    def nbytes(self) -> int:
        """Flash bytes of the arrays, codebook included (struct fields not counted)."""
        return int(self.row_len.nbytes) + self.entries + int(self.codebook.size)


def shared_codebook(a: np.ndarray) -> tuple[int, np.ndarray]:
    """(code_bits, codebook) for the distinct non-zero values of ``a``; refuses more than 15."""
    from .sparse_format import SparseFormatError

    vals = np.unique(a[a != 0])
    limit = (1 << MAX_CODE_BITS) - 1
    if vals.size > limit:
        raise SparseFormatError(
            f"shared: the weights take {vals.size} distinct non-zero int8 values, more than the "
            f"{limit} a {MAX_CODE_BITS}-bit code holds; compress the model with "
            f"'slimgen compress --share-weights {limit + 1}' (or fewer) or use unstructured")
    bits = max(1, int(vals.size).bit_length())
    book = np.zeros(1 << bits, np.int8)
    book[1:1 + vals.size] = vals
    return bits, book


def _row_entries(gaps: list[int], codes: list[int], bits: int) -> list[int]:
    """Entry bytes of one row: each gap as escapes (code 0, advance a multiple of 2**bits) and
    one real entry whose delta field holds the rest."""
    unit = 1 << bits
    max_delta = (1 << (8 - bits)) - 1
    max_escape = max_delta << bits
    out: list[int] = []
    for g, c in zip(gaps, codes):
        esc = -(-max(g - max_delta, 0) // unit) * unit  # the least escape total that fits
        g -= esc
        while esc > 0:
            step = min(esc, max_escape)
            out.append(step)
            esc -= step
        out.append(g << bits | c)
    return out


def pack_shared(w: npt.ArrayLike) -> Shared:
    from .sparse_format import MAX_ROW_ENTRIES, SparseFormatError, _check_dense

    a = _check_dense(w)
    rows, cols = a.shape
    bits, book = shared_codebook(a)
    n_vals = int(np.count_nonzero(book))
    code_of = np.zeros(256, np.int64)
    code_of[book[1:1 + n_vals].astype(np.int64) + 128] = np.arange(1, 1 + n_vals)
    row_len = np.zeros(rows, np.uint16)
    entries: list[int] = []
    for r in range(rows):
        nz = np.flatnonzero(a[r])
        row = _row_entries(np.diff(nz, prepend=0).tolist(),
                           code_of[a[r, nz].astype(np.int64) + 128].tolist(), bits)
        if len(row) > MAX_ROW_ENTRIES:
            raise SparseFormatError(
                f"shared: row {r} needs {len(row)} entries, more than the uint16 row length "
                f"holds ({MAX_ROW_ENTRIES}); split the layer or use bsr1x4")
        row_len[r] = len(row)
        entries += row
    if rows and int(row_len.max()) <= 0xFF:
        row_len = row_len.astype(np.uint8)
    return Shared(rows, cols, bits, book, row_len, np.array(entries, np.uint8))


def densify_shared(p: Shared) -> npt.NDArray[np.int8]:
    from .sparse_format import SparseFormatError

    e = p.entry.astype(np.int64)
    code = e & ((1 << p.code_bits) - 1)
    step = np.where(code != 0, e >> p.code_bits, e)
    out = np.zeros((p.rows, p.cols), np.int64)
    start = 0
    for r in range(p.rows):
        n = int(p.row_len[r])
        cols = np.cumsum(step[start:start + n])
        if n and cols[-1] >= p.cols:
            raise SparseFormatError(f"shared: row {r} reaches column {cols[-1]} of {p.cols}")
        np.add.at(out[r], cols, p.codebook[code[start:start + n]].astype(np.int64))
        start += n
    return out.astype(np.int8)
