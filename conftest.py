"""pytest configuration of the repository root: the packages' doctests.

``setup.cfg`` collects the Examples sections of every module of the five packages with
``--doctest-modules`` (the one mechanism that runs them; tests/conftest.py configures the
test files). Doctests that need a temporary folder get this test's ``tmp_path``: Python's
``tempfile`` points there while a doctest runs, so examples write only under it.
"""

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _doctest_tmp_path(request, monkeypatch):
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(request.getfixturevalue("tmp_path")))
    yield
