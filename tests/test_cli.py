"""The hetbalance command line: outputs equal the library's, exit codes, result files."""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import meanfield
from hetbalance import ResultVersionWarning, load_result, main
from hetbalance.results import git_revision
from meanfield import DegreeModel, NetworkParams
from hetbalance.modelfile import dump, loads
from meanfield.seeding import SEED_RULE
from meanfield.degree_space import solve

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    rc = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return rc, out, err


# ============================================================================ help, presets
@pytest.mark.parametrize("cmd", ["solve", "simulate", "sweep", "figures", "presets"])
def test_help_explains_every_option(capsys, cmd):
    rc, out, _ = run(capsys, cmd, "--help")
    assert rc == 0
    lines = out.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^  (-[-\w]+)", line)
        if m and m.group(1) != "-h":
            rest = line[len(m.group(0)):]
            described = re.search(r"\S\s{2,}\S", line) or (
                i + 1 < len(lines) and lines[i + 1].startswith(" " * 10))
            assert described, f"{cmd}: option {m.group(1)} has no help ({rest!r})"


def test_help_states_units(capsys):
    _, sim, _ = run(capsys, "simulate", "--help")
    flat = " ".join(sim.split())
    for text in ("--T SECONDS", "simulated duration, s", "--dt SECONDS", "Euler time step, s",
                 "--burn-in SECONDS", "start of the measurement window, s", "neurons, integer >= 10",
                 "(dimensionless"):
        assert text in flat, text
    _, sol, _ = run(capsys, "solve", "--help")
    flat = " ".join(sol.split())
    for text in ("wall-time limit of the solver, s", "relative residual", "s, mV, Hz"):
        assert text in flat, text


def test_version(capsys):
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith(f"hetbalance {meanfield.__version__}")


def test_presets_one_line_each(capsys):
    rc, out, _ = run(capsys, "presets")
    lines = out.strip().splitlines()
    assert rc == 0 and [ln.split()[0] for ln in lines] == NetworkParams.presets()
    # balanced-limit rates of akil2021: r = -W^-1 X = (9/7, 54/7) Hz
    assert "r_inf = (1.29, 7.71) Hz" in lines[0]


def test_presets_toml_is_a_complete_model_file(capsys):
    rc, out, _ = run(capsys, "presets", "--toml", "brunel_lif")
    mf = loads(out)
    assert rc == 0 and mf.params == NetworkParams.preset("brunel_lif")
    assert mf.simulation == {"T": 1.0, "dt": 1e-4, "burn_in": 0.2, "seed": 0, "backend": "auto"}


# ============================================================================ solve
def test_solve_equals_library_and_writes_provenance(capsys, tmp_path):
    js, npz = tmp_path / "out" / "s.json", tmp_path / "out" / "s.npz"
    rc, out, _ = run(capsys, "solve", "--preset", "akil2021_lif", "--model", "assortative",
                     "--c", "2.5", "--support", "0.6", "1.4", "--json", js, "--npz", npz)
    assert rc == 0
    params = NetworkParams.preset("akil2021_lif")
    model = DegreeModel.assortative(2.5, (0.6, 1.4))
    ref = solve(params, model)
    assert ref.summary().splitlines()[1] in out
    doc = json.loads(js.read_text())
    # the same deterministic computation; JSON keeps doubles exactly (repr round trip)
    assert [doc["results"]["populations"][p]["mean_rate"] for p in "EI"] == ref.mean_rate.tolist()
    assert doc["params"] == params.to_dict() and doc["model"] == model.spec
    assert doc["kind"] == "solve" and doc["seed"] is None and doc["seed_rule"] is None
    assert doc["version"] == meanfield.__version__
    assert doc["git_revision"] is None or re.fullmatch(r"[0-9a-f]{40}", doc["git_revision"])
    stored = load_result(npz)
    np.testing.assert_array_equal(stored.arrays["rate"], ref.rate)
    np.testing.assert_array_equal(stored.arrays["mu"], ref.mu)
    assert stored.params == params and stored.model.spec == model.spec
    assert stored.results == load_result(js).results


