"""Ship kernels/, templates/ and boards/ inside the wheel.

They live at the repository root (the layout is fixed by design), outside the Python package,
so build_py copies them into slimgen/_data where slimgen.paths finds them in an installed wheel.
An editable install finds them at the repository root instead.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("kernels", "templates", "boards")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        dest = Path(self.build_lib) / "slimgen" / "_data"
        for name in SHIPPED:
            target = dest / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(ROOT / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.o"))


setup(cmdclass={"build_py": BuildPyWithData})
