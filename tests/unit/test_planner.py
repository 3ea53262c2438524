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


# ---- in place: an output written over an input that dies at its node ------------------------

def test_in_place_chain_shares_one_offset():
    """add -> clamp over a dying input: three buffers, one slot."""
    bufs = [Buffer("a", 1000, 0, 1), Buffer("b", 1000, 1, 2, alias_of="a"),
            Buffer("c", 1000, 2, 3, alias_of="b")]
    plan = plan_arena(bufs)
    assert plan.offsets["a"] == plan.offsets["b"] == plan.offsets["c"]
    assert plan.arena_bytes == 1008
    assert plan_arena([Buffer(b.name, b.size, b.first, b.last) for b in bufs]).arena_bytes == 2016
    assert plan.peak_node()[1] == 1000  # an in-place output counts once with its input


def test_in_place_group_keeps_clear_of_other_live_buffers():
    bufs = [Buffer("a", 500, 0, 2), Buffer("b", 500, 2, 4, alias_of="a"),
            Buffer("s", 64, 2, 2), Buffer("d", 300, 1, 3)]
    plan = plan_arena(bufs)
    check_plan(plan)
    assert plan.offsets["a"] == plan.offsets["b"]


@pytest.mark.parametrize("bad,why", [
    (Buffer("b", 100, 1, 3, alias_of="a"), "overlap"),  # a still live after b is written
    (Buffer("b", 96, 2, 3, alias_of="a"), "overlap"),  # sizes differ
    (Buffer("b", 100, 2, 3), "overlap"),  # no alias declared
    (Buffer("b", 100, 2, 3, alias_of="zz"), "unknown"),
])
def test_check_plan_accepts_only_declared_in_place_pairs(bad, why):
    a = Buffer("a", 100, 0, 2)
    plan = MemoryPlan(offsets={"a": 0, "b": 0}, buffers=[a, bad], arena_bytes=112)
    with pytest.raises(AssertionError, match=why):
        check_plan(plan)


def test_check_plan_accepts_declared_in_place_pair():
    a, b = Buffer("a", 100, 0, 2), Buffer("b", 100, 2, 3, alias_of="a")
    check_plan(MemoryPlan(offsets={"a": 0, "b": 0}, buffers=[a, b], arena_bytes=112))


@st.composite
def lifetimes_with_aliases(draw):
    bufs = draw(lifetimes())
    out = []
    for b in bufs:
        # alias b over an earlier buffer that dies exactly where b is born, same size
        cands = [a for a in out if a.last == b.first and a.first < b.first
                 and not any(c.alias_of == a.name for c in out)]
        if cands and draw(st.booleans()):
            a = cands[0]
            b = Buffer(b.name, a.size, b.first, b.last, alias_of=a.name)
        out.append(b)
    return out


@settings(max_examples=200, deadline=None, derandomize=True)
@given(lifetimes_with_aliases())
def test_plan_with_aliases_is_valid(bufs):
    plan = plan_arena(bufs)
    check_plan(plan)
    for b in bufs:
        if b.alias_of:
            assert plan.offsets[b.name] == plan.offsets[b.alias_of]


def test_graph_buffers_aliases_only_dying_same_size_inputs():
    """A residual block: add(conv(x), x) may overwrite conv(x) or x only where that input
    dies at the add; the graph input and output are the caller's and never aliased."""
    import numpy as np
    import torch

    from slimgen import api
    from slimgen.plan.liveness import graph_buffers

    class Res(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c0 = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.c1 = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.c2 = torch.nn.Conv2d(4, 4, 1)

        def forward(self, x):
            y = torch.relu(self.c0(x))
            z = torch.relu(self.c1(y) + y)
            return self.c2(z)

    ep = torch.export.export(Res().eval(), (torch.zeros(1, 4, 6, 6),))
    g = api.import_model_from_program(ep, "res")
    c = api.compile_graph(g, np.random.default_rng(0).normal(size=(4, 6, 6, 4)).astype(
        np.float32), api.BuildOptions())
    adds = [n for n in c.quant_graph.nodes if n.op == "add"]
    assert len(adds) == 1
    by_name = {b.name: b for b in c.plan.buffers}
    out = by_name[adds[0].out.name]
    assert out.alias_of in {v.name for v in adds[0].inputs}
    assert c.plan.offsets[out.name] == c.plan.offsets[out.alias_of]
    plain = graph_buffers(c.quant_graph)
    assert not any(b.alias_of for b in plain)
