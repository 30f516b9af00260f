r"""Model parameters: neurons (``LIF``, ``EIF``) and the balanced network (``NetworkParams``).

Units everywhere: seconds (s), millivolts (mV), hertz (Hz). All parameter objects are
frozen dataclasses validated at construction; use ``dataclasses.replace`` (or the
``replace`` method) for variants.

Balanced scaling (docs/theory.md section 1): population sizes :math:`N_b = q_b N`, mean
in-degrees :math:`K_{ab} = p_{ab} N_b`, weights :math:`J_{ab} = j_{ab}/\sqrt{N}` with the
scaled parameters ``j``, ``p``, ``q`` fixed as ``N`` changes. The large-N connectivity is
:math:`w_{ab} = j_{ab} p_{ab} q_b` and the external drive :math:`X_a = w_{aX} r_X`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar, Union

import numpy as np

from .checks import (check_finite, check_in_range, check_int, check_nonnegative,
                     check_probability, check_time_constant)
from .errors import ParameterError, ParameterTypeError

__all__ = ["LIF", "EIF", "Neuron", "NetworkParams", "POPULATIONS", "SOURCES", "PRESETS",
           "check_network_params", "params_at_size", "population_index"]

POPULATIONS = ("E", "I")
"""Recurrent populations, in the order used by every (2,) and (2, n) array."""
SOURCES = ("E", "I", "X")
"""Presynaptic sources, in the order used by every (..., 3) array."""


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class LIF:
    r"""Leaky integrate-and-fire neuron.

    :math:`\tau_m \dot V = -(V - E_L) + \tau_m I(t)`; spike when :math:`V \ge \theta`,
    reset to :math:`V_r`, clamped for ``tau_ref``.

    Parameters
    ----------
    tau_m : float
        Membrane time constant, s, in (0, 1].
    E_L : float
        Leak (resting) potential, mV.
    theta : float
        Spike threshold, mV, > ``V_r``.
    V_r : float
        Reset potential, mV.
    tau_ref : float
        Absolute refractory period, s, in [0, 1].

    Attributes
    ----------
    kind : str
        ``"LIF"`` (a class constant, recorded by ``to_dict``).

    Examples
    --------
    >>> LIF(tau_m=0.02, theta=20.0, V_r=10.0).tau_m
    0.02
    """

    tau_m: float = 0.02
    E_L: float = 0.0
    theta: float = 20.0
    V_r: float = 10.0
    tau_ref: float = 0.002

    kind: ClassVar[str] = "LIF"

    def __post_init__(self):
        check_time_constant("LIF.tau_m", self.tau_m)
        check_time_constant("LIF.tau_ref", self.tau_ref, allow_zero=True)
        for name in ("E_L", "theta", "V_r"):
            check_in_range(f"LIF.{name}", getattr(self, name), -1000.0, 1000.0, unit="mV")
        if not self.theta > self.V_r:
            raise ParameterError(f"LIF.V_r = {self.V_r!r} mV must be below LIF.theta = "
                                 f"{self.theta!r} mV; allowed: V_r < theta", field="LIF.V_r")

    @property
    def V_spike(self) -> float:
        """Voltage at which a spike is registered (``theta``), mV."""
        return self.theta

    @property
    def V_reset(self) -> float:
        """Reset voltage (``V_r``), mV."""
        return self.V_r

    def replace(self, **changes) -> "LIF":
        """Return a copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict: ``kind`` ("LIF") and the fields."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class EIF:
    r"""Exponential integrate-and-fire neuron (Fourcaud-Trocme et al. 2003).

    :math:`\tau_m \dot V = -(V - E_L) + \Delta_T e^{(V - V_T)/\Delta_T} + \tau_m I(t)`;
    the spike is cut at ``V_th``, reset to ``V_re``, clamped for ``tau_ref``; the voltage
    is floored at ``V_lb``.

    Parameters
    ----------
    tau_m : float
        Membrane time constant, s, in (0, 1].
    E_L : float
        Leak potential, mV.
    V_T : float
        Soft threshold (inflection of the exponential), mV, < ``V_th``.
    Delta_T : float
        Spike slope factor, mV, > 0.
    V_th : float
        Spike cut (registered spike), mV.
    V_re : float
        Reset, mV, in (``V_lb``, ``V_th``).
    tau_ref : float
        Refractory period, s, in [0, 1].
    V_lb : float
        Lower bound of the voltage, mV, < ``V_re``.

    Attributes
    ----------
    kind : str
        ``"EIF"`` (a class constant, recorded by ``to_dict``).
    """

    tau_m: float = 0.015
    E_L: float = -72.0
    V_T: float = -55.0
    Delta_T: float = 1.0
    V_th: float = -50.0
    V_re: float = -75.0
    tau_ref: float = 0.001
    V_lb: float = -100.0

    kind: ClassVar[str] = "EIF"

    def __post_init__(self):
        check_time_constant("EIF.tau_m", self.tau_m)
        check_time_constant("EIF.tau_ref", self.tau_ref, allow_zero=True)
        for name in ("E_L", "V_T", "V_th", "V_re", "V_lb"):
            check_in_range(f"EIF.{name}", getattr(self, name), -1000.0, 1000.0, unit="mV")
        check_in_range("EIF.Delta_T", self.Delta_T, 0.0, 100.0, lo_open=True, unit="mV")
        if not self.V_lb < self.V_re < self.V_th:
            raise ParameterError(f"EIF.V_re = {self.V_re!r} mV must lie in (V_lb, V_th) = "
                                 f"({self.V_lb!r}, {self.V_th!r}) mV", field="EIF.V_re")
        if not self.V_T < self.V_th:
            raise ParameterError(f"EIF.V_T = {self.V_T!r} mV must be below EIF.V_th = "
                                 f"{self.V_th!r} mV (the spike cut); allowed: V_T < V_th",
                                 field="EIF.V_T")

    @property
    def V_spike(self) -> float:
        """Voltage at which a spike is registered (``V_th``), mV."""
        return self.V_th

    @property
    def V_reset(self) -> float:
        """Reset voltage (``V_re``), mV."""
        return self.V_re

    def psi(self, V):
        r"""Return the spike-generating current :math:`\Delta_T e^{(V - V_T)/\Delta_T}`, mV."""
        return self.Delta_T * np.exp((np.asarray(V, dtype=float) - self.V_T) / self.Delta_T)

    def replace(self, **changes) -> "EIF":
        """Return a copy with ``changes`` applied (validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict: ``kind`` ("EIF") and the fields."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


Neuron = Union[LIF, EIF]
_NEURON_KINDS = {"LIF": LIF, "EIF": EIF}


def neuron_from_dict(d: dict) -> Neuron:
    """Inverse of ``LIF.to_dict`` / ``EIF.to_dict``."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind not in _NEURON_KINDS:
        raise ValueError(f"neuron kind = {kind!r} is unknown; allowed: {sorted(_NEURON_KINDS)}")
    return _NEURON_KINDS[kind](**d)


