"""Shared pytest configuration: tests run from any folder and never touch global RNG."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
