"""Fixtures for the firmware suite."""

from __future__ import annotations

import pytest
from tests.firmware.fwhelpers import make_fake_out


@pytest.fixture
def fake_out(tmp_path):
    return make_fake_out(tmp_path / "fake")
