"""compare(): binning, standard errors, slopes and balance read from synthetic inputs."""

from types import SimpleNamespace

import numpy as np
import pytest

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


def test_mismatched_sizes_raise():
    theory, sim, net = _synthetic()
    with pytest.raises(ValueError, match="neurons"):
        compare(theory, SimpleNamespace(**{**sim.__dict__, "N": 10}), net)
