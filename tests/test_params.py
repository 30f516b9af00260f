"""Parameter dataclasses: validation, derived quantities, presets, round trips."""

import dataclasses
import math

import numpy as np
import pytest

from meanfield import EIF, LIF, NetworkParams


def test_akil2021_derived_quantities():
    p = NetworkParams.preset("akil2021")
    # docs/theory.md section 8: q = (0.8, 0.2, 0.2), p = 0.1, N = 10^4 -> K_ab = p q_b N exactly.
    np.testing.assert_array_equal(p.K, [[800, 200, 200], [800, 200, 200]])
    np.testing.assert_allclose(p.J, p.j / 100.0, rtol=0, atol=0)  # sqrt(10^4) = 100
    # w_ab = j_ab p_ab q_b, computed by hand from the preset values.
    np.testing.assert_allclose(p.W, [[2.0, -5.0], [9.0, -5.0]], rtol=1e-15)
    np.testing.assert_allclose(p.X, [36.0, 27.0], rtol=1e-15)
    assert (p.N_E, p.N_I, p.N_X) == (8000, 2000, 2000)
    assert p.K_EI == 200.0 and p.J_EE == 0.25


def test_lif_benchmark_matches_anchor_network():
    p = NetworkParams.preset("lif_benchmark")
    # docs/theory.md section 8.2: K_E = 800, K_I = 200, 1000 external inputs, J_E = 0.5 mV, g = 6.
    np.testing.assert_array_equal(p.K, [[800, 200, 1000], [800, 200, 1000]])
    np.testing.assert_allclose(p.J[0], [0.5, -3.0, 0.5])
    assert p.r_X == 3.0 and p.tau_E == p.tau_I == p.tau_X == 0.005
    assert p.neuron_E == LIF(tau_m=0.02, E_L=0.0, theta=20.0, V_r=0.0, tau_ref=0.002)


def test_akil2021_lif_neuron():
    p = NetworkParams.preset("akil2021_lif")
    assert p.neuron_E.theta == -55.0 and p.neuron_E.V_r == -75.0 and p.neuron_E.tau_ref == 0.001
    assert isinstance(NetworkParams.preset("akil2021").neuron_I, EIF)


def test_balanced_scaling_keeps_w_and_x():
    p = NetworkParams.preset("akil2021")
    q = p.with_N(40000)
    np.testing.assert_allclose(q.W, p.W)
    np.testing.assert_allclose(q.X, p.X)
    np.testing.assert_allclose(q.J * math.sqrt(q.N), p.J * math.sqrt(p.N))
    np.testing.assert_allclose(q.K, 4 * p.K)


def test_frozen_and_replace():
    p = NetworkParams.preset("akil2021")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.N = 5  # type: ignore[misc]
    q = p.replace(j_EI=-150.0)
    assert q.j_EI == -150.0 and p.j_EI == -250.0
    # derived arrays are read-only copies: no state can be written into the parameters
    with pytest.raises(ValueError):
        p.W[0, 0] = 1.0


def test_presets_with_overrides_and_unknown():
    assert NetworkParams.preset("akil2021", N=2500).N == 2500
    assert set(NetworkParams.presets()) >= {"akil2021", "akil2021_lif", "lif_benchmark"}
    with pytest.raises(ValueError, match="preset name = 'nope'.*allowed"):
        NetworkParams.preset("nope")


def test_to_dict_round_trip():
    for name in NetworkParams.presets():
        p = NetworkParams.preset(name)
        assert NetworkParams.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="unknown field"):
        NetworkParams.from_dict({"N": 100, "bogus": 1})


@pytest.mark.parametrize("field,value,match", [
    ("N", 5, r"NetworkParams.N = 5 .*\[10, inf\]"),
    ("N", -100, r"NetworkParams.N = -100"),
    ("q_E", 1.5, r"NetworkParams.q_E = 1.5 .*\[0.0, 1.0\]"),
    ("q_E", 0.5, r"sum to 1"),
    ("p_EI", 1.2, r"NetworkParams.p_EI = 1.2 .*\[0.0, 1.0\]"),
    ("p_IX", -0.1, r"NetworkParams.p_IX = -0.1"),
    ("j_EI", 10.0, r"NetworkParams.j_EI = 10.0 mV .*inhibitory"),
    ("j_EE", -1.0, r"NetworkParams.j_EE = -1.0 mV .*excitatory"),
    ("j_IX", -1.0, r"NetworkParams.j_IX"),
    ("r_X", -1.0, r"NetworkParams.r_X = -1.0 Hz"),
    ("tau_E", 8.0, r"NetworkParams.tau_E = 8.0 s .*milliseconds"),
    ("tau_I", -0.001, r"NetworkParams.tau_I"),
    ("j_EE", float("nan"), r"NetworkParams.j_EE = nan is not finite"),
])
def test_network_params_reject_bad_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        NetworkParams.preset("akil2021").replace(**{field: value})


def test_network_params_type_errors():
    with pytest.raises(TypeError, match="NetworkParams.N must be an integer"):
        NetworkParams(N=1e4)
    with pytest.raises(TypeError, match="neuron_E must be a LIF or EIF"):
        NetworkParams(neuron_E="LIF")


@pytest.mark.parametrize("kw,match", [
    ({"tau_m": 15}, r"LIF.tau_m = 15 s .*milliseconds.*0.015"),
    ({"tau_m": 0.0}, r"LIF.tau_m = 0.0 s"),
    ({"tau_ref": 2.0}, r"LIF.tau_ref = 2.0 s .*milliseconds"),
    ({"theta": 5.0, "V_r": 10.0}, r"LIF.V_r = 10.0 mV must be below LIF.theta"),
    ({"theta": float("inf")}, r"LIF.theta = inf is not finite"),
])
def test_lif_rejects(kw, match):
    with pytest.raises(ValueError, match=match):
        LIF(**kw)


@pytest.mark.parametrize("kw,match", [
    ({"tau_m": 15}, r"EIF.tau_m = 15 s .*milliseconds"),
    ({"Delta_T": 0.0}, r"EIF.Delta_T = 0.0 mV"),
    ({"Delta_T": -1.0}, r"EIF.Delta_T = -1.0 mV"),
    ({"V_re": -40.0}, r"EIF.V_re = -40.0 mV must lie in \(V_lb, V_th\)"),
    ({"V_lb": -70.0}, r"EIF.V_re = -75.0 mV must lie in"),
    ({"V_T": -45.0}, r"EIF.V_T = -45.0 mV must be below EIF.V_th"),
])
def test_eif_rejects(kw, match):
    with pytest.raises(ValueError, match=match):
        EIF(**kw)


def test_eif_psi():
    e = EIF()
    np.testing.assert_allclose(e.psi(e.V_T), e.Delta_T)
    np.testing.assert_allclose(e.psi(-50.0), math.exp(5.0))
