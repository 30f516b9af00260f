r"""Where the diffusion and filtered-noise approximations of the solvers were validated.

One job: say, from the parameters and a solution, whether ``solve`` (and ``solve_network``)
left the range in which their approximations were measured against spiking simulation,
and warn (``RegimeWarning``) from the solver itself. Three checks (docs/theory.md sections
4, 9 and 10; the measurements are in benchmarks/README_colored.md):

``tau_s / tau_m`` (filtered-noise transfer only)
    ``colored_rate`` is tabulated and checked against single-neuron Monte Carlo for
    :math:`\tau_s/\tau_m \le` ``COLORED_Q_MAX**2`` = 1 (40 points per neuron at
    tau_s/tau_m = 0.1-0.7, within 5 %). Beyond, the direct Fokker-Planck solver takes over,
    unchecked.
Kick of one synapse
    The diffusion approximation replaces shot noise by Gaussian noise. The network rates
    were validated (issue 10: within 4 % of simulation at N = 10^4) with the largest
    single-synapse voltage kick :math:`\max_b |J_{ab}|` = 2.5 mV = 0.125
    :math:`(\theta - V_r)`; single neurons show shot-noise errors of 3-10 % at low rates
    for kicks of sigma/20 (benchmarks/README_colored.md section 3). Above ``MAX_KICK``
    = 0.2 of :math:`\theta - V_r` (EIF: :math:`V_T - V_r`) a warning is issued.
Input spikes per membrane time constant
    :math:`n_a = \tau_m \sum_b K_{ab} r_b` (the mean number of input spikes a neuron
    receives in :math:`\tau_m`, with the population mean rates of the solution and the
    external rate). The diffusion limit needs many; the validated networks (akil2021 and
    akil2021_lif at N = 10^4) have :math:`n_a \approx` 85-87. Below ``MIN_INPUTS_PER_TAU_M``
    = 50 a warning is issued (at N = 2500 the presets have about 25).
"""

from __future__ import annotations

import warnings

import numpy as np

from .colored import COLORED_Q_MAX
from .errors import RegimeWarning
from .params import POPULATIONS

__all__ = ["MAX_KICK", "MIN_INPUTS_PER_TAU_M", "regime_problems", "warn_regime"]

MAX_KICK = 0.2
"""Largest single-synapse kick ``max_b abs(J_ab)``, as a fraction of theta - V_r (EIF: V_T - V_r),
without a warning (validated: 0.125 at N = 10^4 for the akil2021 presets)."""

MIN_INPUTS_PER_TAU_M = 50.0
"""Fewest mean input spikes per membrane time constant, tau_m sum_b K_ab r_b, without a
warning (validated networks: about 85 at N = 10^4)."""


def _threshold_gap(neuron) -> float:
    """Return theta - V_r (LIF) or V_T - V_r (EIF), mV."""
    if neuron.kind == "LIF":
        return float(neuron.theta - neuron.V_r)
    return float(neuron.V_T - neuron.V_re)


def regime_problems(params, filters=("white", "white"), tau_s=None, mean_rate=None) -> list:
    """Return one message per approximation used outside its validated range.

    Parameters
    ----------
    params : NetworkParams
    filters : (str, str)
        The filter of each population (``MeanFieldResult.filter``).
    tau_s : sequence of two array_like, optional
        Effective synaptic time constants of the solution, s: those of E, those of I.
    mean_rate : array_like, optional
        Population mean rates (R_E, R_I) of the solution, Hz; without them the input-count
        check is skipped.

    Returns
    -------
    list of str
        Empty when every check passes.
    """
    out = []
    J = np.abs(np.asarray(params.J, float))
    K = np.asarray(params.K, float)
    for a, (pop, neuron) in enumerate(zip(POPULATIONS, params.neurons)):
        gap = _threshold_gap(neuron)
        kick = float(J[a].max())
        if gap > 0 and kick > MAX_KICK * gap:
            b = "EIX"[int(np.argmax(J[a]))]
            out.append(f"population {pop}: one synapse kicks V by |J_{pop}{b}| = {kick:.3g} mV = "
                       f"{kick / gap:.2f} of the threshold gap {gap:.3g} mV, above {MAX_KICK} "
                       f"(shot noise, which the diffusion approximation leaves out, matters)")
        if filters[a] == "colored" and tau_s is not None:
            ts = np.asarray(tau_s[a], float)
            ratio = float(np.max(ts)) / neuron.tau_m if ts.size else 0.0
            if ratio > COLORED_Q_MAX ** 2 * (1 + 1e-12):
                out.append(f"population {pop}: tau_s/tau_m = {ratio:.3g} exceeds "
                           f"{COLORED_Q_MAX ** 2:g}, the range where colored_rate is tabulated "
                           f"and validated")
        if mean_rate is not None:
            rates = np.array([mean_rate[0], mean_rate[1], params.r_X], float)
            n_in = float(neuron.tau_m * K[a] @ rates)
            if np.isfinite(n_in) and n_in < MIN_INPUTS_PER_TAU_M:
                out.append(f"population {pop}: {n_in:.3g} input spikes per membrane time "
                           f"constant (tau_m sum_b K_ab r_b), below {MIN_INPUTS_PER_TAU_M:g} "
                           f"(the diffusion approximation needs many small inputs)")
    return out


def warn_regime(params, filters, tau_s=None, mean_rate=None, *, stacklevel: int = 3) -> list:
    """Issue one ``RegimeWarning`` per message of ``regime_problems``; return the messages."""
    msgs = regime_problems(params, filters, tau_s, mean_rate)
    for m in msgs:
        warnings.warn(m, RegimeWarning, stacklevel=stacklevel)
    return msgs
