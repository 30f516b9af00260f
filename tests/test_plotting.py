"""plot() of MeanFieldResult, SimulationResult and Comparison: the axes hold the result's data.

Every check reads the data back from the matplotlib artists (line x/y data, scatter
offsets, histogram bar heights, error-bar segments) and compares them with the result's
arrays or with an independent recount of the spike record, so a plot of the wrong quantity,
the wrong population or a shifted neuron sample fails.
"""

import builtins
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from graphs import sample_network  # noqa: E402
from meanfield import DegreeModel, NetworkParams, solve  # noqa: E402
from validation import compare, simulate  # noqa: E402
from validation.plotting import raster_sample  # noqa: E402


@pytest.fixture(scope="module")
def pipeline():
    p = NetworkParams.preset("akil2021_lif")
    model = DegreeModel.recurrent_indegree("gamma", 0.2)
    th = solve(p, model, N=1000)
    net = sample_network(p, N=1000, model=model, seed=0)
    sim = simulate(net, T=0.6, burn_in=0.2, seed=1, backend="numpy")
    return th, net, sim, compare(th, sim, net, n_bins=5)


def test_mean_field_plot_lines_are_the_result_arrays(pipeline):
    th = pipeline[0]
    fig = th.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    axes = fig.axes
    assert len(axes) == 3
    for ax, name in zip(axes, ("rate", "mu", "sigma")):
        assert len(ax.lines) == 2
        for a in range(2):
            keep = np.flatnonzero(th.weights[a] > 0)
            keep = keep[np.argsort(th.label[a][keep], kind="stable")]
            line = ax.lines[a]
            np.testing.assert_array_equal(line.get_xdata(), th.label[a][keep])
            np.testing.assert_array_equal(line.get_ydata(), getattr(th, name)[a][keep])
            assert line.get_label() == "EI"[a]
    # the E and I rate profiles are different curves (catches plotting one population twice)
    assert not np.allclose(axes[0].lines[0].get_ydata(), axes[0].lines[1].get_ydata())
    assert "rate" in axes[0].get_ylabel() and "mV" in axes[1].get_ylabel()


def test_raster_sample_is_even_and_per_population():
    pop = np.r_[np.zeros(800, np.int8), np.ones(200, np.int8)]
    s = raster_sample(pop, 5)
    np.testing.assert_array_equal(s, [0, 200, 400, 599, 799, 800, 850, 900, 949, 999])
    np.testing.assert_array_equal(raster_sample(pop[:3], 10), [0, 1, 2])
    with pytest.raises(ValueError, match="n_per_population"):
        raster_sample(pop, 0)


def test_simulation_plot_raster_rates_and_histogram(pipeline):
    _, _, sim, _ = pipeline
    fig = sim.plot(n_raster=20, bin_width=0.02)
    ax_r, ax_t, ax_h = fig.axes
    sample = raster_sample(sim.population, 20)
    assert sample.size == 40
    # raster: recount independently, spike by spike, in the order of the record
    for a in range(2):
        rows, times = [], []
        for t, j in zip(sim.spike_times, sim.spike_ids):
            if j in sample and sim.population[j] == a:
                rows.append(int(np.flatnonzero(sample == j)[0]))
                times.append(t)
        off = ax_r.collections[a].get_offsets()
        assert off.shape == (len(times), 2) and len(times) > 0
        np.testing.assert_array_equal(off[:, 0], times)
        np.testing.assert_array_equal(off[:, 1], rows)
    # population rates: one line per population = binned_rate; the mean over the measured
    # window equals the population's mean rate (same spikes, same window: exact to rounding)
    for a in range(2):
        t, r = sim.binned_rate(0.02, population=a)
        line = ax_t.lines[a]
        np.testing.assert_array_equal(line.get_xdata(), t)
        np.testing.assert_array_equal(line.get_ydata(), r)
        in_window = t > sim.t_start
        assert np.mean(r[in_window]) == pytest.approx(sim.population_rate[a], rel=1e-12)
    # histogram: bar heights are the counts of the neurons' rates in each bin
    edges = np.linspace(0, sim.rate.max(), 41)
    for a in range(2):
        counts, _ = np.histogram(sim.rate[sim.population == a], bins=edges)
        patch = ax_h.patches[a]
        xy = patch.get_xy()          # step outline: heights at the top corners
        heights = xy[1:-1:2, 1][: counts.size]
        np.testing.assert_array_equal(heights, counts)
        assert counts.sum() == np.sum(sim.population == a)


