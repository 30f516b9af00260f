"""The Examples sections of graphs' docstrings run (examples are documentation: CI runs them)."""

import doctest
import importlib
import tempfile

import pytest

MODULES = ["graphs.network", "graphs.sample", "graphs.stats", "graphs.io", "graphs.interop"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # examples write only here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_api():
    import graphs
    for name in ("Network", "sample_network", "sample_fixed_indegree",
                 "sample_prescribed_indegree", "degree_statistics", "kernel_statistics",
                 "save_network", "load_network", "to_networkx", "from_networkx", "from_sparse"):
        assert name in graphs.__all__ and hasattr(graphs, name)
