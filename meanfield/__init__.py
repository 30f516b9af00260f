"""meanfield: model definitions and the heterogeneous mean-field theory of balanced networks.

Units everywhere: s, mV, Hz. See docs/theory.md and the README's map of modules.
"""

from .colored import colored_rate
from .filtering import effective_filter, effective_tau_s
from .balance import BalanceCheck, BalanceConditions, balance_conditions, balanced_rates
from .degree import DegreeModel
from .feasibility import FeasibilityResult, balance_feasibility
from .network_solver import NetworkMeanFieldResult, solve_network
from .scaling import ExponentFit, ScanResult, fit_exponent, fit_exponent_se, scan_N
from .semibalanced import SemiBalancedResult, semi_balanced
from .spatial_limit import SpatialSemiBalancedResult, semi_balanced_spatial
from .spatial import (SpatialModel, SpatialResult, SpatialStability, balanced_profile,
                      solve_spatial, spatial_balance_conditions, spatial_stability)
from .degree_space import SATURATED_FRACTION, SILENT_RATE, MeanFieldResult, solve
from .errors import (ConvergenceError, ParameterError, ParameterTypeError, ParameterWarning,
                     RegimeWarning)
from .labels import (Constant, Empirical, Gamma, GaussianCopula, LabelDistribution, LogNormal,
                     TruncatedNormal, Uniform)
from .params import EIF, LIF, POPULATIONS, PRESETS, SOURCES, NetworkParams
from .renewal import isi_moments, matched_cv2, population_fano
from .transfer import (ALPHA_FB, DEFAULT_DV, eif_rate, eif_rate_dmu, eif_rate_dsigma, lif_rate,
                       lif_rate_dmu, lif_rate_dsigma, rate, rate_dmu, rate_dsigma)

__version__ = "0.1.0"


def __getattr__(name):
    # sympy is imported only when meanfield.symbolic is used (it costs ~1 s and ~80 MB).
    if name == "symbolic":
        import importlib
        return importlib.import_module(".symbolic", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "LIF", "EIF", "NetworkParams", "POPULATIONS", "SOURCES", "PRESETS",
    "balanced_rates", "balance_conditions", "BalanceCheck", "BalanceConditions",
    "DegreeModel", "LabelDistribution", "Constant", "Uniform", "Gamma", "LogNormal",
    "TruncatedNormal", "Empirical", "GaussianCopula",
    "lif_rate", "lif_rate_dmu", "lif_rate_dsigma", "eif_rate", "eif_rate_dmu",
    "eif_rate_dsigma", "rate", "rate_dmu", "rate_dsigma", "ALPHA_FB", "DEFAULT_DV",
    "colored_rate", "effective_tau_s", "effective_filter",
    "isi_moments", "matched_cv2", "population_fano",
    "solve", "MeanFieldResult", "solve_network", "NetworkMeanFieldResult",
    "balance_feasibility", "FeasibilityResult", "scan_N", "ScanResult", "fit_exponent",
    "fit_exponent_se", "ExponentFit",
    "semi_balanced", "SemiBalancedResult", "semi_balanced_spatial", "SpatialSemiBalancedResult",
    "SpatialModel", "SpatialResult", "SpatialStability", "balanced_profile", "solve_spatial",
    "spatial_balance_conditions", "spatial_stability",
    "SILENT_RATE", "SATURATED_FRACTION",
    "ConvergenceError", "ParameterError", "ParameterTypeError", "RegimeWarning",
    "ParameterWarning", "symbolic", "__version__",
]
