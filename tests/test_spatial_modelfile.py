"""Spatial models in model files and the CLI (issue 13, deliver item 1).

``DegreeModel.spatial`` <-> ``spec`` / ``from_spec`` <-> the TOML ``[model]`` table <->
``hetbalance solve`` / ``simulate``. References: the Python API itself (the file must give
the same model and rates), the homogeneous solve (a ring with uniform input has the uniform
network's rates: every kernel has mean 1, docs/theory.md section 12) and the closed form of
the Gaussian bump.
"""

from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest

from hetbalance import cli
from hetbalance.modelfile import ModelFileError, dumps, load_model_file, loads
from meanfield import DegreeModel, NetworkParams, solve
from meanfield.errors import ParameterError
from meanfield.spatial import GaussianBump, SpatialModel, grid_positions

N = 2000
RING = """
[network]
preset = "rosenbaum2017"
N = 2000

[model]
constructor = "spatial"
dim = 1
sigma = 0.05
sigma_X = 0.1
n_side = 200
"""


def _same_model(a: SpatialModel, b: SpatialModel):
    assert isinstance(b, SpatialModel)
    assert b.spec == a.spec
    assert b.space_dim == a.space_dim
    assert dict(b.widths) == dict(a.widths)
    assert b.in_sources == a.in_sources
    assert b.labels["E"].n_side == a.labels["E"].n_side
    assert b.labels["E"].n_kappa == a.labels["E"].n_kappa
    assert (a.kappa is None) == (b.kappa is None)
    if a.kappa is not None:
        assert b.kappa.to_dict() == a.kappa.to_dict()
    assert (a.input_profile is None) == (b.input_profile is None)
    rng = np.random.default_rng(0)
    t = rng.random((50, a.labels["E"].dim)) + np.array([0.0] * a.space_dim
                                                       + [0.5] * (a.kappa is not None))
    t = t[:, 0] if t.shape[1] == 1 else t
    for pair, k in a.kernels.items():
        assert b.kernels[pair].sigma == k.sigma
        np.testing.assert_array_equal(b.kernels[pair].pairs(t, t[::-1]), k.pairs(t, t[::-1]))
    x = grid_positions(16, a.space_dim)
    np.testing.assert_array_equal(b.ext_profile(x), a.ext_profile(x))


MODELS = [
    lambda: DegreeModel.spatial(1, 0.05, 0.1),
    lambda: DegreeModel.spatial(2, (0.06, 0.04), (0.1, 0.12), n_side=16),
    lambda: DegreeModel.spatial(1, {"EE": 0.05, "EI": 0.04, "IE": 0.06, "II": 0.03}, 0.2,
                                kappa="gamma", kappa_cv=0.2, n_kappa=5, n_side=32,
                                in_sources=("E", "I", "X"),
                                input_profile=GaussianBump(0.3, 0.08, 2.0)),
    lambda: DegreeModel.spatial(2, 0.05, 0.1, kappa="lognormal", kappa_cv=0.3, n_side=8,
                                input_profile=GaussianBump(0.5, 0.1, 1.0)),
]


@pytest.mark.parametrize("make", MODELS)
def test_spec_round_trip(make):
    m = make()
    _same_model(m, DegreeModel.from_spec(m.spec))


@pytest.mark.parametrize("make", MODELS)
def test_model_file_round_trip(make):
    m = make()
    p = NetworkParams.preset("rosenbaum2017", N=N)
    mf = loads(dumps(p, m, compact=True))
    assert mf.params == p
    _same_model(m, mf.model)


def test_callable_profile_cannot_be_written():
    m = DegreeModel.spatial(1, 0.05, 0.1, input_profile=lambda x: 1.0 + 0 * x)
    with pytest.raises(ValueError, match="callable input_profile.*GaussianBump"):
        dumps(NetworkParams.preset("rosenbaum2017"), m)
    with pytest.raises(ParameterError, match="uniform input.*gaussian_bump") as e:
        DegreeModel.from_spec(m.spec)
    assert e.value.field == "input_profile"


