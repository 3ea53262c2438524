"""The emulated DSP intrinsics of kernels/src/sg_arch.h (SG_EMULATE_DSP) against the Arm
Architecture Reference Manual's definitions, written here in Python big-int arithmetic.

The host tests of every DSP kernel rest on these wrappers being the instructions, bit for bit:
SMLAD's accumulate wraps modulo 2^32, SXTAB16's halfword sums wrap modulo 2^16, QADD and SSAT
saturate. The real instructions run in tests/firmware/test_dsp_kernels_on_board.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from slimgen import paths
from slimgen.build.host import compile_shared

from tests.kernels.harness import SANITIZE

WRAPPERS = ["smlad", "smladx", "smlabb", "smlabt", "smlatb", "smlatt", "sxtab16", "qadd",
            "mulh_q31_round", "max_s8x4", "min_s8x4"]
UNARY = ["sxtb16", "sxtb16_ror8", "ssat8", "ssat16", "usat8", "dup16", "dup8"]

SOURCE = "\n".join(
    ['#include "sg_arch.h"']
    + [f"int32_t t_{n}(int32_t a, int32_t b, int32_t c);\n"
       f"int32_t t_{n}(int32_t a, int32_t b, int32_t c) {{ (void)c; return sg_{n}(a, b"
       + (", c" if n.startswith("sml") else "") + "); }" for n in WRAPPERS]
    + [f"int32_t t_{n}(int32_t a);\nint32_t t_{n}(int32_t a) {{ return sg_{n}(a); }}"
       for n in UNARY]
    + ["int32_t t_sxtab16_ror8(int32_t a, int32_t b);",
       "int32_t t_sxtab16_ror8(int32_t a, int32_t b) { return sg_sxtab16_ror8(a, b); }",
       "int32_t t_pkhbt(int32_t a, int32_t b);",
       "int32_t t_pkhbt(int32_t a, int32_t b) { return sg_pkhbt(a, b, 16); }",
       "int32_t t_pkhtb(int32_t a, int32_t b);",
       "int32_t t_pkhtb(int32_t a, int32_t b) { return sg_pkhtb(a, b, 16); }"]
)


@pytest.fixture(scope="module")
def arch(tmp_path_factory):
    import cffi

    src = tmp_path_factory.mktemp("arch") / "arch.c"
    src.write_text(SOURCE + "\n")
    so = compile_shared([src], src.with_suffix(".so"), defines=["SG_EMULATE_DSP"],
                        include_dirs=[paths.kernels_dir() / "src"], sanitize=SANITIZE)
    ffi = cffi.FFI()
    ffi.cdef("\n".join(
        [f"int32_t t_{n}(int32_t, int32_t, int32_t);" for n in WRAPPERS]
        + [f"int32_t t_{n}(int32_t);" for n in UNARY]
        + ["int32_t t_sxtab16_ror8(int32_t, int32_t);", "int32_t t_pkhbt(int32_t, int32_t);",
           "int32_t t_pkhtb(int32_t, int32_t);"]))
    return ffi.dlopen(str(so))


def s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def half(x: int, top: bool) -> int:
    return sext(x >> 16 if top else x, 16)


def pack(lo: int, hi: int) -> int:
    return s32((lo & 0xFFFF) | ((hi & 0xFFFF) << 16))


def ror(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x >> n) | (x << (32 - n))) & 0xFFFFFFFF


def sat(v: int, bits: int) -> int:
    return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, v))


def expected(name: str, a: int, b: int = 0, c: int = 0) -> int:
    mla = {"smlabb": (0, 0), "smlabt": (0, 1), "smlatb": (1, 0), "smlatt": (1, 1)}
    if name == "smlad":
        return s32(c + half(a, 0) * half(b, 0) + half(a, 1) * half(b, 1))
    if name == "smladx":
        return s32(c + half(a, 0) * half(b, 1) + half(a, 1) * half(b, 0))
    if name in mla:
        ta, tb = mla[name]
        return s32(c + half(a, ta) * half(b, tb))
    if name in ("sxtb16", "sxtb16_ror8"):
        x = ror(a, 8) if name.endswith("ror8") else a & 0xFFFFFFFF
        return pack(sext(x, 8), sext(x >> 16, 8))
    if name in ("sxtab16", "sxtab16_ror8"):
        x = ror(b, 8) if name.endswith("ror8") else b & 0xFFFFFFFF
        return pack(half(a, 0) + sext(x, 8), half(a, 1) + sext(x >> 16, 8))
    if name == "qadd":
        return sat(a + b, 32)
    if name == "ssat8":
        return sat(a, 8)
    if name == "ssat16":
        return sat(a, 16)
    if name == "usat8":
        return max(0, min(255, a))
    if name == "dup16":
        return pack(a, a)
    if name == "dup8":
        return s32((a & 0xFF) * 0x01010101)
    if name in ("max_s8x4", "min_s8x4"):  # SSUB8 sets GE per lane where a >= b; SEL a, b (b, a)
        pick = max if name == "max_s8x4" else min
        return s32(sum((pick(sext(a >> i, 8), sext(b >> i, 8)) & 0xFF) << i for i in (0, 8, 16, 24)))
    if name == "pkhbt":
        return s32((a & 0xFFFF) | ((b << 16) & 0xFFFF0000))
    if name == "pkhtb":
        return s32((a & 0xFFFF0000) | ((b >> 16) & 0xFFFF))
    if name == "mulh_q31_round":
        return (a * b + (1 << 30)) >> 31
    raise KeyError(name)


EDGES = [0, 1, -1, 0x7FFF, -0x8000, 0x7FFF7FFF, s32(0x80008000),
         0x7FFFFFFF, -(1 << 31), 0x00800080, 0x7F807F80, 0x12345678, -0x789ABCDE]


def operands(name: str, rng: np.random.Generator, n: int = 300):
    pairs = [tuple(int(v) for v in row) for row in rng.integers(-(1 << 31), 1 << 31, (n, 3))]
    pairs += [(a, b, c) for a in EDGES for b in EDGES for c in (0, 0x7FFFFFFF, -(1 << 31))]
    if name == "mulh_q31_round":  # documented for b >= 0 (multipliers)
        pairs = [(a, abs(b) % (1 << 31), c) for a, b, c in pairs]
    if name == "dup16":  # documented for int16 values (offsets)
        pairs = [(sext(a, 16), b, c) for a, b, c in pairs]
    if name == "dup8":  # documented for int8 values (activation bounds)
        pairs = [(sext(a, 8), b, c) for a, b, c in pairs]
    return pairs


@pytest.mark.parametrize("name", WRAPPERS)
def test_binary_wrappers(arch, name: str) -> None:
    fn = getattr(arch, f"t_{name}")
    for a, b, c in operands(name, np.random.default_rng(1)):
        assert fn(a, b, c) == expected(name, a, b, c), (name, hex(a), hex(b), hex(c))


@pytest.mark.parametrize("name", UNARY + ["sxtab16_ror8", "pkhbt", "pkhtb"])
def test_other_wrappers(arch, name: str) -> None:
    fn = getattr(arch, f"t_{name}")
    for a, b, _ in operands(name, np.random.default_rng(2)):
        args = (a,) if name in UNARY else (a, b)
        assert fn(*args) == expected(name, *args), (name, hex(a), hex(b))
