"""validation: spiking simulation of realised networks, and sweeps over parameter grids.

Public API: ``simulate`` -> ``SimulationResult`` (``SimulationError`` when the state
becomes non-finite), ``compare`` (theory against simulation), ``sweep``/``grid``/``SweepResult``
(parallel, cached parameter sweeps), ``to_nest``/``run_nest`` (the same network in NEST 3,
optional extra ``nest``) and ``to_brian2``/``run_brian2`` (the same network in Brian2,
optional extra ``brian2``).
"""

from .result import SimulationError, SimulationResult
from .simulator import simulate
from .comparison import Comparison, PopulationComparison, compare
from .nest_export import run_nest, to_nest
from .brian2_export import run_brian2, to_brian2
from .sweeps import SweepResult, grid, sweep

__all__ = ["simulate", "SimulationResult", "SimulationError", "sweep", "grid", "SweepResult",
           "compare", "Comparison", "PopulationComparison", "to_nest", "run_nest", "to_brian2", "run_brian2"]
