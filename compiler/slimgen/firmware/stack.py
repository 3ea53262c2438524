"""Worst-case stack estimate from GCC's ``-fcallgraph-info=su`` files.

Each ``.ci`` file (VCG format) lists the functions of one object with their frame size and
their call edges. The estimate is the deepest path from ``Reset_Handler`` plus the deepest
exception handler that can interrupt it (SysTick for the counter, the fault reporter) plus one
exception frame. It is an estimate, not a proof: calls into newlib or libgcc (memcpy,
__aeabi_*) have no ``.ci`` and count as zero (they are leaf functions using a few words), and an
indirect call or recursion is listed in ``unknown`` rather than followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n[^"]*?\\n(\d+) bytes \((\w+)')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')

ROOT = "Reset_Handler"
HANDLERS = ("SysTick_Handler", "sg_fault_report", "Default_Handler")


@dataclass
class StackEstimate:
    bytes: int
    main_path: list[str]
    unknown: list[str] = field(default_factory=list)


def read_callgraph(ci_files: list[Path]) -> tuple[dict[str, int], dict[str, set[str]]]:
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    for ci in ci_files:
        text = ci.read_text()
        for name, size, _kind in _NODE.findall(text):
            frames[name] = max(frames.get(name, 0), int(size))
        for src, dst in _EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)
    return frames, calls


def estimate(ci_files: list[Path], exception_frame: int) -> StackEstimate:
    frames, calls = read_callgraph(ci_files)
    unknown: set[str] = set()
    memo: dict[str, tuple[int, list[str]]] = {}

    def deepest(fn: str, active: frozenset[str]) -> tuple[int, list[str]]:
        if fn in memo:
            return memo[fn]
        if fn in active:
            unknown.add(f"recursion through {fn}")
            return 0, []
        if fn == "__indirect_call":
            unknown.add("indirect call")
            return 0, []
        if fn not in frames:
            unknown.add(fn)
            return 0, []
        best, path = 0, []
        for callee in sorted(calls.get(fn, ())):
            depth, sub = deepest(callee, active | {fn})
            if depth > best:
                best, path = depth, sub
        memo[fn] = (frames[fn] + best, [fn, *path])
        return memo[fn]

    main_depth, main_path = deepest(ROOT, frozenset())
    handler_depth = max((deepest(h, frozenset())[0] for h in HANDLERS if h in frames), default=0)
    total = main_depth + handler_depth + exception_frame
    return StackEstimate(total, main_path, sorted(unknown))
