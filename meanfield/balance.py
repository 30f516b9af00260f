r"""The balanced limit N -> infinity of a homogeneous E/I network (docs/theory.md section 6).

Mean inputs carry a sqrt(N) gain, :math:`\mu_a - E_L = \tau_m \sqrt{N} [(W r)_a + X_a]`,
so they stay O(1) only if the bracket vanishes:

.. math:: W r + X = 0 \quad\Rightarrow\quad r = -W^{-1} X .

References: van Vreeswijk & Sompolinsky, Neural Comput. 10, 1321 (1998); Rosenbaum &
Doiron, Phys. Rev. X 4, 021039 (2014).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .params import NetworkParams

__all__ = ["balanced_rates", "balance_conditions", "BalanceCheck", "BalanceConditions",
           "identical_populations"]

_REL_TOL = 1e-12


def identical_populations(params: NetworkParams) -> bool:
    """Return True when E and I receive identical input statistics (rows of W and X equal).

    Then det W = 0 and the balanced state is that of one population:
    :math:`r_E = r_I = -X / (w_{aE} + w_{aI})`.
    """
    W, X = params.W, params.X
    scale = max(np.max(np.abs(W)), np.max(np.abs(X)), 1e-300)
    return bool(np.all(np.abs(W[0] - W[1]) <= _REL_TOL * scale)
                and abs(X[0] - X[1]) <= _REL_TOL * scale)


def _is_singular(W: np.ndarray) -> bool:
    return abs(np.linalg.det(W)) <= 1e-12 * np.max(np.abs(W)) ** 2


def balanced_rates(params: NetworkParams) -> np.ndarray:
    """Balanced-limit rates :math:`r = -W^{-1} X` of the E and I populations.

    Parameters
    ----------
    params : NetworkParams
        Uses ``W`` (:math:`w_{ab} = j_{ab} p_{ab} q_b`, mV) and ``X``
        (:math:`X_a = j_{aX} p_{aX} q_X r_X`, mV Hz).

    Returns
    -------
    ndarray, shape (2,)
        (r_E, r_I) in Hz. They may be negative: then no balanced state with positive rates
        exists (see ``balance_conditions``).

    Raises
    ------
    ValueError
        If W is singular and E and I are not statistically identical (no unique solution).

    Notes
    -----
    When E and I are identical (rows of W and X equal, e.g. preset ``lif_benchmark``),
    det W = 0 and the symmetric solution :math:`r = -X_a/(w_{aE} + w_{aI})` is returned.

    Examples
    --------
    >>> np.round(balanced_rates(NetworkParams.preset("akil2021")), 4)
    array([1.2857, 7.7143])
    >>> balanced_rates(NetworkParams.preset("lif_benchmark"))
    array([7.5, 7.5])
    """
    W, X = params.W, params.X
    if _is_singular(W):
        if identical_populations(params):
            s = W[0, 0] + W[0, 1]
            if s == 0:
                raise ValueError("w_aE + w_aI = 0: no balanced state (net recurrent input vanishes)")
            r = -X[0] / s
            return np.array([r, r])
        raise ValueError(f"W = {W.tolist()} is singular (det W = {np.linalg.det(W):.3g}) and E, I "
                         f"differ: the balanced state r = -W^-1 X is not unique")
    return -np.linalg.solve(W, X)


@dataclass(frozen=True)
class BalanceCheck:
    """One named condition for a positive, stable balanced state.

    Attributes
    ----------
    name : str
        ``"positive_rates"``, ``"external_vs_inhibitory"``, ``"inhibition_dominates"``,
        ``"stability"`` or ``"net_inhibition"``.
    passed : bool
        Whether the condition holds (True when not ``applicable``).
    value : str
        The quantity the condition was judged on, formatted with its unit.
    explanation : str
        What the condition requires, in words.
    applicable : bool
        False when the condition does not apply to these parameters (identical populations).
    """

    name: str
    passed: bool
    value: str
    explanation: str
    applicable: bool = True

    def __str__(self) -> str:
        mark = "n/a " if not self.applicable else ("PASS" if self.passed else "FAIL")
        return f"[{mark}] {self.name}: {self.value} - {self.explanation}"


@dataclass(frozen=True)
class BalanceConditions:
    """The checks of ``balance_conditions``; iterate, index by name, or read ``all_passed``.

    Attributes
    ----------
    checks : tuple of BalanceCheck
        The checks in the order they were made.
    rates : ndarray (2,)
        Balanced rates :math:`-W^{-1} X` of E and I, Hz (NaN when W is singular).
    """

    checks: tuple
    rates: np.ndarray

    @property
    def all_passed(self) -> bool:
        """True when every applicable check passed (the balanced state exists and is stable)."""
        return all(c.passed for c in self.checks if c.applicable)

    def __iter__(self):
        return iter(self.checks)

    def __len__(self):
        return len(self.checks)

    def __getitem__(self, name: str) -> BalanceCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; have {[c.name for c in self.checks]}")

    def __bool__(self) -> bool:
        return self.all_passed

    def summary(self) -> str:
        """Return one line per check and a verdict on the balanced state."""
        lines = [str(c) for c in self.checks]
        lines.append("balanced state: " + ("exists and is stable" if self.all_passed
                                           else "conditions violated"))
        return "\n".join(lines)


def balance_conditions(params: NetworkParams, tau_rate=None) -> BalanceConditions:
    r"""Conditions for a positive and stable balanced state, each with a one-line reason.

    Parameters
    ----------
    params : NetworkParams
    tau_rate : (float, float), optional
        Time constants (s) of the linearised rate dynamics
        :math:`\tau_a \dot r_a = -r_a + \phi_a(\sqrt{N}[(W r)_a + X_a])`; default the
        membrane time constants of the E and I neurons.

    Returns
    -------
    BalanceConditions
        Checks ``positive_rates``, ``external_vs_inhibitory``
        (:math:`X_E/X_I > |w_{EI}|/|w_{II}|`), ``inhibition_dominates``
        (:math:`|w_{EI}|/|w_{II}| > w_{EE}/w_{IE}`, i.e. det W > 0) and ``stability``
        (eigenvalues of :math:`T^{-1} W` in the left half plane, which given det W > 0 means
        :math:`w_{EE}/\tau_E < |w_{II}|/\tau_I`). For statistically identical E and I the
        ratio checks do not apply and ``net_inhibition`` (:math:`w_{aE} + w_{aI} < 0`) replaces
        them.

    Notes
    -----
    With :math:`a = w_{EE}, b = |w_{EI}|, c = w_{IE}, d = |w_{II}|`:
    :math:`r_E = (d X_E - b X_I)/\det W`, :math:`r_I = (c X_E - a X_I)/\det W`, and
    :math:`\det W = bc - ad`. Positivity of both with det W > 0 is equivalent to
    :math:`X_E/X_I > b/d > a/c` (van Vreeswijk & Sompolinsky 1998).

    Examples
    --------
    >>> bc = balance_conditions(NetworkParams.preset("akil2021"))
    >>> bc.all_passed, bc["inhibition_dominates"].passed
    (True, True)
    """
    W, X = params.W, params.X
    if tau_rate is None:
        tau_rate = (params.neuron_E.tau_m, params.neuron_I.tau_m)
    tE, tI = (float(t) for t in tau_rate)
    if not (tE > 0 and tI > 0):
        raise ValueError(f"tau_rate = {tau_rate!r} s; allowed: two positive time constants")
    a, b, c, d = W[0, 0], -W[0, 1], W[1, 0], -W[1, 1]
    checks = []
    if identical_populations(params):
        s = W[0, 0] + W[0, 1]
        r = -X[0] / s if s != 0 else np.nan
        rates = np.array([r, r])
        checks.append(BalanceCheck("positive_rates", bool(r > 0),
                                   f"r_E = r_I = {r:.4g} Hz",
                                   "balanced rates -X/(w_aE + w_aI) must be positive"))
        checks.append(BalanceCheck("net_inhibition", bool(s < 0), f"w_aE + w_aI = {s:.4g} mV",
                                   "recurrent input must be net inhibitory to cancel the "
                                   "external drive (and for a stable fixed point)"))
        na = "not applicable: E and I are statistically identical (det W = 0)"
        checks.append(BalanceCheck("external_vs_inhibitory", True, "-", na, applicable=False))
        checks.append(BalanceCheck("inhibition_dominates", True, "-", na, applicable=False))
        checks.append(BalanceCheck("stability", bool(s < 0), f"w_aE + w_aI = {s:.4g} mV",
                                   "one-population rate dynamics are stable when the net "
                                   "recurrent feedback is negative"))
        return BalanceConditions(tuple(checks), rates)

    det = float(np.linalg.det(W))
    try:
        rates = balanced_rates(params)
    except ValueError:
        rates = np.array([np.nan, np.nan])
    ok_pos = bool(np.all(rates > 0))
    checks.append(BalanceCheck("positive_rates", ok_pos,
                               f"r_E = {rates[0]:.4g} Hz, r_I = {rates[1]:.4g} Hz",
                               "balanced rates -W^-1 X must both be positive"))
    xr = X[0] / X[1] if X[1] != 0 else np.inf
    checks.append(BalanceCheck("external_vs_inhibitory", bool(xr > b / d),
                               f"X_E/X_I = {xr:.4g} vs |w_EI|/|w_II| = {b / d:.4g}",
                               "E must receive relatively more external drive than inhibition, "
                               "else r_E <= 0"))
    checks.append(BalanceCheck("inhibition_dominates", bool(b / d > a / c) and det > 0,
                               f"|w_EI|/|w_II| = {b / d:.4g} vs w_EE/w_IE = {a / c:.4g} "
                               f"(det W = {det:.4g})",
                               "inhibition must dominate excitation (det W > 0), else the "
                               "balanced state is unstable or has r_I <= 0"))
    tr = a / tE - d / tI
    checks.append(BalanceCheck("stability", bool(det > 0 and tr < 0),
                               f"det W = {det:.4g}, trace(T^-1 W) = {tr:.4g} /s "
                               f"(tau_E = {tE:g} s, tau_I = {tI:g} s)",
                               "the linearised large-N rate dynamics T dr/dt = W dr need det W > 0 "
                               "and w_EE/tau_E < |w_II|/tau_I"))
    return BalanceConditions(tuple(checks), rates)