def test_solve_model_file_and_overrides(capsys, tmp_path):
    f = dump(tmp_path / "m.toml", NetworkParams.preset("akil2021_lif", N=2500),
             DegreeModel.recurrent_indegree("gamma", 0.3))
    rc, out, _ = run(capsys, "solve", "--model-file", f, "--json", tmp_path / "a.json")
    assert rc == 0 and "N = 2500" in out and "recurrent_indegree(dist='gamma', cv=0.3" in out
    assert json.loads((tmp_path / "a.json").read_text())["params"]["N"] == 2500
    rc, out, _ = run(capsys, "solve", "--model-file", f, "--N", 4000, "--model", "homogeneous",
                     "--json", tmp_path / "b.json")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert rc == 0 and doc["params"]["N"] == 4000 and doc["model"] == {"constructor": "homogeneous"}
    ref = solve(NetworkParams.preset("akil2021_lif", N=4000))
    assert doc["results"]["populations"]["E"]["mean_rate"] == ref.mean_rate[0]


def test_solver_failure_is_exit_code_1(capsys):
    # a 1 ns time budget cannot converge: the result says so and the exit code is 1
    rc, out, err = run(capsys, "solve", "--preset", "akil2021", "--time-budget", 1e-9)
    assert rc == 1 and "NOT CONVERGED" in out
    assert err.startswith("hetbalance solve: the solver did not converge: ")
    assert err.count("\n") == 1


# ============================================================================ bad input
def _bad_model_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[network]\npreset = "akil2021"\nq_E = "0.8"\n')
    return p


@pytest.mark.parametrize("argv, pattern", [
    (["solve", "--N", "5"], r"NetworkParams.N = 5 is out of range"),
    (["solve", "--preset", "nope"], r"invalid choice: 'nope'"),
    (["solve", "--c", "3"], r"--c applies to --model assortative only \(no --model given\)"),
    (["solve", "--model", "homogeneous", "--cv", "0.2"], r"--cv applies to"),
    (["solve", "--model", "recurrent_indegree", "--cv", "-1"], r"cv = -1.0 is out of range"),
    (["solve", "--model", "assortative", "--support", "0.6", "1.5"], r"mean 1"),
    (["solve", "--model-file", "MISSING"], r"missing.toml: cannot read the file"),
    (["solve", "--model-file", "BAD"], r"bad.toml, line 3, key network.q_E: q_E = '0.8'"),
    (["solve", "--preset", "akil2021", "--model-file", "BAD"], r"not allowed with argument"),
    (["solve", "--N", "ten"], r"invalid int value: 'ten'"),
    (["solve", "--tol", "0"], r"tol = 0.0 is out of range"),
    (["simulate", "--N", "100", "--T", "-1"], r"T = -1.0"),
    (["simulate", "--N", "100", "--T", "0.1", "--dt", "0.01"], r"dt"),
    (["simulate", "--N", "100", "--seed", "-3"], r"--seed: seed = -3 is out of range"),
    (["sweep", "--preset", "akil2021"], r"the following arguments are required: --Ns"),
    (["sweep", "--Ns", "5"], r"N = 5 is out of range"),
    (["sweep", "--Ns", "100", "--jobs", "0"], r"--jobs = 0"),
    (["figures", "--only", "fig9"], r"--only fig9 matches none"),
    (["frobnicate"], r"invalid choice: 'frobnicate'"),
])
def test_bad_input_is_exit_code_2_with_one_line(capsys, tmp_path, argv, pattern):
    subst = {"MISSING": str(tmp_path / "missing.toml"), "BAD": str(_bad_model_file(tmp_path))}
    rc, _, err = run(capsys, *[subst.get(a, a) for a in argv])
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("hetbalance"), err
    assert re.search(pattern, err), err


def test_no_command_is_exit_code_2(capsys):
    rc, _, err = run(capsys)
    assert rc == 2 and "choose a command" in err


def test_traceback_option_reraises(capsys):
    with pytest.raises(ValueError, match="NetworkParams.N = 5"):
        main(["--traceback", "solve", "--N", "5"])


