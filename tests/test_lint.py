"""The repository passes ``ruff check`` with its own configuration ([tool.ruff] in pyproject.toml).

pycodestyle and pyflakes everywhere, the numpy docstring convention (pydocstyle) for the
packages. ruff is in the ``test`` extra, so this test does not skip: a missing ruff fails.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"ruff check failed:\n{proc.stdout}\n{proc.stderr}"
