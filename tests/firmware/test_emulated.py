"""Every emulated board boots the fake model's firmware in QEMU and matches numpy bit for bit;
hangs and HardFaults come back as errors, not as a stuck test."""

from __future__ import annotations

import numpy as np
import pytest

from slimgen.firmware.build import build_firmware
from slimgen.firmware.errors import FirmwareFault, FirmwareTimeout
from slimgen.firmware.qemu import run_on_board
from tests.firmware.fwhelpers import (
    EMULATED, FAULT, HANG, make_fake_out, needs_qemu, reference, samples,
)

pytestmark = [pytest.mark.qemu, needs_qemu, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", params=EMULATED)
def built(request, tmp_path_factory):
    out = make_fake_out(tmp_path_factory.mktemp(request.param) / "fake")
    figures = build_firmware(out, None, request.param)
    return request.param, out, figures


def test_bit_exact(built):
    board, out, figures = built
    x = samples(6)
    result = run_on_board(out, x, reference(x))
    assert result["bit_exact"], result["mismatches"]
    assert result["board"] == board and result["samples"] == 6
    assert [p["name"] for p in result["per_layer"]] == ["L0", "L1"]
    assert all(p["instructions"] > 0 for p in result["per_layer"])
    assert result["instructions_per_inference"] >= sum(
        p["instructions"] for p in result["per_layer"])
    assert figures["flash_used"] <= figures["flash_size"]
    assert figures["stack_estimate"] <= figures["stack_reserved"]


def test_mismatch_is_reported(built):
    _, out, _ = built
    x = samples(3, seed=1)
    expected = reference(x)
    expected[2, 3] ^= 1
    result = run_on_board(out, x, expected)
    assert not result["bit_exact"]
    assert result["mismatches"][0]["sample"] == 2 and result["mismatches"][0]["index"] == 3


def test_fault_reports_the_faulting_pc(built):
    _, out, _ = built
    with pytest.raises(FirmwareFault) as e:
        run_on_board(out, FAULT, np.zeros(4, np.int8))
    assert "fake_bias_add_s8" in e.value.where
    assert e.value.pc != 0


def test_hang_is_a_timeout(fake_out):
    """One board is enough to show the timeout path; it costs the whole timeout."""
    build_firmware(fake_out, None, "mps2-an386")
    with pytest.raises(FirmwareTimeout, match="did not finish within 3 s"):
        run_on_board(fake_out, HANG, np.zeros(4, np.int8), timeout=3)
