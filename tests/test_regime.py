"""meanfield.regime: RegimeWarning from solve itself where an approximation leaves the
range it was validated in (issue 10 item 5)."""

import math
import warnings

import numpy as np
import pytest

from meanfield import NetworkParams, RegimeWarning, solve, solve_network
from meanfield.regime import MAX_KICK, MIN_INPUTS_PER_TAU_M, regime_problems


def _regime_messages(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in rec if issubclass(w.category, RegimeWarning)]


def test_validated_network_does_not_warn(akil):
    # akil2021 at N = 10^4 is where the network accuracy was measured: kick 2.5 mV = 0.125
    # of the 20 mV threshold gap, about 85 input spikes per tau_m
    res, msgs = _regime_messages(solve, akil)
    assert res.converged and msgs == []


def test_small_network_warns_from_solve_about_kicks_and_input_counts(akil):
    # N = 2500: J = j / 50 -> |J_EI| = 5 mV = 0.25 of theta - V_r; ~25 inputs per tau_m
    res, msgs = _regime_messages(solve, akil, N=2500)
    assert res.converged
    kicks = [m for m in msgs if "kicks V by" in m]
    counts = [m for m in msgs if "input spikes per membrane time constant" in m]
    assert len(kicks) == 2 and len(counts) == 2, msgs
    assert "|J_EI| = 5 mV = 0.25 of the threshold gap 20 mV" in kicks[0]


def test_kick_bar_is_at_max_kick():
    p = NetworkParams.preset("akil2021_lif")
    gap = p.neuron_E.theta - p.neuron_E.V_r
    # |J_EI| = |j_EI| / sqrt(N) = 2.5 * 100 / sqrt(N): find the N where it equals MAX_KICK * gap
    N_edge = (abs(p.j_EI) / (MAX_KICK * gap)) ** 2
    below = p.replace(N=int(math.ceil(N_edge)) + 1)     # kick just under the bar
    above = p.replace(N=int(math.floor(N_edge)) - 1)    # just over
    rates = [100.0, 100.0]                               # skip the input-count check's effect
    assert not [m for m in regime_problems(below, mean_rate=rates) if "kicks" in m]
    assert [m for m in regime_problems(above, mean_rate=rates) if "kicks" in m]


def test_input_count_bar():
    # akil2021_lif: K_E. = (800, 200, 200), tau_m = 15 ms, r_X = 10 Hz: the X input alone is
    # 30 spikes per tau_m, so a common recurrent rate r_edge = 4/3 Hz gives exactly 50
    p = NetworkParams.preset("akil2021_lif")
    K, tau_m = p.K, p.neuron_E.tau_m
    r_edge = (MIN_INPUTS_PER_TAU_M / tau_m - K[0, 2] * p.r_X) / (K[0, 0] + K[0, 1])
    assert r_edge == pytest.approx(4.0 / 3.0)

    def flagged(r):
        return [m for m in regime_problems(p, mean_rate=[r, r]) if "input spikes" in m]
    assert flagged(0.99 * r_edge) and len(flagged(0.99 * r_edge)) == 2
    assert flagged(1.01 * r_edge) == []
    assert "below 50" in flagged(0.0)[0] and "30 input spikes" in flagged(0.0)[0]


def test_tau_s_beyond_the_table_warns_from_solve(akil_lif):
    # tau_E = tau_I = tau_X = 30 ms > tau_m = 15 ms: outside the validated tau_s/tau_m <= 1
    p = akil_lif.replace(tau_E=0.03, tau_I=0.03, tau_X=0.03)
    problems = regime_problems(p, ("colored", "colored"), [np.array([0.03]), np.array([0.03])],
                               [2.0, 8.0])
    assert sum("tau_s/tau_m = 2 exceeds 1" in m for m in problems) == 2
    # the white-noise transfer does not use tau_s: no such message
    assert not [m for m in regime_problems(p, ("white", "white"), [np.array([0.03])] * 2)
                if "tau_s" in m]


def test_solve_network_warns_too():
    from graphs import sample_network
    from meanfield import DegreeModel

    p = NetworkParams.preset("akil2021_lif", N=1000)
    net = sample_network(p, DegreeModel.homogeneous(), seed=1)
    res, msgs = _regime_messages(solve_network, p, net.weight_matrix(), net.population, net.k_X)
    assert res.converged and any("kicks V by" in m for m in msgs)