# ============================================================================ simulate
def test_simulate_equals_library_same_seed_same_spikes(capsys, tmp_path):
    from graphs import sample_network
    from validation import simulate

    sim_settings = {"T": 0.3, "burn_in": 0.1, "seed": 5, "backend": "numpy"}
    f = dump(tmp_path / "m.toml", NetworkParams.preset("akil2021_lif", N=400),
             DegreeModel.assortative(3.0), sim_settings)
    js, npz = tmp_path / "sim.json", tmp_path / "sim.npz"
    rc, out, _ = run(capsys, "simulate", "--model-file", f, "--json", js, "--npz", npz)
    assert rc == 0 and "mean input from E / I / X" in out
    doc, stored = json.loads(js.read_text()), load_result(npz)
    assert doc["seed"] == 5 and doc["simulation"] == {**sim_settings, "dt": 1e-4}
    assert doc["seed_rule"] == SEED_RULE and stored.seed_rule == SEED_RULE
    # the same seed 5 goes to sample_network and simulate (streams "graph" and "noise")
    params, model = NetworkParams.preset("akil2021_lif", N=400), DegreeModel.assortative(3.0)
    net = sample_network(params, model, seed=5)
    sim = simulate(net, params, T=0.3, burn_in=0.1, seed=5, backend="numpy", progress=False)
    np.testing.assert_array_equal(stored.arrays["spike_ids"], sim.spike_ids)
    np.testing.assert_array_equal(stored.arrays["rate"], sim.rate)
    for a, p in enumerate("EI"):
        q = doc["results"]["populations"][p]
        # same mean over the same neurons: equal up to summation order (1e-12 relative)
        assert q["mean_rate"] == pytest.approx(sim.rate[sim.population == a].mean(), rel=1e-12)
        assert q["mean_input"]["X"] == pytest.approx(sim.mean_input[sim.population == a, 2].mean(),
                                                     rel=1e-12)
        assert f"{q['mean_rate']:.3f}" in out
    # command-line options override the file's [simulation] table
    rc, out, _ = run(capsys, "simulate", "--model-file", f, "--seed", 6, "--T", 0.2,
                     "--json", tmp_path / "b.json")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert rc == 0 and doc["seed"] == 6 and doc["simulation"]["T"] == 0.2


def test_simulate_compare_reports_theory(capsys, tmp_path):
    rc, out, _ = run(capsys, "simulate", "--preset", "akil2021_lif", "--N", 400, "--T", 0.3,
                     "--burn-in", 0.1, "--backend", "numpy", "--compare", "--json",
                     tmp_path / "c.json")
    doc = json.loads((tmp_path / "c.json").read_text())
    ref = solve(NetworkParams.preset("akil2021_lif", N=400))
    assert rc == 0 and "theory vs simulation" in out
    assert doc["results"]["theory"]["E"]["mean_rate"] == ref.mean_rate[0]


# ============================================================================ sweep
def test_sweep_solves_each_N_and_reuses_the_cache(capsys, tmp_path, case_b):
    argv = ["sweep", "--preset", "akil2021_lif", "--model", "recurrent_indegree", "--Ns", 1000,
            2000, 4000, "--cache", tmp_path / "cache", "--json", tmp_path / "s.json", "--npz",
            tmp_path / "s.npz"]
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and "3 points: 3 computed, 0 from cache" in out
    doc = json.loads((tmp_path / "s.json").read_text())
    model = case_b
    for point, N in zip(doc["results"]["points"], (1000, 2000, 4000)):
        ref = solve(NetworkParams.preset("akil2021_lif", N=N), model)
        assert point["N"] == N and point["E"]["mean_rate"] == ref.mean_rate[0]
    arrays = load_result(tmp_path / "s.npz").arrays
    assert arrays["mean_rate"].shape == (3, 2) and arrays["N"].tolist() == [1000, 2000, 4000]
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and "3 points: 0 computed, 3 from cache" in out
    # Case B breaks balance: the spread of mean inputs grows roughly like sqrt(N)
    assert 0.35 < doc["results"]["exponents"]["E"]["mu_spread"] < 0.75


def test_sweep_with_simulation(capsys, tmp_path):
    rc, out, _ = run(capsys, "sweep", "--preset", "akil2021_lif", "--Ns", 200, 400, "--simulate",
                     "--T", 0.2, "--burn-in", 0.05, "--backend", "numpy", "--seed", 3,
                     "--json", tmp_path / "s.json")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert rc == 0 and "sim_E" in out and doc["seed"] == 3
    assert all(p["E"]["sim_mean_rate"] > 0 for p in doc["results"]["points"])


