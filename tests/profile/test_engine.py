"""The instruction counter on hand-counted code: exact, attributed per call, deterministic."""

from __future__ import annotations

import pytest
from slimgen.profile.cores import get_core, uc_cpu_model
from slimgen.profile.engine import Machine, thumb_lengths

MAINLINE = ("m3", "m4", "m7", "m33")  # loops.S uses IT: Armv7-M and later


def test_thumb_lengths():
    # movs r1,#0 | ldr.w r3,[r3,#4] | bx lr | smlad r0,r1,r2,r0
    code = bytes.fromhex("0021" "d3f80430" "7047" "21fb0200")
    assert thumb_lengths(code) == [2, 4, 2, 4]


@pytest.mark.parametrize("core", MAINLINE)
@pytest.mark.parametrize("n", [1, 7, 150])
def test_counted_loop_is_exact(loops_elf, core, n):
    m = Machine(loops_elf, uc_cpu_model(get_core(core)))
    res = m.call("count", n)
    assert res.r0 == 3 * n
    # 4 + 6 n by construction (loops.S): the IT block's failing ADDHI is counted too, which a
    # per-instruction hook would miss (4 + 5 n for n <= 100).
    assert res.total == 4 + 6 * n
    assert res.windows == []


def test_calls_are_windows_and_glue_is_the_rest(loops_elf):
    m = Machine(loops_elf, uc_cpu_model(get_core("m4")))
    res = m.call("twice", 5)
    assert [res.count(w) for w in res.windows] == [4 + 6 * 5, 4 + 6 * 10]
    assert res.count(res.glue) == 7
    assert res.callees == [m.addr("count")] * 2
    assert res.total == 7 + 34 + 64


def test_same_code_same_counts(loops_elf):
    runs = []
    for _ in range(2):
        res = Machine(loops_elf, uc_cpu_model(get_core("m33"))).call("twice", 9)
        runs.append(([dict(w.blocks) for w in res.windows], dict(res.glue.blocks), res.total))
    assert runs[0] == runs[1]
