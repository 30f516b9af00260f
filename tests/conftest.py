"""Shared pytest configuration: tests run from any folder and never touch global RNG."""

import os

import pytest
from hypothesis import settings

from meanfield import DegreeModel, NetworkParams

os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests draw their examples from a fixed seed (derandomize: the same examples on
# every run, like every other stochastic test here) and keep no example database (nothing
# is written outside tmp_path). Tests may still set their own max_examples and deadline.
settings.register_profile("hetbalance", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.load_profile("hetbalance")


# Shared small fixtures: the parameter sets and degree models that many test files use, in
# one place instead of a module-level copy per file. Session-scoped: they are frozen.

@pytest.fixture(scope="session")
def akil():
    """The ``akil2021`` preset (EIF neurons; N = 10^4 unless a test resizes it)."""
    return NetworkParams.preset("akil2021")


@pytest.fixture(scope="session")
def akil_lif():
    """The ``akil2021_lif`` preset (LIF neurons, the figures' network)."""
    return NetworkParams.preset("akil2021_lif")


@pytest.fixture(scope="session")
def case_b():
    """Case B: recurrent in-degree factor gamma (mean 1, CV 0.2), external homogeneous."""
    return DegreeModel.recurrent_indegree("gamma", 0.2)


@pytest.fixture(scope="session")
def case_c():
    """Case C: assortative kernel t t' + c (t - 1)(t' - 1), c = 3, t uniform on [0.5, 1.5]."""
    return DegreeModel.assortative(c=3.0, support=(0.5, 1.5))


@pytest.fixture(autouse=True)
def _no_colored_table_build(request, monkeypatch):
    """Fail a test that would build a colored-rate table (minutes of CPU on a fresh machine).

    ``filter="auto"`` is the filtered-noise transfer wherever tau_s > 0, and its tables ship
    only for the presets' neurons (``meanfield/data``). A test with another neuron must say
    which transfer it wants (``filter="white"`` or ``"fourcaud_brunel"``), or be marked
    ``table_build`` if building is what it tests.
    """
    if request.node.get_closest_marker("table_build"):
        return
    from meanfield import _colored_table as tab

    def refuse(neuron, **kwargs):
        raise RuntimeError(f"this test would build a colored-rate table for {neuron!r} (no "
                           f"shipped table): pass filter='white' or 'fourcaud_brunel', use a "
                           f"preset neuron, or mark the test 'table_build'")

    monkeypatch.setattr(tab, "build_table", refuse)
