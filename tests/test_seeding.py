"""The one seeding policy (meanfield.seeding): named streams, records, and every entry
point giving the same network and spikes for the same seed."""

import importlib
import inspect
import json

import numpy as np
import pytest

from meanfield import DegreeModel, NetworkParams
from meanfield.seeding import (SEED_RULE, STREAM_KEYS, as_generator, resolve_seed, seed_from_record,
                               stream_seed, streams)


def _draw(g, n=4):
    return g.random(n)


# ---------------------------------------------------------------------------- the helper
def test_same_seed_same_stream_and_no_global_state():
    state = np.random.get_state()[1].copy()
    a = as_generator(3).random(5)
    b = as_generator(3).random(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, as_generator(4).random(5))
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    streams(3, "graph", "noise")
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_stream_is_keyed_by_name_not_by_position_or_company():
    ref = _draw(streams(7, "noise")["noise"])
    for names in (("graph", "noise"), ("noise", "graph"), ("noise.initial", "noise", "graph.recurrent")):
        np.testing.assert_array_equal(_draw(streams(7, *names)["noise"]), ref)
    sub = _draw(streams(7, "graph.recurrent")["graph.recurrent"])
    both = streams(7, "graph.labels_E", "graph.recurrent")
    np.testing.assert_array_equal(_draw(both["graph.recurrent"]), sub)


def test_the_rule_is_the_documented_spawn_key():
    # SEED_RULE: stream 'a.b' of s = SeedSequence(s.entropy, spawn_key=s.spawn_key + keys)
    expect = np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(11, spawn_key=(STREAM_KEYS["noise"], STREAM_KEYS["initial"]))))
    np.testing.assert_array_equal(_draw(streams(11, "noise.initial")["noise.initial"]), _draw(expect))
    parent = np.random.SeedSequence(11, spawn_key=(3,))
    assert stream_seed(parent, "graph").spawn_key == (3, STREAM_KEYS["graph"])
    assert SEED_RULE.startswith("hetbalance-streams-1")


def test_streams_differ_from_each_other_and_from_spawned_children():
    names = list(STREAM_KEYS)
    draws = {n: _draw(streams(2, n)[n]) for n in names}
    draws["graph.recurrent"] = _draw(streams(2, "graph.recurrent")["graph.recurrent"])
    vals = list(draws.values())
    assert all(not np.array_equal(vals[i], vals[j]) for i in range(len(vals)) for j in range(i))
    # the keys lie far above the counters of SeedSequence.spawn (no accidental equality)
    assert len(set(STREAM_KEYS.values())) == len(STREAM_KEYS)
    assert min(STREAM_KEYS.values()) > 2**24 and max(STREAM_KEYS.values()) < 2**32
    children = [_draw(np.random.Generator(np.random.PCG64(c))) for c in np.random.SeedSequence(2).spawn(4)]
    assert all(not np.array_equal(c, v) for c in children for v in vals)


def test_unknown_stream_name():
    with pytest.raises(ValueError, match="'grahp'.*allowed"):
        streams(1, "grahp")
    with pytest.raises(ValueError, match="'x'"):
        streams(1, "noise.x")


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (1.5, TypeError), ("x", TypeError),
                                     (True, TypeError), ([1], TypeError)])
def test_bad_seeds(bad, exc):
    with pytest.raises(exc, match="seed"):
        as_generator(bad)
    with pytest.raises(exc, match="seed"):
        streams(bad, "graph")


def test_seedsequence_none_and_generator_seeds():
    # SeedSequence: used as it is; its record repeats it
    ss = np.random.SeedSequence(123, spawn_key=(4,))
    root, rec = resolve_seed(ss)
    assert root is ss and rec == {"entropy": "123", "spawn_key": [4]}
    assert seed_from_record(rec).spawn_key == (4,)
    # None: fresh entropy, recorded; two calls differ
    (r1, rec1), (r2, _) = resolve_seed(None), resolve_seed(None)
    assert r1.entropy != r2.entropy and rec1 == {"entropy": str(r1.entropy), "spawn_key": []}
    # Generator: 128 bits drawn once (the generator advances), recorded as entropy
    g = np.random.default_rng(5)
    ra, reca = resolve_seed(g)
    rb, _ = resolve_seed(g)
    assert reca["from_generator"] is True and ra.entropy != rb.entropy
    assert ra.entropy == resolve_seed(np.random.default_rng(5))[0].entropy
    assert 0 <= ra.entropy < 2**128
    # an int: itself
    assert resolve_seed(np.int64(9))[1] == 9 and resolve_seed(np.int64(9))[0].entropy == 9


