"""docs/errors.md lists every error slimgen can print: each raise site's message must appear there.

The raise sites are found with ast: ``raise SlimgenError / InputError / UnsupportedError /
FirmwareError(...)`` (and their subclasses), ``im.unsupported(fx, ...)`` in the torch importer and
the TFLite importer's helpers. The check is on the message's first literal words (at least three),
so rewording a message or adding one without documenting it fails here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from slimgen import paths

SOURCE = Path(paths.__file__).resolve().parent
DOC = SOURCE.parents[1] / "docs" / "errors.md"
ERROR_CALLS = {"SlimgenError", "InputError", "UnsupportedError", "FirmwareError",
               "FirmwareTimeout", "FirmwareFault", "_fail", "unsupported", "_bad", "_unsupported"}


def render(node: ast.AST) -> str:
    """A message expression as text, placeholders as <expr>."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else f"<{ast.unparse(v.value)}>"
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return render(node.left) + render(node.right)
    return f"<{ast.unparse(node)}>"


def _message_args(call: ast.Call) -> tuple[ast.AST, ast.AST | None] | None:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(
        call.func, "id", "")
    if name not in ERROR_CALLS:
        return None
    args = list(call.args)
    if name in ("unsupported", "_fail", "_bad", "_unsupported") and len(args) >= 2:
        args = args[1:]  # (fx | folder | tensor, message, fix)
    if not args:
        return None
    return args[0], args[1] if len(args) > 1 else None


def raise_sites() -> Iterator[tuple[str, str, str, str]]:
    """(file relative to the package, enclosing function, message, fix) per raise site."""
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        funcs = {}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(fn):
                    funcs.setdefault(id(sub), fn.name)
        for node in ast.walk(tree):
            call = node.exc if isinstance(node, ast.Raise) else None
            if isinstance(call, ast.Call):
                found = _message_args(call)
                if found:
                    msg, fix = found
                    yield (path.relative_to(SOURCE).as_posix(), funcs.get(id(node), ""),
                           render(msg), render(fix) if fix is not None else "")


def key_words(message: str) -> str | None:
    """The first run of at least three literal words of a message, up to six, lower case."""
    for part in re.split(r"<[^>]*>", message):
        words = re.findall(r"[A-Za-z0-9_.'\-]+", part)
        if len(words) >= 3:
            return " ".join(words[:6]).lower()
    return None


def normalised(text: str) -> str:
    return " ".join(re.findall(r"[A-Za-z0-9_.'\-]+", text.replace("`", ""))).lower()


def test_every_error_message_is_documented():
    doc = normalised(DOC.read_text())
    sites = list(raise_sites())
    assert len(sites) > 100, "the raise-site scan found too little; has the code moved?"
    missing = sorted({f"{path} ({func}): {msg}" for path, func, msg, _ in sites
                      if (k := key_words(msg)) is not None and k not in doc})
    assert not missing, "undocumented errors (add them to docs/errors.md):\n" + "\n".join(
        missing)
