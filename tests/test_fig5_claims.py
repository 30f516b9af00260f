"""fig5_spatial's claims can fail: synthetic data just inside and outside each bar."""

import copy

import numpy as np
import pytest

from paper_figures import fig5_spatial as f5


def _good():
    n = 20
    prof = (np.arange(n) % 5 + 2.0).tolist()
    b = {pop: {"centers": list(np.arange(n) / n), "count": [200.0] * n, "sim": prof,
               "se": [0.1] * n, "theory": prof, "limit": prof, "agree": [True] * n}
         for pop in "EI"}
    b.update(grid=[0.0], profile_theory=[[1.0], [1.0]], profile_limit=[[1.0], [1.0]],
             converged=True)
    Ns = [2000, 4000, 8000]
    sq = np.sqrt(Ns)
    c = {"N": Ns,
         "violated": {"sigma_X": 0.01, "sim_spread": list(sq / 40), "theory_spread": list(sq / 40),
                      "converged": [True] * 3, "sim_exponent": 0.5, "theory_exponent": 0.45,
                      "limit_spread": list(sq / 40 * 1.1), "limit_success": True},
         "respected": {"sigma_X": 0.1, "sim_spread": [1.0] * 3, "theory_spread": [0.2] * 3,
                       "converged": [True] * 3, "sim_exponent": 0.0, "theory_exponent": 0.1}}
    pw_u = np.ones(49)
    pw_u[4] = 100.0
    d = {"unstable": {"sigma": [0.02, 0.1], "kind": "turing", "n_pred": 5.0, "growth": [],
                      "growth_max": 10.0, "power": pw_u.tolist(), "n_sim": 5, "peak_ratio": 100.0,
                      "rates": [1, 1]},
         "stable": {"sigma": [0.1, 0.02], "kind": "stable", "n_pred": 3.0, "growth": [],
                    "growth_max": -10.0, "power": [1.0] * 49, "n_sim": 1, "peak_ratio": 1.5,
                    "rates": [1, 1]}}
    ks = np.tile([0.8, 0.95, 1.05, 1.2], (10, 1))
    e = {"E": {"kappa": ks.tolist(), "sim": (5 - ks * 2).tolist(), "theory": (5 - ks * 2).tolist()},
         "converged": True}
    a = [{"sigma": s, "theory": [3.5, 6.0], "sim": [3.6, 5.9], "converged": True} for s in (0.05, 0.25)]
    return {"quick": True, "a": a, "b": b, "c": c, "d": d, "e": e}


def _ok(data):
    return {c.id: c.ok for c in f5.check_claims(data)}


def test_good_data_passes_every_claim_and_ids_are_stable():
    res = _ok(_good())
    assert list(res) == list(f5.CLAIM_IDS)
    assert all(res.values()), res


def test_each_claim_fails_just_outside_its_bar():
    cases = {
        "fig5.uniform_rates": lambda d: d["a"][1].update(sim=[3.5 * 1.06, 6.0]),
        "fig5.bump_bins_agree": lambda d: d["b"]["E"]["agree"].__setitem__(3, False),
        "fig5.violated_spread_exponent": lambda d: d["c"]["violated"].update(sim_exponent=0.34),
        "fig5.respected_spread_exponent": lambda d: d["c"]["respected"].update(sim_exponent=0.21),
        "fig5.theory_spread_exponents": lambda d: d["c"]["violated"].update(theory_exponent=0.66),
        "fig5.violated_limit_spread": lambda d: d["c"]["violated"].update(
            limit_spread=list(np.sqrt(d["c"]["N"]) / 40 / 0.74)),
        "fig5.instability_wave_number": lambda d: d["d"]["unstable"].update(n_sim=8),
        "fig5.stable_no_pattern": lambda d: d["d"]["stable"].update(peak_ratio=f5.PEAK_RATIO + 0.1),
        "fig5.indegree_rates_fall": lambda d: d["e"]["E"]["sim"][2].__setitem__(3, 9.0),
    }
    assert set(cases) == set(f5.CLAIM_IDS)
    for cid, mutate in cases.items():
        d = copy.deepcopy(_good())
        mutate(d)
        res = _ok(d)
        assert not res[cid], cid
        assert sum(not v for v in res.values()) == 1, (cid, res)


def test_unconverged_theory_fails_its_claims():
    d = _good()
    d["a"][0]["converged"] = False
    d["b"]["converged"] = False
    d["e"]["converged"] = False
    res = _ok(d)
    assert not res["fig5.uniform_rates"] and not res["fig5.bump_bins_agree"]
    assert not res["fig5.indegree_rates_fall"]


@pytest.mark.slow
def test_quick_mode_judges_every_claim_pass():
    # the whole figure at quick size (~45 s on 2 busy cores): every claim PASSes
    d = f5.compute(quick=True, seed=0)
    res = _ok(d)
    assert list(res) == list(f5.CLAIM_IDS)
    assert all(res.values()), [k for k, v in res.items() if not v]


def test_limit_spread_claim_fails_without_a_solved_limit():
    for change in ({"limit_success": False}, {"limit_spread": [np.nan] * 3},
                   {"converged": [True, False, True]}):
        d = copy.deepcopy(_good())
        d["c"]["violated"].update(change)
        assert not _ok(d)["fig5.violated_limit_spread"], change
    d = copy.deepcopy(_good())
    del d["c"]["violated"]["limit_spread"]            # data without the limit: no pass
    assert not _ok(d)["fig5.violated_limit_spread"]
    d = copy.deepcopy(_good())                          # just inside the bar, both sides
    for f in (0.76, 1.24):
        d["c"]["violated"]["limit_spread"] = list(np.asarray(d["c"]["violated"]["theory_spread"]) / f)
        assert _ok(d)["fig5.violated_limit_spread"], f
