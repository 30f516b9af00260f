"""meanfield: model definitions and the heterogeneous mean-field theory of balanced networks.

Units everywhere: s, mV, Hz. See THEORY.md and the README's map of modules.
"""

from . import symbolic
from .balance import BalanceCheck, BalanceConditions, balance_conditions, balanced_rates
from .degree import DegreeModel
from .errors import ConvergenceError, ParameterWarning, RegimeWarning
from .labels import (Constant, Empirical, Gamma, GaussianCopula, LabelDistribution, LogNormal,
                     TruncatedNormal, Uniform)
from .params import EIF, LIF, POPULATIONS, PRESETS, SOURCES, NetworkParams

__version__ = "0.1.0"

__all__ = [
    "LIF", "EIF", "NetworkParams", "POPULATIONS", "SOURCES", "PRESETS",
    "balanced_rates", "balance_conditions", "BalanceCheck", "BalanceConditions",
    "DegreeModel", "LabelDistribution", "Constant", "Uniform", "Gamma", "LogNormal",
    "TruncatedNormal", "Empirical", "GaussianCopula",
    "ConvergenceError", "RegimeWarning", "ParameterWarning", "symbolic", "__version__",
]
