"""The kernel checks again, against an ASan + UBSan build, in a subprocess.

A cffi-loaded shared library cannot bring the ASan runtime in itself (it must be first in the
process), so the run is a child pytest with libasan LD_PRELOADed and SLIMGEN_SANITIZE=1, which
makes tests/kernels/conftest.py and tests/unit/test_requant.py build with sanitize=True. The
kernel fixture is parametrized over the portable and the emulated-DSP build, so both run under
the sanitizers. Two planted bugs first prove the instrumentation is live, so a clean run means
something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from slimgen import paths
from slimgen.build.host import compile_shared

REPO = paths.repo_root()
EXAMPLES_UNDER_SANITIZERS = "25"

CANARY = """
#include <stdint.h>
#include <stdlib.h>
int32_t *sg_canary_alloc(void);
int32_t sg_canary_read(const int32_t *p, int32_t n);
int32_t sg_canary_signed_overflow(int32_t x);

/* Allocated in one function, read in another: UBSan cannot know the buffer's size there, so
 * reading past it is ASan's to catch. */
int32_t *sg_canary_alloc(void)
{
    return calloc(4, sizeof(int32_t));
}

int32_t sg_canary_read(const int32_t *p, int32_t n)
{
    return p[n];
}

int32_t sg_canary_signed_overflow(int32_t x)
{
    return x + INT32_MAX;
}
"""


def libasan() -> str:
    path = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        pytest.skip(f"gcc's libasan.so not found (got {path!r})")
    return path


def sanitizer_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "LD_PRELOAD": libasan(),
        "ASAN_OPTIONS": "detect_leaks=0",
        "UBSAN_OPTIONS": "print_stacktrace=1",
        "SLIMGEN_SANITIZE": "1",
        **extra,
    }


def report(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout[-6000:]}\n--- stderr\n"
        f"{result.stderr[-6000:]}"
    )


@pytest.mark.parametrize(
    "call, expected",
    [
        ("sg_canary_read(lib.sg_canary_alloc(), 4)", "AddressSanitizer: heap-buffer-overflow"),
        ("sg_canary_signed_overflow(1)", "runtime error: signed integer overflow"),
    ],
)
def test_sanitized_build_catches_planted_bugs(tmp_path: Path, call: str, expected: str) -> None:
    src = tmp_path / "canary.c"
    src.write_text(CANARY)
    so = compile_shared([src], tmp_path / "canary.so", sanitize=True)
    script = (
        "import cffi; ffi = cffi.FFI(); "
        "ffi.cdef('int32_t *sg_canary_alloc(void); int32_t sg_canary_read(const int32_t *, "
        "int32_t); int32_t sg_canary_signed_overflow(int32_t);'); "
        f"lib = ffi.dlopen({str(so)!r}); print(lib.{call})"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=sanitizer_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0 and expected in result.stderr, report(result)


@pytest.mark.skipif(REPO is None, reason="needs the source checkout's tests")
def test_kernel_suite_is_clean_under_asan_and_ubsan() -> None:
    """Every kernel test (fewer hypothesis examples) plus the requant unit test, against the
    sanitized build: any out-of-bounds access or undefined behaviour aborts the child."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/kernels",
        "tests/unit/test_requant.py",
        "--ignore=tests/kernels/test_sanitizers.py",
        "--ignore=tests/kernels/test_warnings.py",
        "-n",
        "0",
        "-q",
    ]
    result = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=sanitizer_env(SLIMGEN_KERNEL_EXAMPLES=EXAMPLES_UNDER_SANITIZERS),
        check=False,
    )
    assert result.returncode == 0, report(result)
    assert " passed" in result.stdout and "failed" not in result.stdout, report(result)