@pytest.mark.parametrize("seed", [3, np.random.SeedSequence(77), None, "generator"])
def test_record_round_trip_repeats_the_draw(seed):
    if seed == "generator":
        seed = np.random.default_rng(8)
    root, rec = resolve_seed(seed)
    rec = json.loads(json.dumps(rec))                        # as stored in a result file
    a = streams(root, "graph", "noise.external_input")
    b = streams(seed_from_record(rec, SEED_RULE), "graph", "noise.external_input")
    for name in a:
        np.testing.assert_array_equal(_draw(a[name]), _draw(b[name]))


def test_seed_from_record_rejects_other_rules_and_bad_records():
    with pytest.raises(ValueError, match="seeding rule"):
        seed_from_record(3, "old-rule")
    assert seed_from_record(3, None) == 3
    for bad in (None, -1, {"entropy": "x"}, "numpy.random.Generator (state not recorded)"):
        with pytest.raises(ValueError, match="seed record"):
            seed_from_record(bad)


# ---------------------------------------------------------------------------- keyword-only
PUBLIC_SEEDED = [
    ("graphs.sample", "sample_network"), ("graphs.sample", "sample_fixed_indegree"),
    ("graphs.sample", "sample_prescribed_indegree"), ("validation.simulator", "simulate"),
    ("validation.nest_export", "to_nest"), ("validation.nest_export", "run_nest"),
    ("meanfield.labels", "LabelDistribution.sample"), ("meanfield.labels", "GaussianCopula.sample"),
    ("paper_figures._ladder", "run_point"), ("paper_figures.__main__", "run"),
    ("paper_figures.fig0_transfer", "compute"), ("paper_figures.fig1_indegree_breaks_balance", "compute"),
    ("paper_figures.fig2_assortative_restores", "compute"),
    ("paper_figures.fig3_counterexample_crossover", "compute"), ("hetbalance.results", "provenance"),
]


