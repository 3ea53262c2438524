"""The arena planner: greedy placement never overlaps live buffers and reuses dead ones."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slimgen.plan.greedy import ALIGN, Buffer, MemoryPlan, check_plan, plan_arena


@st.composite
def lifetimes(draw):
    n = draw(st.integers(1, 25))
    bufs = []
    for i in range(n):
        first = draw(st.integers(0, 20))
        last = draw(st.integers(first, first + 6))
        bufs.append(Buffer(f"b{i}", draw(st.integers(1, 5000)), first, last))
    return bufs


@settings(max_examples=200, deadline=None, derandomize=True)
@given(lifetimes())
def test_plan_never_overlaps_live_buffers(bufs):
    plan = plan_arena(bufs)
    check_plan(plan)  # independent re-check
    peak = max(sum(b.size for b in bufs if b.first <= t <= b.last) for t in range(30))
    assert plan.arena_bytes >= peak


def test_chain_reuses_memory():
    """A -> B -> C -> D: only two buffers are ever live, so the arena is two buffers, not four."""
    bufs = [Buffer(f"v{i}", 1000, i, i + 1) for i in range(4)]
    plan = plan_arena(bufs)
    assert plan.arena_bytes == 2 * 1008  # 1000 rounded up to the 16-byte alignment
    assert plan.offsets["v0"] == plan.offsets["v2"]


def test_offsets_are_aligned():
    plan = plan_arena([Buffer("a", 3, 0, 1), Buffer("b", 5, 1, 2), Buffer("c", 7, 0, 2)])
    assert all(off % ALIGN == 0 for off in plan.offsets.values())


def test_check_plan_catches_overlap():
    a, b = Buffer("a", 100, 0, 2), Buffer("b", 100, 1, 3)
    bad = MemoryPlan(offsets={"a": 0, "b": 48}, buffers=[a, b], arena_bytes=160)
    with pytest.raises(AssertionError, match="overlap"):
        check_plan(bad)


def test_empty_plan():
    assert plan_arena([]).arena_bytes == 0