_PAIRS = tuple(a + b for a in POPULATIONS for b in SOURCES)


@dataclass(frozen=True)
class NetworkParams:
    r"""A balanced E/I network driven by an external Poisson population X.

    Parameters
    ----------
    N : int
        Number of recurrent neurons, N = N_E + N_I, >= 10.
    q_E, q_I : float
        Fractions of E and I neurons, in [0, 1], summing to 1.
    q_X : float
        Size of the external population relative to N (N_X = q_X N), >= 0.
    p_EE, p_EI, p_EX, p_IE, p_II, p_IX : float
        Connection probabilities p_ab (post a, pre b), in [0, 1].
    j_EE, j_EI, j_EX, j_IE, j_II, j_IX : float
        Scaled weights, mV; the synaptic weight (total PSP kick) is J_ab = j_ab / sqrt(N).
        j_aE >= 0 and j_aX >= 0 (excitatory), j_aI <= 0 (inhibitory).
    r_X : float
        Rate of each external neuron, Hz, >= 0.
    tau_E, tau_I, tau_X : float
        Synaptic time constants of each source, s, in [0, 1]; 0 means delta synapses.
    neuron_E, neuron_I : LIF or EIF
        Neuron model of each population.
    name : str
        Free-form label (the preset name for presets).

    Notes
    -----
    The mean input to a neuron of population a is (docs/theory.md section 4)

    .. math:: \mu_a = E_L + \tau_m\Big[\sum_b J_{ab} K_{ab} r_b + J_{aX} K_{aX} r_X\Big]
              = E_L + \tau_m \sqrt{N}\Big[\sum_b w_{ab} r_b + X_a\Big],

    with :math:`w_{ab} = j_{ab} p_{ab} q_b` (``W``) and :math:`X_a = j_{aX} p_{aX} q_X r_X`
    (``X``).

    Examples
    --------
    >>> p = NetworkParams.preset("akil2021")
    >>> p.K_EE, round(p.J_EE, 4)
    (800.0, 0.25)
    >>> NetworkParams.preset("akil2021", N=40000).N
    40000
    """

    N: int = 10000
    q_E: float = 0.8
    q_I: float = 0.2
    q_X: float = 0.2
    p_EE: float = 0.1
    p_EI: float = 0.1
    p_EX: float = 0.1
    p_IE: float = 0.1
    p_II: float = 0.1
    p_IX: float = 0.1
    j_EE: float = 25.0
    j_EI: float = -250.0
    j_EX: float = 180.0
    j_IE: float = 112.5
    j_II: float = -250.0
    j_IX: float = 135.0
    r_X: float = 10.0
    tau_E: float = 0.008
    tau_I: float = 0.004
    tau_X: float = 0.010
    neuron_E: Neuron = field(default_factory=EIF)
    neuron_I: Neuron = field(default_factory=EIF)
    name: str = "custom"

    def __post_init__(self):
        check_int("NetworkParams.N", self.N, lo=10)
        for name in ("q_E", "q_I"):
            check_probability(f"NetworkParams.{name}", getattr(self, name))
        check_in_range("NetworkParams.q_X", self.q_X, 0.0, 1e6)
        if abs(self.q_E + self.q_I - 1.0) > 1e-9:
            raise ParameterError(f"NetworkParams.q_E + q_I = {self.q_E!r} + {self.q_I!r} = "
                                 f"{self.q_E + self.q_I!r}; allowed: the fractions must sum "
                                 f"to 1", field="NetworkParams.q_E")
        for pair in _PAIRS:
            check_probability(f"NetworkParams.p_{pair}", getattr(self, "p_" + pair))
        for pair in _PAIRS:
            v = check_finite(f"NetworkParams.j_{pair}", getattr(self, "j_" + pair))
            if pair[1] == "I" and v > 0:
                raise ParameterError(f"NetworkParams.j_{pair} = {v!r} mV is out of range; "
                                     f"allowed: (-inf, 0] mV (inhibitory weights are negative)",
                                     field=f"NetworkParams.j_{pair}")
            if pair[1] in "EX" and v < 0:
                raise ParameterError(f"NetworkParams.j_{pair} = {v!r} mV is out of range; "
                                     f"allowed: [0, inf) mV (excitatory weights are positive)",
                                     field=f"NetworkParams.j_{pair}")
        check_nonnegative("NetworkParams.r_X", self.r_X, unit="Hz")
        for name in ("tau_E", "tau_I", "tau_X"):
            check_time_constant(f"NetworkParams.{name}", getattr(self, name), allow_zero=True)
        for name in ("neuron_E", "neuron_I"):
            if not isinstance(getattr(self, name), (LIF, EIF)):
                raise ParameterTypeError(f"NetworkParams.{name} must be a LIF or EIF instance, "
                                         f"got {type(getattr(self, name)).__name__}",
                                         field=f"NetworkParams.{name}")
        if not isinstance(self.name, str):
            raise ParameterTypeError(f"NetworkParams.name must be a str, got "
                                     f"{type(self.name).__name__}", field="NetworkParams.name")

    # ------------------------------------------------------------------ sizes
    @property
    def N_E(self) -> int:
        """Number of excitatory neurons, round(q_E N)."""
        return int(round(self.q_E * self.N))

    @property
    def N_I(self) -> int:
        """Number of inhibitory neurons, N - N_E."""
        return self.N - self.N_E

    @property
    def N_X(self) -> int:
        """Number of external neurons, round(q_X N)."""
        return int(round(self.q_X * self.N))

    @property
    def sizes(self) -> np.ndarray:
        """(N_E, N_I, N_X) as an int array of shape (3,)."""
        return _readonly(np.array([self.N_E, self.N_I, self.N_X], dtype=np.int64))

    # ------------------------------------------------------------------ matrices
    @property
    def p(self) -> np.ndarray:
        """Connection probabilities p_ab, shape (2, 3): rows E, I; columns E, I, X."""
        return _readonly(np.array([[getattr(self, f"p_{a}{b}") for b in SOURCES]
                                   for a in POPULATIONS], dtype=float))

    @property
    def j(self) -> np.ndarray:
        """Scaled weights j_ab in mV, shape (2, 3)."""
        return _readonly(np.array([[getattr(self, f"j_{a}{b}") for b in SOURCES]
                                   for a in POPULATIONS], dtype=float))

    @property
    def q(self) -> np.ndarray:
        """Population fractions (q_E, q_I, q_X), shape (3,)."""
        return _readonly(np.array([self.q_E, self.q_I, self.q_X], dtype=float))

    @property
    def J(self) -> np.ndarray:
        """Synaptic weights J_ab = j_ab / sqrt(N) in mV, shape (2, 3)."""
        return _readonly(self.j / math.sqrt(self.N))

    @property
    def K(self) -> np.ndarray:
        """Mean in-degrees K_ab = p_ab N_b (realised population sizes), shape (2, 3)."""
        return _readonly(self.p * self.sizes[None, :].astype(float))

    @property
    def W(self) -> np.ndarray:
        """Large-N connectivity w_ab = j_ab p_ab q_b in mV, shape (2, 2) (recurrent only)."""
        return _readonly((self.j * self.p * self.q[None, :])[:, :2].copy())

    @property
    def X(self) -> np.ndarray:
        """External drive X_a = j_aX p_aX q_X r_X in mV Hz, shape (2,)."""
        return _readonly(self.j[:, 2] * self.p[:, 2] * self.q_X * self.r_X)

    @property
    def tau_syn(self) -> np.ndarray:
        """Synaptic time constants (tau_E, tau_I, tau_X) in s, shape (3,)."""
        return _readonly(np.array([self.tau_E, self.tau_I, self.tau_X], dtype=float))

    @property
    def neurons(self) -> tuple:
        """(neuron_E, neuron_I)."""
        return (self.neuron_E, self.neuron_I)

    def __getattr__(self, name):
        # K_EE, J_EI, ... as scalar attributes (convenience for interactive use).
        if len(name) == 4 and name[0] in "KJ" and name[1] == "_" and name[2:] in _PAIRS:
            a, b = POPULATIONS.index(name[2]), SOURCES.index(name[3])
            return float((self.K if name[0] == "K" else self.J)[a, b])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ variants
    def replace(self, **changes) -> "NetworkParams":
        """Return a validated copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def with_N(self, N: int) -> "NetworkParams":
        """Return the same network (same j, p, q) at another size N: the balanced scaling."""
        return dataclasses.replace(self, N=N)

    # ------------------------------------------------------------------ presets & I/O
    @classmethod
    def preset(cls, name: str, **overrides) -> "NetworkParams":
        """Return a named parameter set, optionally with fields overridden.

        Parameters
        ----------
        name : str
            One of ``NetworkParams.presets()``: ``"akil2021"`` (EIF network of Akil,
            Rosenbaum & Josic 2021, docs/theory.md section 8), ``"akil2021_lif"`` (the same
            network with LIF neurons, theta = -55 mV, V_r = -75 mV, tau_ref = 1 ms),
            ``"lif_benchmark"`` (the Brunel-style benchmark network of docs/theory.md section 8.2),
            ``"brunel_lif"`` (akil2021's network with the Brunel LIF neuron of docs/theory.md
            section 8; tau_m = 20 ms, theta = 20, V_r = 10 mV, tau_ref = 2 ms),
            ``"rosenbaum2017"`` (the spatial EIF network of Rosenbaum et al., Nat. Neurosci.
            20, 107, 2017, Figs 3-4: N_E = 200^2, N_I = 100^2, N_X = 75^2 at 5 Hz; the
            widths are arguments of ``DegreeModel.spatial``; docs/theory.md section 12).
        **overrides
            Fields to change, e.g. ``N=40000``.
        """
        if name not in PRESETS:
            raise ValueError(f"preset name = {name!r} is unknown; allowed: {sorted(PRESETS)}")
        base = PRESETS[name]()
        return dataclasses.replace(base, **overrides) if overrides else base

    @staticmethod
    def presets() -> list[str]:
        """Names accepted by ``NetworkParams.preset``."""
        return sorted(PRESETS)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict that ``NetworkParams.from_dict`` turns back into this."""
        d = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            d[f.name] = v.to_dict() if isinstance(v, (LIF, EIF)) else v
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkParams":
        """Inverse of ``to_dict``; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"NetworkParams: unknown field(s) {unknown}; allowed: {sorted(known)}")
        kw = dict(d)
        for name in ("neuron_E", "neuron_I"):
            if name in kw and isinstance(kw[name], dict):
                kw[name] = neuron_from_dict(kw[name])
        return cls(**kw)


def population_index(population) -> int:
    """Index of a recurrent population in every (2,) and (2, n) array: 0 for E, 1 for I.

    Parameters
    ----------
    population : {"E", "I", 0, 1}
        A name from ``POPULATIONS`` or its index (a Python or numpy integer; not a bool).

    Returns
    -------
    int
        0 or 1.

    Raises
    ------
    ParameterError
        (a ``ValueError``) Anything else; the message names the value and what is allowed.

    Examples
    --------
    >>> population_index("I"), population_index(0)
    (1, 0)
    """
    if isinstance(population, str):
        if population in POPULATIONS:
            return POPULATIONS.index(population)
    elif isinstance(population, (int, np.integer)) and not isinstance(population, (bool, np.bool_)):
        if population in (0, 1):
            return int(population)
    raise ParameterError(f"population = {population!r} is not allowed; allowed: 'E', 'I', 0 or 1",
                         field="population")


def check_network_params(params) -> NetworkParams:
    """Return ``params`` if it is a ``NetworkParams``, else raise ``TypeError``."""
    if not isinstance(params, NetworkParams):
        raise TypeError(f"params must be a NetworkParams, got {type(params).__name__}")
    return params


def params_at_size(params, N=None) -> NetworkParams:
    """``params`` at size ``N`` with the balanced scaling (j, p, q fixed), both checked.

    ``N=None`` keeps ``params.N``; otherwise ``N`` must be an integer >= 10.
    """
    params = check_network_params(params)
    if N is None:
        return params
    N = check_int("N", N, lo=10)
    return params if N == params.N else params.with_N(N)


def _akil2021() -> NetworkParams:
    return NetworkParams(name="akil2021")


def _akil2021_lif() -> NetworkParams:
    lif = LIF(tau_m=0.015, E_L=-72.0, theta=-55.0, V_r=-75.0, tau_ref=0.001)
    return NetworkParams(neuron_E=lif, neuron_I=lif, name="akil2021_lif")


def _brunel_lif() -> NetworkParams:
    lif = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=10.0, tau_ref=0.002)
    return NetworkParams(neuron_E=lif, neuron_I=lif, name="brunel_lif")


def _lif_benchmark() -> NetworkParams:
    lif = LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=0.0, tau_ref=0.002)
    return NetworkParams(
        N=10000, q_E=0.8, q_I=0.2, q_X=0.1,
        p_EE=0.1, p_EI=0.1, p_EX=1.0, p_IE=0.1, p_II=0.1, p_IX=1.0,
        j_EE=50.0, j_EI=-300.0, j_EX=50.0, j_IE=50.0, j_II=-300.0, j_IX=50.0,
        r_X=3.0, tau_E=0.005, tau_I=0.005, tau_X=0.005,
        neuron_E=lif, neuron_I=lif, name="lif_benchmark")


def _rosenbaum2017() -> NetworkParams:
    # Rosenbaum, Smith, Kohn, Rubin & Doiron, Nat. Neurosci. 20, 107 (2017), Figs 3 and 4:
    # 200x200 E, 100x100 I, 75x75 external Poisson neurons at 5 Hz; J = j / sqrt(50000).
    e = EIF(tau_m=0.015, E_L=-60.0, V_T=-50.0, Delta_T=2.0, V_th=-10.0, V_re=-65.0,
            tau_ref=0.0015, V_lb=-100.0)
    i = EIF(tau_m=0.010, E_L=-60.0, V_T=-50.0, Delta_T=0.5, V_th=-10.0, V_re=-65.0,
            tau_ref=0.0005, V_lb=-100.0)
    return NetworkParams(
        N=50000, q_E=0.8, q_I=0.2, q_X=5625 / 50000,
        p_EE=0.05, p_EI=0.05, p_EX=0.25, p_IE=0.05, p_II=0.05, p_IX=0.08,
        j_EE=40.0, j_EI=-400.0, j_EX=120.0, j_IE=120.0, j_II=-400.0, j_IX=120.0,
        r_X=5.0, tau_E=0.006, tau_I=0.005, tau_X=0.007,
        neuron_E=e, neuron_I=i, name="rosenbaum2017")


PRESETS = {
    "akil2021": _akil2021,
    "akil2021_lif": _akil2021_lif,
    "brunel_lif": _brunel_lif,
    "lif_benchmark": _lif_benchmark,
    "rosenbaum2017": _rosenbaum2017,
}
