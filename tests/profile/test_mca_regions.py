"""llvm-mca drops a code region all of whose instructions it skips (an LE alone in its basic
block: the M55 model has no timing for it); the cycle estimate must still pair every executed
block with its own region, not shift the later ones."""

from __future__ import annotations

import subprocess

import pytest
from slimgen.profile import cycles as cy


def _report(blocks: list[str]) -> str:
    mca = cy.find_llvm_mca()
    if mca is None:
        pytest.skip("llvm-mca is not installed")
    lines = ["\t.syntax unified", "\t.thumb"]
    for i, body in enumerate(blocks):
        lines += [f"@ LLVM-MCA-BEGIN b{i}", f"s{i}:", body, f"e{i}:", f"@ LLVM-MCA-END b{i}"]
    src = "\n".join(lines) + "\n"
    proc = subprocess.run([mca, "-mtriple=thumbv8.1m.main-none-eabi", "-mcpu=cortex-m55",
                           "-iterations=100", "-skip-unsupported-instructions=lack-sched"],
                          input=src, capture_output=True, text=True, check=True)
    return proc.stdout


def test_an_le_only_block_costs_nothing_and_shifts_nothing():
    report = _report(["\tadds r0, #1", "\tle lr, #-4", "\tvmladava.s8 r0, q3, q2\n\tadds r1, #1"])
    totals = cy.region_cycles(report, 3)
    assert totals[1] == 0
    assert totals[0] > 0 and totals[2] > totals[0]


def test_a_single_region():
    assert cy.region_cycles(_report(["\tadds r0, #1"]), 1)[0] > 0


def test_a_report_without_regions_is_an_error():
    with pytest.raises(RuntimeError, match="regions"):
        cy.region_cycles("Iterations: 100\n", 2)
