"""compare(): binning, standard errors, slopes and balance read from synthetic inputs."""

import dataclasses
import math
import statistics
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.stats

from validation.comparison import compare, linear_fit, theory_at


def _synthetic(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    N_E = n * 4 // 5
    pop = np.r_[np.zeros(N_E, np.int8), np.ones(n - N_E, np.int8)]
    label = rng.uniform(0.5, 1.5, n)
    true_rate = np.where(pop == 0, 10 - 6 * label, 20 - 8 * label)      # Hz
    rate = true_rate + rng.normal(0, 1.0, n)                            # noisy "simulation"
    inputs = np.stack([30 + 0 * label, -(30 + 4 * label), 5 + 0 * label], axis=1)  # mV
    net = SimpleNamespace(N=n, population=pop, label=label)
    sim = SimpleNamespace(N=n, rate=rate, mean_input=inputs, duration=5.0)
    nodes = np.linspace(0.5, 1.5, 33)
    theory = SimpleNamespace(label=np.stack([nodes, nodes]),
                             rate=np.stack([10 - 6 * nodes, 20 - 8 * nodes]),
                             weights=np.full((2, 33), 1 / 33))
    return theory, sim, net


def test_theory_interpolation_exact_for_linear_profile():
    theory, _, _ = _synthetic()
    np.testing.assert_allclose(theory_at(theory, 0, [0.5, 1.0, 1.25]), [7.0, 4.0, 2.5])


def test_theory_interpolation_ignores_zero_weight_nodes_and_sorts():
    # nodes given out of order; a zero-weight node (outside the label distribution's
    # support, its rate meaningless) must not enter the interpolation
    th = SimpleNamespace(label=np.array([[1.5, 0.5, 1.0, 2.0]] * 2),
                         rate=np.array([[1.0, 9.0, 5.0, 1000.0]] * 2),
                         weights=np.array([[0.3, 0.3, 0.4, 0.0]] * 2))
    np.testing.assert_allclose(theory_at(th, 1, [0.5, 0.75, 1.25, 1.5, 1.9, 0.1]),
                               [9.0, 7.0, 3.0, 1.0, 1.0, 9.0], rtol=1e-12)
    # a single node (homogeneous network): its rate everywhere
    one = SimpleNamespace(label=np.array([[1.0, 2.0]] * 2), rate=np.array([[4.0, 50.0]] * 2),
                          weights=np.array([[1.0, 0.0]] * 2))
    np.testing.assert_allclose(theory_at(one, 0, [0.3, 1.0, 7.0]), 4.0, rtol=1e-12)


def test_bins_z_scores_and_slopes():
    theory, sim, net = _synthetic()
    c = compare(theory, sim, net, n_bins=8)
    E = c["E"]
    assert E.count.sum() == 3200 and len(E.count) == 8
    # noise sd 1 Hz, 400 neurons a bin: SE = 0.05 Hz (to sampling error of the sd)
    np.testing.assert_allclose(E.sim_se, 0.05, rtol=0.15)
    # z-scores of an unbiased simulation are standard normal: |z| < 4 for 8 bins
    assert np.all(np.abs(E.z) < 4)
    assert E.sim_slope == pytest.approx(-6.0, abs=0.2)   # 5 SE of a slope over 3200 neurons
    assert E.theory_slope == pytest.approx(-6.0, abs=1e-9)
    # net input = 5 - 4 label: slope -4 mV per unit label exactly (no noise on the inputs)
    assert E.net_input_slope == pytest.approx(-4.0, abs=1e-9)
    assert E.agreement().all()
    assert "theory vs simulation" in c.summary()


def test_disagreement_is_flagged():
    theory, sim, net = _synthetic()
    sim = SimpleNamespace(**{**sim.__dict__, "rate": sim.rate * 1.5 + 2})
    c = compare(theory, sim, net, n_bins=5)
    assert not c["I"].agreement(min_count=100).all()


def test_linear_fit_se():
    x = np.arange(10.0)
    s, se = linear_fit(x, 2 * x + 1)
    assert s == pytest.approx(2.0) and se == pytest.approx(0.0, abs=1e-12)


def test_linear_fit_slope_and_standard_error():
    # by hand: x = 0..3, y = 1, 2, 2, 5 -> slope 6/5, residuals 0.3, 0.1, -1.1, 0.7, so
    # SE = sqrt(1.8 / (4 - 2) / 5) = sqrt(0.18)
    s, se = linear_fit([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 5.0])
    assert s == pytest.approx(1.2, rel=1e-12) and se == pytest.approx(math.sqrt(0.18), rel=1e-12)
    # against scipy.stats.linregress, with a label range of exactly 1 and a NaN dropped
    x = np.array([0.0, 0.25, 0.5, 1.0, np.nan])
    y = np.array([1.0, 2.0, 1.5, 3.5, 7.0])
    ref = scipy.stats.linregress(x[:4], y[:4])
    s, se = linear_fit(x, y)
    assert s == pytest.approx(ref.slope, rel=1e-12) and se == pytest.approx(ref.stderr, rel=1e-12)
    # undefined: fewer than 3 points, or no spread in x
    assert all(math.isnan(v) for v in linear_fit([0.0, 1.0], [0.0, 1.0]))
    assert all(math.isnan(v) for v in linear_fit([2.0, 2.0, 2.0], [0.0, 1.0, 3.0]))


def test_mismatched_sizes_raise():
    theory, sim, net = _synthetic()
    with pytest.raises(ValueError, match="neurons"):
        compare(theory, SimpleNamespace(**{**sim.__dict__, "N": 10}), net)


# ----------------------------------------------------------------------------- pinned values
# Hand-built populations whose every statistic is worked out by hand (or with the standard
# library) in the test: any change of the formulas in compare shows as a changed number.
def _pinned():
    #            E neurons (4)                       I neurons (3)
    rate = np.array([0.0, 0.05, 0.1, 0.5] + [2.0, 4.0, 9.0])          # Hz
    in_E = np.array([40.0, 40.0, 44.0, 44.0] + [20.0, 30.0, 0.0])     # mV
    in_I = np.array([-45.0, -43.0, -47.0, -49.0] + [-25.0, -31.0, -4.0])
    in_X = np.array([8.0, 6.0, 6.0, 10.0] + [10.0, 5.0, 0.0])
    pop = np.int8([0, 0, 0, 0, 1, 1, 1])
    label = np.array([0.6, 0.8, 1.2, 1.4, 0.7, 1.0, 1.3])
    net = SimpleNamespace(N=7, population=pop, label=label)
    sim = SimpleNamespace(N=7, rate=rate, mean_input=np.stack([in_E, in_I, in_X], axis=1), duration=4.0)
    return sim, net


def test_exact_balance_spread_silent_fraction_and_mean_input():
    sim, net = _pinned()
    c = compare(None, sim, net, n_bins=1)
    pE, pI = c["E"], c["I"]
    # E: net inputs E + I + X = 3, 3, 3, 5 mV -> mean 3.5, population sd sqrt(0.75)
    # (the E column alone has sd 2, E + I without X has sd 1)
    assert pE.net_input_spread == pytest.approx(math.sqrt(0.75), rel=1e-12)
    # balance index: median of |net| / (E + X) = median(3/48, 3/46, 3/50, 5/54)
    assert pE.balance_index == pytest.approx(statistics.median([3 / 48, 3 / 46, 3 / 50, 5 / 54]),
                                            rel=1e-12)
    # silent: rate < 0.1 Hz -> 0.0 and 0.05 (0.1 itself is not below 0.1; 0.5 is firing)
    assert pE.fraction_silent == 0.5
    np.testing.assert_allclose(pE.mean_input, [42.0, -46.0, 7.5], rtol=1e-12)
    # I: net inputs 5, 4, -4 mV -> mean 5/3, deviations 10/3, 7/3, -17/3: population sd
    # sqrt(438/27); the third neuron has E + X = 0 and is left out of the balance index
    assert pI.net_input_spread == pytest.approx(math.sqrt(438 / 27), rel=1e-12)
    assert pI.balance_index == pytest.approx(statistics.median([5 / 30, 4 / 35]), rel=1e-12)
    assert pI.fraction_silent == 0.0
    np.testing.assert_allclose(pI.mean_input, [50 / 3, -60 / 3, 5.0], rtol=1e-12)
    # the silent threshold is a parameter: at 0.2 Hz the 0.1 Hz neuron is silent too
    assert compare(None, sim, net, n_bins=1, silent_rate=0.2)["E"].fraction_silent == 0.75
    # one bin: mean rate and its standard error sd(ddof=1)/sqrt(n), not the sd
    assert pE.sim_rate[0] == pytest.approx(0.1625, rel=1e-12)
    assert pE.sim_se[0] == pytest.approx(statistics.stdev([0.0, 0.05, 0.1, 0.5]) / 2, rel=1e-12)
    assert pI.sim_se[0] == pytest.approx(statistics.stdev([2.0, 4.0, 9.0]) / math.sqrt(3),
                                        rel=1e-12)
    # the net-input slope against the label (least squares): E net input 3, 3, 3, 5
    # at labels 0.6, 0.8, 1.2, 1.4 -> slope sum(dx dy)/sum(dx^2) = 0.8/0.4 = 2 mV per label
    assert pE.net_input_slope == pytest.approx(2.0, rel=1e-12)


def _one_bin(mean, sd, theory_rate, n=400):
    """n E neurons (and 10 I) with rates mean + sd, mean - sd (n // 2 each; one at mean if
    n is odd), all in one bin, against the constant theory ``theory_rate``.

    Returns the E comparison and the E rates.
    """
    rate = np.r_[np.full(n // 2, mean + sd), np.full(n // 2, mean - sd), np.full(n % 2, mean),
                 np.full(10, 5.0)]
    pop = np.r_[np.zeros(n, np.int8), np.ones(10, np.int8)]
    label = np.linspace(0.5, 1.5, n + 10)
    net = SimpleNamespace(N=n + 10, population=pop, label=label)
    inputs = np.tile([10.0, -12.0, 3.0], (n + 10, 1))             # mV, irrelevant here
    sim = SimpleNamespace(N=n + 10, rate=rate, mean_input=inputs, duration=5.0)
    theory = SimpleNamespace(label=np.array([[0.5, 1.5], [0.5, 1.5]]),
                             rate=np.array([[theory_rate] * 2, [5.0] * 2]),
                             weights=np.full((2, 2), 0.5))
    return compare(theory, sim, net, n_bins=1)["E"], rate[:n]


@pytest.mark.parametrize("mean, sd, theory_rate, n, agrees", [
    # the 20 % bar, with the SE small (sd 2 Hz over 400 neurons: SE 0.1 Hz, 3 SE 0.3 Hz)
    (25.0, 2.0, 20.0, 400, False),      # 25 % off: flagged
    (23.0, 2.0, 20.0, 400, True),       # 15 % off: agrees
    (16.4, 2.0, 20.0, 400, True),       # 18 % below: agrees
    (15.0, 2.0, 20.0, 400, False),      # 25 % below: flagged
    # SE, not SD: sd 10 Hz but SE 0.5 Hz (3 SE = 1.5 Hz < 20 % = 4 Hz): 25 % off is flagged
    (25.0, 10.0, 20.0, 400, False),
    # with a large SE the 3 SE bar takes over: sd 40 Hz, SE 2 Hz, 3 SE 6 Hz > 5 Hz
    (25.0, 40.0, 20.0, 400, True),
    # the 0.5 Hz floor: theory 1.5 Hz, off by 0.4 Hz (27 %) agrees, by 0.6 Hz does not
    (1.9, 0.02, 1.5, 400, True),
    (2.1, 0.02, 1.5, 400, False),
    # bins with fewer than 200 neurons or a theory below 1 Hz are not judged
    (25.0, 2.0, 20.0, 199, True),
    (2.0, 0.01, 0.8, 400, True),
])
def test_agreement_bar_at_its_edges(mean, sd, theory_rate, n, agrees):
    pc, rates = _one_bin(mean, sd, theory_rate, n)
    se = statistics.stdev(rates.tolist()) / math.sqrt(n)     # the standard error of the mean
    assert pc.count[0] == n
    assert pc.theory_rate[0] == pytest.approx(theory_rate, rel=1e-12)
    assert pc.sim_rate[0] == pytest.approx(mean, rel=1e-12)
    # rel 1e-9: compare uses E[r^2] - E[r]^2 (cancellation ~ (mean/sd)^2 eps ~ 1e-11)
    assert pc.sim_se[0] == pytest.approx(se, rel=1e-9)
    assert pc.z[0] == pytest.approx((mean - theory_rate) / se, rel=1e-9)
    assert bool(pc.agreement()[0]) is agrees


def test_neuron_level_theory_correlation_rms_and_bin_means():
    # neuron-level theory beside the simulation: Pearson r and RMS difference over each
    # population's neurons, and the bin means of the neuron-level rates, against the
    # standard library on the same numbers
    sim, net = _pinned()
    nt_rate = np.array([0.5, 0.0, 0.3, 0.4] + [3.0, 3.5, 8.0])
    c = compare(None, sim, net, network_theory=SimpleNamespace(rate=nt_rate), n_bins=2)
    for pc, idx in ((c["E"], slice(0, 4)), (c["I"], slice(4, 7))):
        r, t = sim.rate[idx].tolist(), nt_rate[idx].tolist()
        assert pc.neuron_corr == pytest.approx(statistics.correlation(r, t), rel=1e-12)
        rms = math.sqrt(sum((a - b) ** 2 for a, b in zip(r, t)) / len(r))
        assert pc.neuron_rms == pytest.approx(rms, rel=1e-12)
    # E bins: labels 0.6, 0.8 | 1.2, 1.4 (median split)
    np.testing.assert_allclose(c["E"].neuron_theory_rate, [0.25, 0.35], rtol=1e-12)
    np.testing.assert_allclose(c["E"].count, [2, 2])
    # without neuron-level theory: NaN, not a number made up
    plain = compare(None, sim, net, n_bins=2)["E"]
    assert math.isnan(plain.neuron_corr) and math.isnan(plain.neuron_rms)


def test_results_are_frozen():
    sim, net = _pinned()
    c = compare(None, sim, net, n_bins=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.N = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        c["E"].balance_index = 0.0
    # equality is identity (eq=False): field-wise == on arrays has no truth value, and the
    # objects stay hashable (usable as dict keys)
    again = compare(None, sim, net, n_bins=1)
    assert c == c and c != again and c["E"] != again["E"]
    assert len({c: 1, again: 2, c["E"]: 3}) == 3


def test_empty_population_gives_nan_not_numbers():
    # an all-E network: the I comparison has no neurons, so every statistic is NaN (and
    # the mean input has one NaN per source)
    n = 5
    net = SimpleNamespace(N=n, population=np.zeros(n, np.int8), label=np.linspace(0.5, 1.5, n))
    sim = SimpleNamespace(N=n, rate=np.arange(n, dtype=float), mean_input=np.ones((n, 3)),
                          duration=1.0)
    pI = compare(None, sim, net, n_bins=2)["I"]
    assert pI.mean_input.shape == (3,) and np.all(np.isnan(pI.mean_input))
    assert pI.count.sum() == 0
    for v in (pI.sim_mean_rate, pI.balance_index, pI.fraction_silent, pI.net_input_spread):
        assert math.isnan(v)