def test_sweep_exits_1_when_a_point_does_not_converge(capsys, monkeypatch, tmp_path):
    import hetbalance._run as run_module
    from meanfield.scaling import fit_exponent

    real = run_module.solve

    def solve_failing_at_2000(params, model, **kw):
        return real(params, model, **dict(kw, time_budget=1e-9) if params.N == 2000 else kw)

    monkeypatch.setattr(run_module, "solve", solve_failing_at_2000)
    rc, out, err = run(capsys, "sweep", "--preset", "akil2021_lif", "--model",
                       "recurrent_indegree", "--Ns", 1000, 2000, 4000, 8000,
                       "--json", tmp_path / "s.json")
    assert rc == 1
    assert err == "hetbalance sweep: the solver did not converge at N = [2000]\n"
    doc = json.loads((tmp_path / "s.json").read_text())
    points = doc["results"]["points"]
    assert [p["converged"] for p in points] == [True, False, True, True]
    assert points[1]["status"] == "DEADLINE" and points[0]["status"] == "CONVERGED"
    # the exponents are fitted over the converged points only
    ok = [p for p in points if p["converged"]]
    for key in ("mu_spread", "mu_slope", "imbalance"):
        assert doc["results"]["exponents"]["E"][key] == fit_exponent(
            [p["N"] for p in ok], [p["E"][key] for p in ok])


def test_solver_options_reach_solve_and_failures_exit_1(capsys, tmp_path):
    # one Newton step cannot converge: every path of the method reports it with exit code 1
    rc, out, err = run(capsys, "sweep", "--preset", "akil2021_lif", "--Ns", 1000, 2000,
                       "--method", "newton", "--maxiter", 1)
    assert rc == 1 and err == "hetbalance sweep: the solver did not converge at N = [1000, 2000]\n"
    rc, out, err = run(capsys, "solve", "--preset", "akil2021_lif", "--method", "relaxation",
                       "--json", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())["results"]
    assert rc == 0 and doc["method"] == "relaxation" and doc["status"] == "CONVERGED"
    assert "(relaxation, " in out
    rc, out, err = run(capsys, "solve", "--preset", "akil2021_lif", "--method", "newton",
                       "--maxiter", 1)
    assert rc == 1 and "NOT CONVERGED (newton, 1 iterations" in out
    assert err.startswith("hetbalance solve: the solver did not converge: Newton from the "
                          "balanced limit: maxiter = 1 reached at relative residual ")


# ============================================================================ figures
def test_figures_delegates_to_paper_figures(capsys, monkeypatch, tmp_path):
    import paper_figures.__main__ as pf

    seen = []
    monkeypatch.setattr(pf, "main", lambda argv: seen.append(argv) or 1)
    rc, _, _ = run(capsys, "figures", "--quick", "--only", "fig1", "--out", tmp_path)
    assert rc == 1    # a failing claim is exit code 1, passed through
    assert seen == [["--quick", "--out", str(tmp_path), "--seed", "0", "--only", "fig1"]]


# ============================================================================ entry points
def test_python_m_and_console_script():
    proc = subprocess.run([sys.executable, "-m", "hetbalance", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("hetbalance ")
    script = pathlib.Path(sys.executable).with_name("hetbalance")
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([str(script), "presets"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("akil2021 ")


# ============================================================================ load_result
def test_load_result_checks_version_and_format(capsys, tmp_path):
    js, npz = tmp_path / "s.json", tmp_path / "s.npz"
    assert run(capsys, "solve", "--preset", "brunel_lif", "--json", js, "--npz", npz)[0] == 0
    ok = load_result(js)
    assert ok.kind == "solve" and ok.version == meanfield.__version__
    doc = json.loads(js.read_text())
    old = tmp_path / "old.json"
    old.write_text(json.dumps({**doc, "version": "0.0.1"}))
    with pytest.warns(ResultVersionWarning, match=r"written by hetbalance 0\.0\.1"):
        assert load_result(old).results == ok.results
    with pytest.raises(ValueError, match=r"written by hetbalance 0\.0\.1"):
        load_result(old, strict=True)
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**doc, "hetbalance_result": 99}))
    with pytest.raises(ValueError, match="result format 99.*upgrade"):
        load_result(newer)
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a hetbalance result file"):
        load_result(other)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ValueError, match="not a hetbalance result file"):
        load_result(junk)
    with pytest.raises(ValueError, match="cannot read result file"):
        load_result(tmp_path / "missing.json")
    assert load_result(npz).arrays["rate"].shape == (2, 1)   # homogeneous: one label


def test_git_revision(tmp_path):
    assert git_revision(tmp_path) is None                  # not a git work tree
    rev = git_revision()
    assert rev is None or re.fullmatch(r"[0-9a-f]{40}", rev)