def test_gaussian_bump_closed_form():
    b = GaussianBump(0.9, 0.1, 2.0)
    # centre, one width away (through the wrap at 1 -> 0), and half a ring away
    got = b(np.array([0.9, 0.0, 0.4]))
    want = [3.0, 1.0 + 2.0 * math.exp(-0.5), 1.0 + 2.0 * math.exp(-0.5 * 25.0)]
    np.testing.assert_allclose(got, want, rtol=1e-14)
    # torus: Euclidean periodic distance to (0.9, 0.9)
    np.testing.assert_allclose(b(np.array([[0.0, 0.0]])), 1.0 + 2.0 * math.exp(-1.0),
                               rtol=1e-14)
    for kw, field in (({"width": 0.0}, "width"), ({"amplitude": -1.0}, "amplitude"),
                      ({"centre": 1.0}, "centre")):
        with pytest.raises(ParameterError) as e:
            GaussianBump(**kw)
        assert e.value.field == field


def _ring_file(tmp_path, extra=""):
    path = tmp_path / "ring.toml"
    path.write_text(RING + extra, encoding="utf-8")
    return path


@pytest.mark.filterwarnings("ignore::meanfield.errors.RegimeWarning")
def test_file_solves_like_the_api_and_the_cli_prints_it(tmp_path, capsys):
    path = _ring_file(tmp_path)
    mf = load_model_file(path)
    p = NetworkParams.preset("rosenbaum2017", N=N)
    m = DegreeModel.spatial(1, 0.05, 0.1, n_side=200)
    _same_model(m, mf.model)
    r_file = solve(mf.params, mf.model, tol=1e-9)
    r_api = solve(p, m, tol=1e-9)
    assert r_file.converged and r_api.converged
    # same inputs, same deterministic solver: equal to rounding
    np.testing.assert_allclose(r_file.rates, r_api.rates, rtol=1e-12)
    # independent reference: uniform input on the ring = the uniform network (kernels of
    # mean 1); both solved to a relative residual 1e-9, so 1e-6 leaves room for the
    # different solvers' conditioning
    hom = solve(p, tol=1e-9)
    np.testing.assert_allclose(r_file.population_rates, hom.mean_rate, rtol=1e-6)
    np.testing.assert_allclose(r_file.profile.std(axis=1), 0.0, atol=1e-6)

    assert cli.main(["solve", "--model-file", str(path)]) == 0
    out = capsys.readouterr().out
    for a, pop in enumerate(("E", "I")):
        line = re.search(rf"^{pop}\s+([0-9.]+)\s", out, re.M)
        assert line, out
        assert float(line.group(1)) == pytest.approx(r_api.population_rates[a], abs=6e-5)
    # the same model from the options
    assert cli.main(["solve", "--preset", "rosenbaum2017", "--N", str(N), "--model", "spatial",
                     "--dim", "1", "--sigma", "0.05", "--sigma-X", "0.1",
                     "--n-side", "200"]) == 0
    assert re.findall(r"^[EI]\s.*$", capsys.readouterr().out, re.M) == \
        re.findall(r"^[EI]\s.*$", out, re.M)


@pytest.mark.parametrize("line, key, match", [
    ("sigma = 0.0", "sigma", r"sigma_EE = 0.0 is out of range; allowed: \(0.0, 1.0\]"),
    ("sigma = [0.05, -0.01]", "sigma", r"sigma_EI = -0.01 is out of range"),
    ("sigma_X = 0.0", "sigma_X", r"sigma_EX = 0.0 is out of range"),
    ("dim = 3", "dim", r"dim = 3 is not allowed; allowed: 1 \(ring\) or 2 \(torus\)"),
    ("input_profile = \"bump\"", "input_profile", r"only the uniform input.*gaussian_bump"),
    ("input_profile = {kind = \"gaussian_bump\", centre = 0.5, width = -1.0, amplitude = 1.0}",
     "input_profile", r"width = -1.0 is out of range"),
])
def test_bad_values_name_the_key(line, key, match):
    k = line.split(" =")[0]
    text = "\n".join(x for x in RING.splitlines() if not x.startswith(k + " =")) + "\n" + line
    with pytest.raises(ModelFileError, match=match) as e:
        loads(text, source="ring.toml")
    assert e.value.key == f"model.{key}"
    assert e.value.line == len(text.splitlines())
    assert str(e.value).startswith(f"ring.toml, line {e.value.line}, key model.{key}: ")


