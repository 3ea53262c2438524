"""Liveness-based greedy-by-size arena planner (the algorithm of TFLite Micro's planner).

- The schedule is ``Graph.nodes`` in order; a buffer is live from the node that writes it to the
  last node that reads it (inclusive).
- The graph input and output are not placed: the generated ``run`` reads the caller's input and
  writes the caller's output buffers directly, which saves their bytes in the arena.
- Scratch buffers are live for exactly the node that uses them.
- Buffers are placed largest first; ties keep schedule order, so the plan is deterministic.
- Each buffer goes at the lowest aligned offset that overlaps no already-placed buffer whose
  lifetime intersects its own.
- The arena size is the highest end offset, rounded up to the alignment.
- In place: a buffer with ``alias_of`` (an output its kernel may write over that input, which dies
  at the node) is planned as one buffer with its input: the union of the two lifetimes, the
  larger size, one offset for both. Chains (add -> clamp) share one offset throughout.
- ``check_plan`` re-verifies the result independently (no overlap of simultaneously live buffers
  except exactly the declared aliases, alignment, within the arena); it runs on every build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 16  # covers 4-byte word loads and the 16-byte vectors of M55 Helium


@dataclass(frozen=True)
class Buffer:
    name: str
    size: int
    first: int  # index of the node that writes it
    last: int  # index of the last node that reads it
    alias_of: str = ""  # an input of the writing node that dies there; shares its offset


@dataclass
class MemoryPlan:
    offsets: dict[str, int] = field(default_factory=dict)
    buffers: list[Buffer] = field(default_factory=list)
    arena_bytes: int = 0

    def peak_node(self) -> tuple[int, int]:
        """(node index, live bytes) of the schedule step with the most live bytes; an in-place
        output counts once with the input it overwrites."""
        best = (0, 0)
        steps = max((b.last for b in self.buffers), default=-1) + 1
        for i in range(steps):
            live = sum(b.size for b in self.buffers
                       if b.first <= i <= b.last and not (b.alias_of and b.first == i))
            if live > best[1]:
                best = (i, live)
        return best


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def _alias_groups(buffers: list[Buffer]) -> dict[str, str]:
    """Buffer name -> the name of the first buffer of its in-place chain."""
    by_name = {b.name: b for b in buffers}
    root: dict[str, str] = {}
    for b in buffers:
        r = b
        while r.alias_of:
            r = by_name[r.alias_of]
        root[b.name] = r.name
    return root


def plan_arena(buffers: list[Buffer]) -> MemoryPlan:
    root = _alias_groups(buffers)
    merged: dict[str, Buffer] = {}
    for b in buffers:  # one buffer per in-place chain: union of lifetimes, largest size
        m = merged.get(root[b.name])
        merged[root[b.name]] = b if m is None else Buffer(
            m.name, max(m.size, b.size), min(m.first, b.first), max(m.last, b.last))
    groups = list(merged.values())
    order = sorted(range(len(groups)), key=lambda i: (-groups[i].size, i))
    placed: list[tuple[int, int, Buffer]] = []  # (offset, end, buffer)
    plan = MemoryPlan(buffers=list(buffers))
    group_offset: dict[str, int] = {}
    for i in order:
        buf = groups[i]
        conflicts = sorted((off, end) for off, end, other in placed
                           if _overlaps_in_time(buf, other))
        offset = 0
        for off, end in conflicts:
            if offset + buf.size <= off:
                break
            offset = max(offset, _align(end))
        placed.append((offset, offset + buf.size, buf))
        group_offset[buf.name] = offset
    for b in buffers:
        plan.offsets[b.name] = group_offset[root[b.name]]
    plan.arena_bytes = _align(max((end for _, end, _ in placed), default=0))
    check_plan(plan)
    return plan


def _declared_alias(a: Buffer, b: Buffer, plan: MemoryPlan) -> bool:
    """b overwrites a in place as declared: same offset and size, and a's last use is the node
    that writes b (a kernel with in_place_ok reads each element before writing it)."""
    if b.alias_of != a.name:
        return False
    return (plan.offsets[a.name] == plan.offsets[b.name] and a.size == b.size
            and a.last == b.first)


def check_plan(plan: MemoryPlan) -> None:
    """Raise AssertionError if two simultaneously live buffers overlap (other than a declared
    in-place pair) or anything is misplaced."""
    bufs = plan.buffers
    names = {b.name for b in bufs}
    for b in bufs:
        off = plan.offsets[b.name]
        assert off % ALIGN == 0, f"{b.name} at {off} is not {ALIGN}-byte aligned"
        assert off + b.size <= plan.arena_bytes, f"{b.name} ends past the arena"
        assert b.first <= b.last, f"{b.name} has an empty lifetime"
        assert not b.alias_of or b.alias_of in names, f"{b.name} aliases unknown {b.alias_of}"
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if _overlaps_in_time(a, b):
                ao, bo = plan.offsets[a.name], plan.offsets[b.name]
                if _declared_alias(a, b, plan) or _declared_alias(b, a, plan):
                    continue
                assert ao + a.size <= bo or bo + b.size <= ao, (
                    f"{a.name} [{ao}, {ao + a.size}) and {b.name} [{bo}, {bo + b.size}) are live "
                    "together and overlap")
