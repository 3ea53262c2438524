"""benchmarks/kernels.py in short form, and Unicorn vs QEMU on the same kernel."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from slimgen.profile.build import BENCH_CFLAGS, build_image
from slimgen.profile.cores import get_core
from slimgen.profile.kernelbench import SHAPES, make_case, write_model
from slimgen.profile.qemu_count import run_inference_qemu
from slimgen.profile.run import run_inference

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "cmsis-nn-kernels.md"


def _bench(*args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "kernels.py"), *args,
                           "--json"], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.parametrize("core", ["m4", pytest.param("m55", marks=pytest.mark.qemu)])
def test_benchmark_short_form_is_bit_exact(core):
    (row,) = _bench("--core", core, "--layer", "fc128")
    assert row["bit_exact"] is True
    assert row["kernel"].startswith("sg_fc_s8")
    assert row["macs"] == 128 * 128
    # fewer than 10 instructions per MAC: a sanity floor, not a target
    assert 0 < row["instructions"] < 10 * row["macs"]
    assert row["cycles_low"] <= row["cycles_est"] <= row["cycles_high"]
    if REFERENCE.is_file():  # CMSIS-NN figures parsed from ../shared/reference at run time
        assert row["cmsis_instructions"] > 0
        assert row["ratio_instructions"] == pytest.approx(
            row["instructions"] / row["cmsis_instructions"], abs=1e-3)


@pytest.mark.qemu
def test_unicorn_and_qemu_count_the_same():
    """The same kernel objects counted by Unicorn's block hook and by QEMU's block log."""
    core = get_core("m4")
    case = make_case(SHAPES["fc128"])
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        write_model(case, model)
        flags = list(core.bench_flags)
        q, _ = run_inference_qemu(model, Path(tmp) / "q", core, case.x, BENCH_CFLAGS, flags)
        u = run_inference(build_image(model, Path(tmp) / "u", flags, BENCH_CFLAGS), core, case.x)
    assert np.array_equal(q.output, u.output)
    assert np.array_equal(u.output, case.expected)
    assert q.calls.count(q.calls.windows[0]) == u.calls.count(u.calls.windows[0])
    assert q.calls.total == u.calls.total