def test_comparison_plot_bins_and_per_neuron_scatter(pipeline):
    th, net, sim, cmp = pipeline
    fig = cmp.plot()
    axes = np.array(fig.axes).reshape(2, 2)
    for a in range(2):
        pc = cmp.populations[a]
        ax_b, ax_n = axes[a]
        cont = ax_b.containers[0]
        data_line, _, (bars,) = cont
        np.testing.assert_array_equal(data_line.get_xdata(), pc.label_mean)
        np.testing.assert_array_equal(data_line.get_ydata(), pc.sim_rate)
        seg = np.array([s[:, 1] for s in bars.get_segments()])
        np.testing.assert_allclose(seg[:, 1] - seg[:, 0], 6 * pc.sim_se, rtol=1e-12)
        theory_line = ax_b.lines[-1]
        np.testing.assert_array_equal(theory_line.get_ydata(), pc.theory_rate)
        # per-neuron scatter: x = degree-space theory at the neuron's label, y = its rate
        idx = np.flatnonzero(net.population == a)
        off = ax_n.collections[0].get_offsets()
        np.testing.assert_array_equal(off[:, 1], sim.rate[idx])
        from validation.comparison import theory_at
        np.testing.assert_allclose(off[:, 0], theory_at(th, a, net.label[idx]), rtol=1e-12)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    from meanfield.plotting import require_matplotlib
    real_import = builtins.__import__

    def no_mpl(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_mpl)
    with pytest.raises(ImportError, match=r"pip install 'hetbalance\[figures\]'"):
        require_matplotlib()


def test_cli_solve_and_simulate_write_plots(tmp_path, capsys):
    from hetbalance.cli import main
    out = tmp_path / "theory.png"
    assert main(["solve", "--preset", "akil2021_lif", "--N", "1000", "--model", "recurrent_indegree",
                 "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    out2 = tmp_path / "sim.png"
    assert main(["simulate", "--preset", "akil2021_lif", "--N", "500", "--model", "recurrent_indegree",
                 "--T", "0.3", "--burn-in", "0.1", "--seed", "3", "--backend", "numpy",
                 "--compare", "--plot", str(out2)]) == 0
    assert out2.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out2.stat().st_size > 10_000
    cmp_png = tmp_path / "sim_compare.png"          # --compare: the comparison beside it
    assert cmp_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and cmp_png.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert all(f"wrote {f}" in printed for f in (out, out2, cmp_png))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.png", "sim_compare.png", "theory.png"]


def test_spatial_plots_hold_the_profiles(tmp_path, capsys):
    """SpatialResult.plot and SpatialSemiBalancedResult.plot: ring lines and torus maps are
    the results' own profiles (and mu, or the bracket of the limit)."""
    from hetbalance import cli
    from meanfield import semi_balanced, solve_spatial
    from meanfield.spatial import GaussianBump

    p = NetworkParams.preset("rosenbaum2017")
    bump = GaussianBump(0.5, 0.1, 1.0)
    ok_model = DegreeModel.spatial(1, 0.05, 0.1, input_profile=bump, n_side=64)
    th = solve_spatial(p, ok_model, N=20000)
    ax_rate, ax_mu = th.plot().axes
    assert len(ax_rate.lines) == 4 and len(ax_mu.lines) == 2       # + the balanced limit
    for a in range(2):
        np.testing.assert_array_equal(ax_rate.lines[a].get_xdata(), th.positions)
        np.testing.assert_array_equal(ax_rate.lines[a].get_ydata(), th.profile[a])
        np.testing.assert_array_equal(ax_rate.lines[2 + a].get_ydata(), th.balanced[a])
        np.testing.assert_allclose(ax_mu.lines[a].get_ydata(), th.mu[a, :, 0])
    assert ax_rate.lines[0].get_label() == "E" and ax_rate.lines[1].get_label() == "I"
    # ordering violated: no balanced profile to draw; the limit plots its rates and bracket
    bad_model = DegreeModel.spatial(1, 0.25, 0.1, input_profile=bump, n_side=64)
    th_bad = solve_spatial(p, bad_model, N=20000)
    assert len(th_bad.plot().axes[0].lines) == 2
    lim = semi_balanced(p, bad_model)
    ax_r, ax_b = lim.plot().axes
    for a in range(2):
        np.testing.assert_array_equal(ax_r.lines[a].get_ydata(), lim.rates[a, :, 0])
        np.testing.assert_array_equal(ax_b.lines[a].get_ydata(), lim.bracket[a, :, 0])
    assert "bracket" in ax_b.get_ylabel()
    # torus: maps with the first coordinate along the rows
    tor = solve_spatial(p, DegreeModel.spatial(2, 0.05, 0.1, input_profile=GaussianBump(0.3, 0.1, 1.0),
                                               n_side=16), N=20000)
    fig = tor.plot()
    imgs = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(imgs) == 2
    for a in range(2):
        np.testing.assert_array_equal(np.asarray(imgs[a].get_array()), tor.profile[a].reshape(16, 16))
    # the CLI writes the theory plot, and the limit's when no balanced profile exists
    out = tmp_path / "ring.png"
    assert cli.main(["solve", "--preset", "rosenbaum2017", "--N", "20000", "--model", "spatial",
                     "--sigma", "0.25", "--sigma-X", "0.1", "--n-side", "64",
                     "--bump", "0.5", "0.1", "1.0", "--plot", str(out)]) == 0
    capsys.readouterr()
    assert out.stat().st_size > 5000 and (tmp_path / "ring_limit.png").stat().st_size > 5000
