"""The Examples sections of the solver modules' docstrings run (examples are documentation)."""

import doctest
import importlib

import pytest

MODULES = ["meanfield.degree_space", "meanfield.feasibility", "meanfield.scaling",
           "meanfield.network_solver"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
