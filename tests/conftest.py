"""Shared pytest configuration: tests run from any folder and never touch global RNG."""

import os

from hypothesis import settings

os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests draw their examples from a fixed seed (derandomize: the same examples on
# every run, like every other stochastic test here) and keep no example database (nothing
# is written outside tmp_path). Tests may still set their own max_examples and deadline.
settings.register_profile("hetbalance", derandomize=True, database=None, deadline=None,
                          print_blob=True)
settings.load_profile("hetbalance")