def test_api_errors_name_the_field():
    for args, field in (((1, 0.0, 0.1), "sigma_EE"), ((1, 0.05, -0.1), "sigma_EX"),
                        ((3, 0.05, 0.1), "dim"), ((0, 0.05, 0.1), "dim")):
        with pytest.raises(ParameterError) as e:
            DegreeModel.spatial(*args)
        assert e.value.field == field


def test_cli_bad_options(capsys):
    base = ["solve", "--preset", "rosenbaum2017", "--N", "2000"]
    assert cli.main(base + ["--model", "spatial", "--sigma", "0", "--sigma-X", "0.1"]) == 2
    assert "sigma_EE = 0.0 is out of range" in capsys.readouterr().err
    assert cli.main(base + ["--model", "spatial", "--dim", "3", "--sigma", "0.05",
                            "--sigma-X", "0.1"]) == 2
    assert "dim = 3 is not allowed" in capsys.readouterr().err
    assert cli.main(base + ["--model", "spatial", "--sigma-X", "0.1"]) == 2
    assert "--model spatial needs --sigma" in capsys.readouterr().err
    assert cli.main(base + ["--sigma", "0.05"]) == 2
    assert "--sigma applies to --model spatial only" in capsys.readouterr().err
    example = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples" / "spatial_ring.toml"
    assert cli.main(["sweep", "--model-file", str(example),
                     "--Ns", "1000", "2000"]) == 2
    assert "cannot be swept" in capsys.readouterr().err


def test_simulate_drives_the_bump():
    """``hetbalance simulate`` gives each external neuron r_X times the bump at its position."""
    from graphs import sample_network
    from hetbalance._run import spatial_rate_X

    p = NetworkParams.preset("rosenbaum2017", N=500)
    bump = GaussianBump(0.25, 0.1, 1.5)
    m = DegreeModel.spatial(1, 0.05, 0.1, n_side=32, input_profile=bump)
    for layout in ("grid", "random"):
        net = sample_network(p, m, seed=3, layout=layout)
        sp = net.provenance["spatial"]
        x = (np.arange(sp["x_side"]) / sp["x_side"] if layout == "grid"
             else np.asarray(sp["x_positions"]))
        assert len(x) == p.N_X
        d = x - 0.25
        d -= np.round(d)
        np.testing.assert_allclose(spatial_rate_X(p, m, net),
                                   p.r_X * (1 + 1.5 * np.exp(-0.5 * (d / 0.1) ** 2)), rtol=1e-13)
    assert spatial_rate_X(p, DegreeModel.spatial(1, 0.05, 0.1, n_side=32), net) is None


@pytest.mark.filterwarnings("ignore::meanfield.errors.RegimeWarning")
def test_cli_layout_and_construction_reach_the_sampler(capsys):
    """--layout/--construction give the network sample_network gives with them (same seed)."""
    from graphs import sample_network

    base = ["simulate", "--preset", "rosenbaum2017", "--N", "1000", "--model", "spatial",
            "--dim", "1", "--sigma", "0.05", "--sigma-X", "0.1", "--n-side", "32",
            "--T", "0.05", "--burn-in", "0.0", "--seed", "4"]
    p = NetworkParams.preset("rosenbaum2017", N=1000)
    m = DegreeModel.spatial(1, 0.05, 0.1, n_side=32)
    counts = {}
    for extra, kw in ((["--construction", "fixed_outdegree"], {"construction": "fixed_outdegree"}),
                      (["--layout", "random"], {"layout": "random"}), ([], {})):
        assert cli.main(base + extra) == 0
        got = re.search(r"network: \d+ neurons, (\d+) recurrent synapses", capsys.readouterr().out)
        assert got
        net = sample_network(p, m, seed=4, **kw)
        assert int(got.group(1)) == net.n_synapses
        counts[tuple(extra)] = net.n_synapses
    assert len(set(counts.values())) == 3        # the options changed the network
    assert cli.main(["simulate", "--preset", "akil2021", "--N", "1000", "--layout", "random"]) == 2
    assert "--layout applies to spatial models only" in capsys.readouterr().err
