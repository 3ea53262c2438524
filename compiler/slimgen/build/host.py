"""Build C into a host shared library and load it through cffi.

Used for the kernel library (tests/kernels) and for generated model code (api.run_host): the
same strict flags as firmware builds, so a warning is an error on the host first. Builds are
cached: a library is rebuilt only when its sources, the headers it can see, the flags or the
compiler change.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import paths

#: The warning set every slimgen C file (kernels and generated code) must compile cleanly with.
WARNING_FLAGS = (
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-Wstrict-prototypes",
    "-Wmissing-prototypes",
    "-Wdouble-promotion",
)
HOST_FLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", *WARNING_FLAGS)
SANITIZE_FLAGS = (
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
)


class CompileError(RuntimeError):
    """The C compiler failed; ``command`` and ``output`` say how and why."""

    def __init__(self, command: Sequence[str], output: str) -> None:
        self.command = list(command)
        self.output = output
        super().__init__(f"C compilation failed:\n  {shlex.join(self.command)}\n{output}")


def kernel_sources() -> list[Path]:
    """Every kernel implementation file under kernels/src, in a stable order."""
    return sorted((paths.kernels_dir() / "src").rglob("*.c"))


def kernel_headers() -> list[Path]:
    """The public, cffi-clean kernel headers, in include order."""
    include = paths.kernels_dir() / "include"
    return [include / "sg_types.h", include / "sg_kernels.h"]


def cdef_text(headers: Iterable[Path]) -> str:
    """The headers' declarations for ``ffi.cdef``: every preprocessor line dropped.

    The public headers are kept cffi-clean (no macros inside declarations) for exactly this.
    Continuation lines of a multi-line directive are dropped with it.
    """
    kept: list[str] = []
    for header in headers:
        continued = False
        for line in Path(header).read_text().splitlines():
            directive = continued or line.lstrip().startswith("#")
            continued = directive and line.rstrip().endswith("\\")
            if not directive:
                kept.append(line)
    return "\n".join(kept) + "\n"


def default_cc() -> str:
    return os.environ.get("CC", "cc")


@functools.cache
def _compiler_identity(cc: str) -> str:
    """Resolved path and version banner: a compiler upgrade invalidates cached builds."""
    resolved = shutil.which(cc)
    if resolved is None:
        raise FileNotFoundError(f"C compiler {cc!r} not found on PATH")
    banner = subprocess.run(
        [resolved, "--version"], capture_output=True, text=True, check=False
    ).stdout
    return f"{os.path.realpath(resolved)}\n{banner}"


def _define_flag(define: str) -> str:
    return define if define.startswith("-D") else f"-D{define}"


def _visible_headers(sources: Sequence[Path], include_dirs: Sequence[Path]) -> list[Path]:
    """Headers a build may read: all under the include dirs, and beside or above each source
    within its tree (kernels include ../sg_common.h)."""
    found: set[Path] = set()
    for folder in include_dirs:
        found.update(Path(folder).rglob("*.h"))
    for src in sources:
        found.update(src.parent.glob("*.h"))
        found.update(src.parent.parent.glob("*.h"))
    return sorted(found)


def _build_key(
    command: Sequence[str], sources: Sequence[Path], headers: Sequence[Path], cc: str
) -> str:
    h = hashlib.sha256()
    h.update(_compiler_identity(cc).encode())
    h.update("\0".join(command).encode())
    for path in [*sources, *headers]:
        h.update(str(path).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def compile_shared(
    sources: Sequence[Path],
    out_so: Path,
    *,
    include_dirs: Sequence[Path] = (),
    defines: Sequence[str] = (),
    cc: str | None = None,
    sanitize: bool = False,
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compile ``sources`` into the shared library ``out_so``; return its path.

    Flags: ``-std=c99 -O2 -fPIC -shared`` plus WARNING_FLAGS (warnings are errors), SANITIZE_FLAGS
    with ``sanitize``, then ``-D`` for each define ("NAME" or "NAME=VALUE"), ``-I`` for each
    include dir and ``extra_flags``. If ``out_so`` was already built from identical inputs it is
    returned as is. Concurrent builds of one path (pytest-xdist workers) are safe: each writes a
    private file and renames it into place. Raises CompileError carrying the compiler output.
    """
    cc = cc or default_cc()
    sources = [Path(s).resolve() for s in sources]
    include_dirs = [Path(d).resolve() for d in include_dirs]
    out_so = Path(out_so)
    flags = [
        *HOST_FLAGS,
        *(SANITIZE_FLAGS if sanitize else ()),
        *(_define_flag(d) for d in defines),
        *(f"-I{d}" for d in include_dirs),
        *extra_flags,
    ]
    key = _build_key(flags, sources, _visible_headers(sources, include_dirs), cc)
    stamp = out_so.with_name(out_so.name + ".buildkey")
    if out_so.is_file() and stamp.is_file() and stamp.read_text() == key:
        return out_so

    out_so.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_so.with_name(f".{out_so.name}.{os.getpid()}.tmp")
    command = [cc, *flags, *(str(s) for s in sources), "-o", str(tmp)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise CompileError(command, result.stdout + result.stderr)
    os.replace(tmp, out_so)
    stamp_tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}.tmp")
    stamp_tmp.write_text(key)
    os.replace(stamp_tmp, stamp)
    return out_so


def load_kernels(
    build_dir: Path,
    *,
    defines: Sequence[str] = (),
    cc: str | None = None,
    sanitize: bool = False,
    extra_flags: Sequence[str] = (),
) -> tuple[Any, Any]:
    """Build (cached) and load the whole kernel library; return ``(ffi, lib)``.

    The library's file name encodes the build configuration, because a process cannot reload
    a different library from a path it already dlopen'ed.
    """
    import cffi

    config = hashlib.sha256(
        "\0".join([cc or default_cc(), str(sanitize), *defines, *extra_flags]).encode()
    ).hexdigest()[:12]
    so = compile_shared(
        kernel_sources(),
        Path(build_dir) / f"libslimgen_kernels-{config}.so",
        include_dirs=[paths.kernels_dir() / "include"],
        defines=defines,
        cc=cc,
        sanitize=sanitize,
        extra_flags=extra_flags,
    )
    ffi = cffi.FFI()
    ffi.cdef(cdef_text(kernel_headers()))
    return ffi, ffi.dlopen(str(so))
