"""The only module that knows where kernels/, templates/ and boards/ live.

In a wheel they are copied into ``slimgen/_data`` by setup.py; in a source checkout (editable
install or PYTHONPATH=compiler) they sit at the repository root, two levels above this package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    for candidate in (_PKG / "_data", _PKG.parent.parent):
        if (candidate / "kernels" / "include" / "sg_kernels.h").is_file():
            return candidate
    raise FileNotFoundError(
        "slimgen cannot find its kernels/, templates/ and boards/ folders; reinstall the package"
    )


def kernels_dir() -> Path:
    return data_root() / "kernels"


def templates_dir() -> Path:
    return data_root() / "templates"


def boards_dir() -> Path:
    return data_root() / "boards"


def repo_root() -> Path | None:
    """The source checkout this package runs from, or None for an installed wheel."""
    root = _PKG.parent.parent
    return root if (root / "pyproject.toml").is_file() else None
