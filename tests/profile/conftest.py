"""Fixtures for the profiler tests: the hand-counted loops, a tiny built model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from slimgen.firmware import toolchain as tcm
from slimgen.profile.build import LINK_SCRIPT

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def loops_elf(tmp_path_factory) -> Path:
    """tests/profile/loops.S linked like a profile image (code at 0, data at 0x20000000)."""
    tmp = tmp_path_factory.mktemp("loops")
    (tmp / "link.ld").write_text(LINK_SCRIPT)
    gcc = tcm.Toolchain.find().gcc
    subprocess.run([gcc, "-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-nostartfiles",
                    "-Wl,-e,twice", "-Tlink.ld", str(HERE / "loops.S"), "-o", "loops.elf"],
                   cwd=tmp, check=True)
    return tmp / "loops.elf"


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory) -> Path:
    """A small conv + fc model built by `slimgen build` (host target)."""
    import torch

    from tests.pipeline import build_model

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.fc = torch.nn.Linear(8 * 6 * 6, 5)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).flatten(1))

    torch.manual_seed(0)
    return build_model(Tiny().eval(), (1, 3, 6, 6), tmp_path_factory.mktemp("tiny"), name="tiny")
