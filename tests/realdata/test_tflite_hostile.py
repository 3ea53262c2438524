"""A damaged or hostile .tflite is refused with one clear SlimgenError, before anything is written.

The files are the KWS int8 model with single fields overwritten at the byte offsets the
flatbuffer reader itself finds, plus random byte flips: whatever the bytes say, import either
succeeds or raises InputError / UnsupportedError, never another exception.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from slimgen import api
from slimgen.errors import InputError, SlimgenError, UnsupportedError
from slimgen.frontend.flatbuf import Table, root
from slimgen.frontend.tflite import import_tflite

from tests.pipeline import slimgen_cli

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def kws(shared_data) -> bytes:
    return (shared_data / "mlperf-tiny-kws" / "kws_ref_model.tflite").read_bytes()


def _field_pos(t: Table, index: int) -> int:
    off = t._field(index)
    assert off, index
    return t.pos + off


def _target(t: Table, index: int) -> int:
    p = _field_pos(t, index)
    return p + struct.unpack_from("<I", t.buf, p)[0]


def _model(buf: bytes) -> tuple[Table, Table]:
    m = root(buf, b"TFL3")
    return m, m.tables(2, "subgraph")[0]


def _patch(buf: bytes, pos: int, fmt: str, value: int) -> bytes:
    b = bytearray(buf)
    struct.pack_into(fmt, b, pos, value)
    return bytes(b)


def _import(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "m.tflite"
    p.write_bytes(data)
    import_tflite(p, "m")


def test_truncated_file_is_an_input_error(kws, tmp_path):
    for n in (6, 100, len(kws) // 3, len(kws) - 1000):
        with pytest.raises(InputError, match="not a valid TFLite flatbuffer"):
            _import(tmp_path, kws[:n])


def test_out_of_range_buffer_index(kws, tmp_path):
    _, sg = _model(kws)
    t = sg.tables(0, "tensor")[5]
    with pytest.raises(InputError, match="uses buffer 100000"):
        _import(tmp_path, _patch(kws, _field_pos(t, 2), "<I", 100000))


def test_buffer_length_past_the_end(kws, tmp_path):
    m, sg = _model(kws)
    b = m.tables(4, "buffer")[sg.tables(0, "tensor")[5].scalar(2, "u32")]
    with pytest.raises(InputError, match="outside the"):
        _import(tmp_path, _patch(kws, _target(b, 0), "<I", 0x7FFFFFF0))


def test_wrong_weight_shape(kws, tmp_path):
    """A filter whose declared shape disagrees with its buffer size."""
    _, sg = _model(kws)
    t = sg.tables(0, "tensor")[17]  # the first conv's (64, 10, 4, 1) filter
    with pytest.raises(InputError, match="holds 2560 bytes"):
        _import(tmp_path, _patch(kws, _target(t, 0) + 4, "<i", 32))


@pytest.mark.parametrize("dim", [0, -3, 1 << 20])
def test_out_of_range_dimension(kws, tmp_path, dim):
    _, sg = _model(kws)
    t = sg.tables(0, "tensor")[22]
    with pytest.raises(InputError, match="each dimension"):
        _import(tmp_path, _patch(kws, _target(t, 0) + 8, "<i", dim))


def test_inconsistent_activation_shape(kws, tmp_path):
    _, sg = _model(kws)
    t = sg.tables(0, "tensor")[22]  # first conv output (1, 25, 5, 64)
    with pytest.raises(InputError, match="declares output shape"):
        _import(tmp_path, _patch(kws, _target(t, 0) + 8, "<i", 7))


def test_scale_count_mismatch(kws, tmp_path):
    _, sg = _model(kws)
    q = sg.tables(0, "tensor")[17].table(4, "q")
    assert q is not None
    with pytest.raises(InputError, match="per-channel scales|zero points"):
        _import(tmp_path, _patch(kws, _target(q, 2), "<I", 10))


def test_out_of_range_tensor_index(kws, tmp_path):
    _, sg = _model(kws)
    op = sg.tables(3, "operator")[4]
    with pytest.raises(InputError, match="refers to tensor 9999"):
        _import(tmp_path, _patch(kws, _target(op, 1) + 4, "<i", 9999))


def test_tensor_written_twice(kws, tmp_path):
    _, sg = _model(kws)
    op = sg.tables(3, "operator")[1]  # depthwise conv: input 22 -> output 23; now -> 22
    with pytest.raises(InputError, match="writes tensor 22"):
        _import(tmp_path, _patch(kws, _target(op, 2) + 4, "<i", 22))


def test_unsupported_op_is_named_with_its_index(kws, tmp_path):
    m, _ = _model(kws)
    code = m.tables(1, "operator code")[5]  # SOFTMAX -> LOGISTIC
    data = _patch(kws, _field_pos(code, 0), "<b", 14)
    if code.has(3):
        data = _patch(data, _field_pos(code, 3), "<i", 14)
    with pytest.raises(UnsupportedError, match=r"operator 12 \(LOGISTIC\)"):
        _import(tmp_path, data)


@pytest.mark.parametrize("keep", [0.5, 6 / 53936, 0.0])
def test_cli_refuses_hostile_file_without_writing(kws, tmp_path, keep):
    """Cut anywhere, even before the TFL3 identifier: the .tflite suffix alone routes it."""
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(kws[: int(len(kws) * keep)])
    proc = slimgen_cli("build", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "not a valid TFLite flatbuffer" in proc.stderr or "is empty" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_random_byte_flips_never_crash(kws, tmp_path):
    rng = np.random.default_rng(8)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(150):
        b = bytearray(kws)
        # The converter writes weight buffers first and the tables (tensors, operators,
        # quantization, options) in the second half, where a flip changes structure.
        for pos in rng.integers(len(kws) // 2 - 3000, len(kws), size=rng.integers(1, 6)):
            b[pos] = int(rng.integers(0, 256))
        try:
            _import(tmp_path, bytes(b))
            outcomes["ok"] += 1
        except SlimgenError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


def test_pytorch_models_still_need_calibration(tmp_path):
    pt2 = tmp_path / "m.pt2"
    pt2.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SlimgenError):
        api.build(pt2, None, tmp_path / "out")
