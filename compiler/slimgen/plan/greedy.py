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
- ``check_plan`` re-verifies the result independently (no overlap of simultaneously live buffers,
  alignment, within the arena); it runs on every build.
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


@dataclass
class MemoryPlan:
    offsets: dict[str, int] = field(default_factory=dict)
    buffers: list[Buffer] = field(default_factory=list)
    arena_bytes: int = 0

    def peak_node(self) -> tuple[int, int]:
        """(node index, live bytes) of the schedule step with the most live bytes."""
        best = (0, 0)
        steps = max((b.last for b in self.buffers), default=-1) + 1
        for i in range(steps):
            live = sum(b.size for b in self.buffers if b.first <= i <= b.last)
            if live > best[1]:
                best = (i, live)
        return best


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def plan_arena(buffers: list[Buffer]) -> MemoryPlan:
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, i))
    placed: list[tuple[int, int, Buffer]] = []  # (offset, end, buffer)
    plan = MemoryPlan(buffers=list(buffers))
    for i in order:
        buf = buffers[i]
        conflicts = sorted((off, end) for off, end, other in placed
                           if _overlaps_in_time(buf, other))
        offset = 0
        for off, end in conflicts:
            if offset + buf.size <= off:
                break
            offset = max(offset, _align(end))
        placed.append((offset, offset + buf.size, buf))
        plan.offsets[buf.name] = offset
    plan.arena_bytes = _align(max((end for _, end, _ in placed), default=0))
    check_plan(plan)
    return plan


def check_plan(plan: MemoryPlan) -> None:
    """Raise AssertionError if two simultaneously live buffers overlap or anything is misplaced."""
    bufs = plan.buffers
    for b in bufs:
        off = plan.offsets[b.name]
        assert off % ALIGN == 0, f"{b.name} at {off} is not {ALIGN}-byte aligned"
        assert off + b.size <= plan.arena_bytes, f"{b.name} ends past the arena"
        assert b.first <= b.last, f"{b.name} has an empty lifetime"
    for i, a in enumerate(bufs):
        for b in bufs[i + 1:]:
            if _overlaps_in_time(a, b):
                ao, bo = plan.offsets[a.name], plan.offsets[b.name]
                assert ao + a.size <= bo or bo + b.size <= ao, (
                    f"{a.name} [{ao}, {ao + a.size}) and {b.name} [{bo}, {bo + b.size}) are live "
                    "together and overlap")
