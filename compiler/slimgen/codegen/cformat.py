"""C literals and identifiers.

>>> c_identifier("My-Model.v2")
'my_model_v2'
>>> c_identifier("3layers")
'm_3layers'
>>> c_int_array([1, -2, 3], per_line=2)
'    1, -2,\\n    3'
>>> c_float(0.1)
'0.1f'
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def c_identifier(name: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", name).strip("_").lower() or "model"
    if s[0].isdigit():
        s = "m_" + s
    return s


def c_int_array(values: Iterable[int], per_line: int = 16) -> str:
    vals = [str(int(v)) for v in values]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + ln for ln in lines)


def c_float(x: float) -> str:
    """A float literal that reads back to the same float32 value."""
    r = repr(float(x))
    if "e" not in r and "." not in r and "inf" not in r:
        r += ".0"
    return r + "f"
