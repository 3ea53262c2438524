"""Shared pytest fixtures.

tests/ is a package (tests/__init__.py): test modules import helpers as ``from tests.models
import ZOO`` (pytest puts the repository root on sys.path because of the __init__.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repository (real models and data sets); fails if absent."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"../shared/data not found at {SHARED_DATA}: clone the shared folder beside the repo"
        )
    return SHARED_DATA
