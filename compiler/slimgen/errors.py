"""The one exception type users see.

Every failure a user can cause (bad file, unsupported op, wrong calibration data, model too large)
is raised as a SlimgenError carrying what went wrong and how to fix it; the CLI prints it as one
paragraph with no traceback and exits non-zero. Anything else reaching the CLI is a slimgen bug.
"""

from __future__ import annotations


class SlimgenError(Exception):
    """A problem with the user's input, named with its fix."""

    exit_code = 2

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.strip()
        self.fix = fix.strip()
        super().__init__(self.render())

    def render(self) -> str:
        return self.problem if not self.fix else f"{self.problem}\n  {self.fix}"


class UnsupportedError(SlimgenError):
    """The model uses an op or a configuration slimgen cannot compile."""


class InputError(SlimgenError):
    """A file or argument given to slimgen is missing, corrupt or of the wrong shape."""