@pytest.mark.parametrize("module,name", PUBLIC_SEEDED)
def test_seed_is_keyword_only(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    assert inspect.signature(obj).parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY


def test_every_public_function_with_a_seed_takes_it_keyword_only():
    # scan the packages, so a new function with a positional seed cannot slip in
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    found = []
    for pkg in ("meanfield", "graphs", "validation", "paper_figures", "hetbalance"):
        for path in sorted((root / pkg).glob("*.py")):
            if path.stem.startswith("_") and path.stem != "__init__":
                continue                  # private modules (optional deps); listed above
            if (pkg, path.stem) == ("meanfield", "seeding"):
                continue                  # the helpers whose subject is the seed itself
            mod = importlib.import_module(f"{pkg}.{path.stem}" if path.stem != "__init__" else pkg)
            for obj in vars(mod).values():
                cands = [obj] if inspect.isfunction(obj) else (
                    [v for v in vars(obj).values() if inspect.isfunction(v)]
                    if inspect.isclass(obj) else [])
                for f in cands:
                    if getattr(f, "__module__", None) != mod.__name__ or f.__name__.startswith("_"):
                        continue
                    p = inspect.signature(f).parameters.get("seed")
                    if p is not None:
                        found.append(f.__qualname__)
                        assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{mod.__name__}.{f.__qualname__}"
    assert {"sample_network", "simulate", "to_nest", "LabelDistribution.sample"} <= set(found)


# ---------------------------------------------------------------------------- entry points
P = NetworkParams.preset("akil2021_lif", N=400)
M = DegreeModel.assortative(3.0)


def test_graph_and_noise_streams_are_independent_of_each_other():
    # the same integer to sample_network and simulate gives different streams: the initial
    # potentials of simulate are not the labels of sample_network (both are uniform draws)
    from graphs import sample_network
    from validation import simulate

    net = sample_network(P, M, seed=4)
    assert net.seed == 4 and net.seed_rule == SEED_RULE
    u_labels = (net.label[:P.N_E] - 0.5)             # uniform on [0.5, 1.5] -> [0, 1)
    u_graph = streams(4, "graph.labels_E")["graph.labels_E"].random(P.N_E)
    np.testing.assert_allclose(u_labels, u_graph, rtol=0, atol=1e-12)   # the label stream, as documented
    u_noise = streams(4, "noise.initial")["noise.initial"].random(P.N)
    sim = simulate(net, P, T=0.01, burn_in=0.0, seed=4, backend="numpy", progress=False)
    assert sim.seed == 4 and sim.seed_rule == SEED_RULE
    assert not np.allclose(u_noise[:P.N_E], u_graph)
    # the stream of the noise is "noise.initial": re-derive the first membrane potentials
    lif = P.neuron_E
    V0 = lif.V_r + (lif.theta - lif.V_r) * u_noise
    res = simulate(net, P, T=1e-4, burn_in=0.0, seed=4, backend="numpy", progress=False,
                   record=[0, 1, 2])
    np.testing.assert_allclose(res.trace_V[:, 0], V0[:3], rtol=0, atol=1e-12)


def test_generator_and_seedsequence_seeds_in_sample_network_and_simulate():
    from graphs import sample_network
    from validation import simulate

    ss = np.random.SeedSequence(2024)
    a = sample_network(P, M, seed=ss)
    assert a.equals(sample_network(P, M, seed=np.random.SeedSequence(2024)))
    assert a.seed == {"entropy": "2024", "spawn_key": []}
    # a SeedSequence with the entropy s gives the same network as the int s
    assert a.equals(sample_network(P, M, seed=2024))
    g = np.random.default_rng(1)
    b = sample_network(P, M, seed=g)
    assert b.seed["from_generator"] is True
    assert sample_network(P, M, seed=seed_from_record(b.seed, b.seed_rule)).equals(b)
    assert not sample_network(P, M, seed=g).equals(b)               # g advanced
    s1 = simulate(a, P, T=0.05, burn_in=0.0, seed=np.random.default_rng(9), backend="numpy",
                  progress=False)
    s2 = simulate(a, P, T=0.05, burn_in=0.0, seed=seed_from_record(s1.seed, s1.seed_rule),
                  backend="numpy", progress=False)
    np.testing.assert_array_equal(s1.spike_ids, s2.spike_ids)
    np.testing.assert_array_equal(s1.spike_times, s2.spike_times)


def test_cli_network_and_spikes_equal_the_api_for_the_same_seed(tmp_path, capsys):
    from graphs import sample_network
    from hetbalance import load_result
    from hetbalance.cli import main
    from hetbalance.modelfile import dump
    from validation import simulate

    f = dump(tmp_path / "m.toml", P, M, {"T": 0.3, "burn_in": 0.1, "seed": 5, "backend": "numpy"})
    npz = tmp_path / "sim.npz"
    assert main(["simulate", "--model-file", str(f), "--npz", str(npz)]) == 0
    capsys.readouterr()
    stored = load_result(npz)
    assert stored.seed == 5 and stored.seed_rule == SEED_RULE
    net = sample_network(P, M, seed=5)
    sim = simulate(net, P, T=0.3, burn_in=0.1, seed=5, backend="numpy", progress=False)
    np.testing.assert_array_equal(stored.arrays["k_in"], net.k_in)
    np.testing.assert_array_equal(stored.arrays["k_out"], net.k_out)
    np.testing.assert_array_equal(stored.arrays["label"], net.label)
    np.testing.assert_array_equal(stored.arrays["spike_ids"], sim.spike_ids)
    np.testing.assert_array_equal(stored.arrays["spike_times"], sim.spike_times)
    np.testing.assert_array_equal(stored.arrays["mean_input"], sim.mean_input)


def test_figure_point_equals_the_api_for_the_same_seed():
    from graphs import sample_network
    from paper_figures._ladder import run_point
    from validation import simulate

    pt = run_point("akil2021_lif", M.spec, 400, 0.3, 0.1, seed=6, n_bins=4)
    net = sample_network(NetworkParams.preset("akil2021_lif", N=400), M, seed=6)
    sim = simulate(net, net.params, T=0.3, burn_in=0.1, seed=6, progress=False)
    for a, pop in enumerate("EI"):
        assert pt[pop]["sim_mean_rate"] == pytest.approx(sim.rate[sim.population == a].mean(),
                                                         rel=1e-12)   # summation order only
        assert pt[pop]["fraction_silent"] == pytest.approx(
            np.mean(sim.rate[sim.population == a] < 0.1), rel=1e-12)


def test_sweep_cache_key_includes_the_rule(monkeypatch):
    # a cached point with a seed is another draw under another rule: never reused
    import validation.cache as cache

    k = cache.content_hash({"seed": 1})
    monkeypatch.setattr(cache, "SEED_RULE", "another rule")
    assert cache.content_hash({"seed": 1}) != k

