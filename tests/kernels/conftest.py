"""Fixtures for tests/kernels: the kernel library, built once per session (and cached on disk)."""

from __future__ import annotations

from pathlib import Path

import pytest
from slimgen.build.host import load_kernels

from tests.kernels.harness import SANITIZE, KernelLib


def kernel_build_dir(config: pytest.Config) -> Path:
    """pytest's cache folder: shared by xdist workers and reused across runs. Builds are keyed
    by a hash of their inputs, so a stale library is never picked up."""
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is None:
        import tempfile

        folder = Path(tempfile.gettempdir()) / "slimgen-kernels"
        folder.mkdir(exist_ok=True)
        return folder
    return Path(cache.mkdir("slimgen-kernels"))


#: The builds every kernel test runs against: the portable C (the reference path), and the
#: Cortex-M DSP path with its intrinsics emulated in C (sg_arch.h, -DSG_EMULATE_DSP).
BUILDS = {"portable": (), "dsp-emulated": ("SG_EMULATE_DSP",)}


@pytest.fixture(scope="session", params=sorted(BUILDS))
def sgk(request: pytest.FixtureRequest) -> KernelLib:
    """The whole kernel library, SG_CHECKS=1, once per build in BUILDS; ASan+UBSan when
    SLIMGEN_SANITIZE=1."""
    ffi, lib = load_kernels(
        kernel_build_dir(request.config), defines=BUILDS[request.param], sanitize=SANITIZE
    )
    return KernelLib(ffi, lib)
