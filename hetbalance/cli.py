"""The ``hetbalance`` command line: solve, simulate, sweep, figures, presets.

Run ``hetbalance --help`` or ``hetbalance COMMAND --help``. Units everywhere: s, mV, Hz.

Exit codes: 0 success; 2 bad input (one line on stderr, no traceback; ``--traceback``
shows it); 1 a solver that did not converge, a simulation that failed or stopped early,
or a figure claim that failed; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import pathlib
import sys

import numpy as np

import meanfield
from meanfield import POPULATIONS, DegreeModel, NetworkParams
from meanfield.degree_space import SOLVE_METHODS
from meanfield.errors import ConvergenceError, ParameterError, ParameterTypeError
from graphs.io import atomic_open

from . import _run
from .modelfile import ModelFileError, dumps, load_model_file
from .results import git_revision, provenance, write_json, write_npz

__all__ = ["main", "build_parser"]

PROG = "hetbalance"
MODELS = ("homogeneous", "recurrent_indegree", "all_indegree", "assortative", "spatial")
DISTS = ("gamma", "lognormal", "normal", "uniform")
PRESET_DESCRIPTIONS = {
    "akil2021": "EIF network of Akil, Rosenbaum & Josic (2021)",
    "akil2021_lif": "akil2021 with LIF neurons (theta -55 mV, V_r -75 mV, tau_ref 1 ms)",
    "brunel_lif": "akil2021's network with Brunel's LIF (tau_m 20 ms, theta 20 mV, V_r 10 mV)",
    "lif_benchmark": "Brunel-style LIF benchmark (p_aX = 1, q_X = 0.1, r_X = 3 Hz)",
}


class UsageError(ValueError):
    """Options that do not fit together (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# =============================================================================== parser
def _add_network_options(p, *, with_N=True):
    g = p.add_argument_group("network and degree model")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--preset", choices=NetworkParams.presets(), metavar="NAME",
                     help="parameter preset, one of: " + ", ".join(NetworkParams.presets())
                     + " (default: akil2021 unless --model-file is given; list them with "
                       "'hetbalance presets')")
    src.add_argument("--model-file", metavar="F.toml",
                     help="TOML model file with [network], optional [model] and [simulation] "
                          "tables; numbers in s, mV, Hz (format: docs/tutorial.md, "
                          "hetbalance.modelfile)")
    if with_N:
        g.add_argument("--N", type=int, metavar="N",
                       help="network size N = N_E + N_I (neurons, integer >= 10); overrides "
                            "the preset or file; j, p, q are kept (balanced scaling, "
                            "J = j/sqrt(N))")
    g.add_argument("--model", choices=MODELS, metavar="MODEL",
                   help="degree model: " + ", ".join(MODELS) + " (default: the model file's "
                        "[model], else homogeneous); overrides the file's [model]")
    g.add_argument("--cv", type=float, metavar="CV",
                   help="coefficient of variation of the in-degree label (dimensionless, "
                        ">= 0; default 0.2, with --model spatial 0 = no degree factor); --model "
                        "recurrent_indegree, all_indegree or spatial only")
    g.add_argument("--dist", choices=DISTS, metavar="DIST",
                   help="distribution of the in-degree label (mean 1): " + ", ".join(DISTS)
                        + " (default gamma); --model recurrent_indegree, all_indegree or "
                          "spatial only")
    g.add_argument("--c", type=float, metavar="C",
                   help="assortativity c of the kernel m(t, t') = t t' + c (t-1)(t'-1) "
                        "(dimensionless; default 3.0); --model assortative only")
    g.add_argument("--support", type=float, nargs=2, metavar=("LO", "HI"),
                   help="uniform label support of --model assortative (dimensionless, "
                        "mean (LO+HI)/2 must be 1; default 0.5 1.5)")
    g.add_argument("--dim", type=int, metavar="D",
                   help="--model spatial: 1 (unit ring) or 2 (unit torus); default 1")
    g.add_argument("--sigma", type=float, nargs="+", metavar="S",
                   help="--model spatial (required): width of the recurrent wrapped-Gaussian "
                        "kernels, in units of the side length, in (0, 1]: one value for all "
                        "four pairs or two, sigma_E sigma_I, by presynaptic population")
    g.add_argument("--sigma-X", type=float, nargs="+", metavar="S", dest="sigma_X",
                   help="--model spatial (required): width of the external kernels, (0, 1]: "
                        "one value or two, sigma_EX sigma_IX")
    g.add_argument("--n-side", type=int, metavar="M",
                   help="--model spatial: theory grid points per dimension (default 256 on "
                        "the ring, 64 on the torus)")
    g.add_argument("--bump", type=float, nargs=3, metavar=("CENTRE", "WIDTH", "AMPLITUDE"),
                   help="--model spatial: localised input r_X(x) = r_X (1 + AMPLITUDE "
                        "exp(-d^2 / (2 WIDTH^2))), d the distance to CENTRE (units of the side "
                        "length; default: uniform input)")


def _add_solver_options(p):
    g = p.add_argument_group("theory (meanfield.solve)")
    g.add_argument("--filter", choices=("auto", "white", "fourcaud_brunel", "colored"),
                   default="auto",
                   help="synaptic filtering of the transfer function: white (delta "
                        "synapses), fourcaud_brunel (LIF threshold shift), colored (LIF and "
                        "EIF rate under filtered noise, meanfield.colored_rate); auto = "
                        "colored wherever tau_syn > 0 (default auto)")
    g.add_argument("--n-nodes", "--nodes", type=int, metavar="N", dest="n_nodes",
                   help="quadrature nodes per population on the label distribution "
                        "(integer >= 1; default: the model's, 64; --nodes is the old "
                        "spelling)")
    g.add_argument("--tol", type=float, default=1e-9, metavar="TOL",
                   help="relative residual max|F|/max|G| of the self-consistency at which "
                        "the solver stops (dimensionless, > 0; default 1e-9)")
    g.add_argument("--time-budget", type=float, default=120.0, metavar="SECONDS",
                   help="wall-time limit of the solver, s (> 0; default 120)")
    g.add_argument("--method", choices=SOLVE_METHODS, default="auto",
                   help="root-finding method (meanfield.roots.METHODS): auto = Newton, then "
                        "pseudo-time relaxation, then continuation in N (default auto)")
    g.add_argument("--maxiter", type=int, metavar="N",
                   help="iterations per attempt of the method (integer >= 1; default: the "
                        "method's own, 60 for Newton, 500 for relaxation)")
    g.add_argument("--spread", action="store_true",
                   help="include the spread of mean input within a label (rate quantiles, "
                        "no-spike fractions; docs/theory.md section 10)")
    g.add_argument("--fano", metavar="RULE",
                   help="presynaptic spike-train variance factors: 'renewal' (self-consistent "
                        "ISI CV^2; with --spread the default where it predicts sub-Poisson "
                        "trains), 'poisson' (the default without --spread), or F_E,F_I (numbers "
                        "in (0, 10]; docs/theory.md section 10)")


def _add_simulation_options(p):
    g = p.add_argument_group("simulation (graphs.sample_network + validation.simulate)")
    g.add_argument("--T", type=float, metavar="SECONDS",
                   help="simulated duration, s (> 0, a multiple of dt; default: the model "
                        "file's [simulation] T, else 1.0)")
    g.add_argument("--dt", type=float, metavar="SECONDS",
                   help="Euler time step, s (default: the file's, else 1e-4 = 0.1 ms; at most "
                        "tau_syn/5, tau_m/5 and tau_ref)")
    g.add_argument("--burn-in", type=float, metavar="SECONDS",
                   help="start of the measurement window, s (in [0, T), a multiple of dt; "
                        "default: the file's, else 0.2); rates, CVs and mean inputs are "
                        "measured over (burn-in, T]")
    g.add_argument("--seed", type=int, metavar="SEED",
                   help="integer >= 0 (default: the file's, else 0); the graph and the noise "
                        "use its independent streams 'graph' and 'noise', as "
                        "sample_network(seed=SEED) and simulate(seed=SEED) do")
    g.add_argument("--backend", choices=("auto", "numpy", "numba"),
                   help="simulation kernel (default: the file's, else auto = numba if "
                        "installed)")
    g.add_argument("--layout", choices=("grid", "random"),
                   help="spatial models only: neurons on regular grids (default; N_E, N_I, N_X "
                        "must be squares on the torus) or at independent uniform positions "
                        "(graphs.sample_spatial_network)")
    g.add_argument("--construction", choices=("bernoulli", "fixed_outdegree"),
                   help="spatial models only: independent connections with probability "
                        "p g(x - x') (default), or the authors' construction, each neuron "
                        "making exactly ceil(p N_post) projections (multapses allowed)")


def _add_output_options(p, what: str, *, plot: bool = False):
    g = p.add_argument_group("output")
    g.add_argument("--json", metavar="PATH",
                   help=f"write {what} scalars with provenance (params, model spec, seed, "
                        "version, git revision) as JSON (NaN written as null)")
    g.add_argument("--npz", metavar="PATH",
                   help=f"write {what} arrays with the same provenance as a compressed numpy "
                        "npz (read back with hetbalance.load_result)")
    if not plot:
        return
    g.add_argument("--plot", metavar="FILE.png",
                   help=f"plot the {what} result to FILE (format from the suffix: png, pdf, "
                        "svg); needs matplotlib, pip install 'hetbalance[figures]'"
                   + (". With --compare, the comparison goes to FILE_compare.png"
                      if what == "simulation" else ""))


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``hetbalance`` command."""
    rev = git_revision()
    version = f"{PROG} {meanfield.__version__}" + (f" (git {rev[:12]})" if rev else "")
    ap = _Parser(prog=PROG, description=(
        "Heterogeneous mean-field theory of balanced E/I spiking networks: solve the "
        "degree-space theory, simulate sampled networks, sweep N, regenerate the figures. "
        "Units: s, mV, Hz. Exit codes: 0 ok, 2 bad input, 1 solver/simulation/claim failure."))
    ap.add_argument("--version", action="version", version=version)
    ap.add_argument("--traceback", action="store_true",
                    help="show the Python traceback of an error instead of one line")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("solve", help="degree-space mean-field theory at finite N",
                       description="Solve the degree-space self-consistency r_a(t) = "
                                   "Phi(mu_a(t), sigma_a(t)) at finite N and print rates, mean "
                                   "inputs and balance diagnostics per population.")
    _add_network_options(p)
    _add_solver_options(p)
    _add_output_options(p, "theory", plot=True)
    p.set_defaults(handler=_cmd_solve)

    p = sub.add_parser("simulate", help="sample a network and simulate it",
                       description="Sample a network from the degree model "
                                   "(graphs.sample_network) and simulate it "
                                   "(validation.simulate); print population rates, ISI CVs and "
                                   "mean inputs by source (E, I, X).")
    _add_network_options(p)
    _add_simulation_options(p)
    p.add_argument("--compare", action="store_true",
                   help="also solve the theory and print theory against simulation in label "
                        "bins (validation.compare)")
    _add_output_options(p, "simulation", plot=True)
    p.set_defaults(handler=_cmd_simulate)

    p = sub.add_parser("sweep", help="an N-ladder of solve (and optionally simulate)",
                       description="Solve (and with --simulate also simulate) at each N of a "
                                   "ladder with j, p, q fixed (validation.sweep), print the "
                                   "diagnostics per N and their scaling exponents with N.")
    _add_network_options(p, with_N=False)
    p.add_argument("--Ns", type=int, nargs="+", required=True, metavar="N",
                   help="network sizes (neurons, integers >= 10), e.g. --Ns 2500 5000 10000")
    p.add_argument("--simulate", action="store_true",
                   help="also sample and simulate a network at each N")
    p.add_argument("--cache", metavar="DIR",
                   help="on-disk cache folder: finished points are stored as they finish and "
                        "reused by a rerun (keys: content hash of the inputs and version)")
    p.add_argument("--jobs", type=int, default=1, metavar="J",
                   help="worker processes (integer >= 1; default 1 = in this process)")
    _add_solver_options(p)
    _add_simulation_options(p)
    _add_output_options(p, "per-N")
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("figures", help="regenerate the paper figures and check their claims",
                       description="Run paper_figures (python -m paper_figures): compute, plot "
                                   "(PNG and PDF) and check every claim; exit code 1 if a "
                                   "claim fails. Without matplotlib (pip install "
                                   "'hetbalance[figures]') the claims are still computed and "
                                   "checked, and no picture is drawn.")
    p.add_argument("--quick", action="store_true",
                   help="reduced sizes and durations (about a minute a figure)")
    p.add_argument("--out", default="figures", metavar="DIR",
                   help="output folder for PNG and PDF (default: figures)")
    p.add_argument("--only", nargs="+", metavar="FIG",
                   help="subset of the figures, by name or prefix (fig0, fig1, fig2, fig3)")
    p.add_argument("--seed", type=int, default=0, metavar="SEED",
                   help="seed of every random draw (integer >= 0; default 0)")
    p.set_defaults(handler=_cmd_figures)

    p = sub.add_parser("presets", help="list the parameter presets",
                       description="List the presets, one line each: neuron models, N, "
                                   "external rate r_X (Hz) and the balanced-limit rates "
                                   "r_inf = -W^-1 X (Hz).")
    p.add_argument("--toml", metavar="NAME", choices=NetworkParams.presets(),
                   help="instead, print preset NAME as a complete model file (every field, in "
                        "s, mV, Hz) to start your own from")
    p.set_defaults(handler=_cmd_presets)
    return ap


# =============================================================================== setup
def _cli_model(args):
    """Return the DegreeModel the --model/--cv/--dist/--c/--support options ask for, or None."""
    flags = {"--cv": args.cv, "--dist": args.dist, "--c": args.c, "--support": args.support,
             "--dim": args.dim, "--sigma": args.sigma, "--sigma-X": args.sigma_X,
             "--n-side": args.n_side, "--bump": args.bump}
    uses = {"--cv": ("recurrent_indegree", "all_indegree", "spatial"),
            "--dist": ("recurrent_indegree", "all_indegree", "spatial"),
            "--c": ("assortative",), "--support": ("assortative",),
            **{k: ("spatial",) for k in ("--dim", "--sigma", "--sigma-X", "--n-side", "--bump")}}
    for flag, value in flags.items():
        if value is not None and args.model not in uses[flag]:
            got = "no --model given" if args.model is None else f"got --model {args.model}"
            raise UsageError(f"{flag} applies to --model {' or '.join(uses[flag])} only "
                             f"({got})")
    if args.model is None:
        return None
    if args.model == "homogeneous":
        return DegreeModel.homogeneous()
    if args.model == "assortative":
        support = (0.5, 1.5) if args.support is None else tuple(args.support)
        return DegreeModel.assortative(3.0 if args.c is None else args.c, support)
    if args.model == "spatial":
        return _spatial_cli_model(args)
    ctor = getattr(DegreeModel, args.model)
    return ctor(args.dist or "gamma", 0.2 if args.cv is None else args.cv)


def _spatial_cli_model(args):
    """``DegreeModel.spatial`` from --dim, --sigma, --sigma-X, --cv, --dist, --n-side, --bump."""
    from meanfield.spatial import GaussianBump

    for flag, value in (("--sigma", args.sigma), ("--sigma-X", args.sigma_X)):
        if value is None:
            raise UsageError(f"--model spatial needs {flag} (kernel width(s) in units of the "
                             f"side length, in (0, 1])")
        if len(value) > 2:
            raise UsageError(f"{flag} takes one or two values, got {len(value)}")
    sig = args.sigma[0] if len(args.sigma) == 1 else tuple(args.sigma)
    sig_X = args.sigma_X[0] if len(args.sigma_X) == 1 else tuple(args.sigma_X)
    kw = {}
    if args.cv is not None:
        kw["kappa_cv"] = args.cv
        kw["kappa"] = args.dist or "gamma"
    elif args.dist is not None:
        raise UsageError("--dist with --model spatial needs --cv (the CV of the degree factor)")
    if args.n_side is not None:
        kw["n_side"] = args.n_side
    if args.bump is not None:
        kw["input_profile"] = GaussianBump(*args.bump)
    return DegreeModel.spatial(1 if args.dim is None else args.dim, sig, sig_X, **kw)


def _is_spatial(model) -> bool:
    return model.spec.get("constructor") == "spatial"


def _setup(args):
    """(params, model, file's simulation settings, description of the source)."""
    if args.model_file:
        mf = load_model_file(pathlib.Path(args.model_file))
        params, model, sim, source = mf.params, mf.model, dict(mf.simulation), args.model_file
    else:
        name = args.preset or "akil2021"
        params, model, sim, source = (NetworkParams.preset(name), DegreeModel.homogeneous(), {},
                                      f"preset {name}")
    if getattr(args, "N", None) is not None:
        params = params.with_N(args.N)
    model = _cli_model(args) or model
    return params, model, sim, source


def _simulation_settings(args, params, from_file: dict) -> dict:
    """Defaults, then the model file's [simulation], then the options; checked as by simulate."""
    from validation.simulator import SIMULATION_DEFAULTS, check_settings

    options = {k: getattr(args, k) for k in SIMULATION_DEFAULTS if getattr(args, k) is not None}
    try:
        return check_settings(params, **{**SIMULATION_DEFAULTS, **from_file, **options})
    except (ParameterError, ParameterTypeError) as exc:
        if exc.field in options:
            raise UsageError(f"--{exc.field.replace('_', '-')}: {exc}") from exc
        raise


def _solve_options(args) -> dict:
    opts = {"filter": args.filter, "tol": args.tol, "time_budget": args.time_budget}
    if args.n_nodes is not None:
        opts["n_nodes"] = args.n_nodes
    # defaults stay out of the options: a sweep's cache keys hash them
    if args.method != "auto":
        opts["method"] = args.method
    if args.maxiter is not None:
        opts["maxiter"] = args.maxiter
    if getattr(args, "spread", False):
        opts["spread"] = True
    fano = getattr(args, "fano", None)
    if fano is not None:
        if fano in ("renewal", "poisson"):
            opts["fano"] = fano
        else:
            try:
                opts["fano"] = tuple(float(x) for x in fano.split(","))
            except ValueError:
                raise UsageError(f"--fano {fano!r}: expected 'renewal', 'poisson' or F_E,F_I "
                                 f"(numbers in (0, 10])") from None
    return opts


def _describe_model(model: DegreeModel) -> str:
    spec = model.spec
    args = ", ".join(f"{k}={v!r}" for k, v in spec.items() if k != "constructor" and v is not None)
    return f"{spec.get('constructor', model.name)}({args})"


def _header(cmd, params, model, source):
    return (f"hetbalance {cmd}: {source}; network {params.name!r} "
            f"({params.neuron_E.kind}/{params.neuron_I.kind}), N = {params.N} "
            f"(N_E = {params.N_E}, N_I = {params.N_I}, N_X = {params.N_X}); model "
            f"{_describe_model(model)}")


def _write(args, kind, params, model, scalars, arrays, *, seed=None, simulation=None, argv):
    if not (args.json or args.npz):
        return
    meta = provenance(kind, params, model, seed=seed, simulation=simulation,
                      argv=[PROG, *argv] if argv is not None else None)
    if args.json:
        print(f"wrote {write_json(args.json, meta, scalars)}")
    if args.npz:
        print(f"wrote {write_npz(args.npz, meta, scalars, arrays)}")


def _save_plot(fig, path):
    """Save a Figure through ``atomic_open`` (format from the suffix) and say where."""
    path = pathlib.Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_open(path) as fh:
        fig.savefig(fh, format=fmt, dpi=120)
    print(f"wrote {path}")


# =============================================================================== commands
def _print_spatial_theory(res):
    print(f"spatial theory (meanfield.solve_spatial): N = {res.N}, {res.positions.shape[0]} "
          f"grid positions, {'converged' if res.converged else 'did NOT converge'} (residual "
          f"{res.residual:.2g}, {res.nfev} map evaluations, {res.time_s:.2f} s)")
    print(f"{'pop':<4} {'rate (Hz)':>10} {'min':>8} {'max':>8}   balanced limit min / max (Hz)")
    prof = res.profile
    for a, pop in enumerate(POPULATIONS):
        print(f"{pop:<4} {res.population_rates[a]:>10.4f} {prof[a].min():>8.4f} "
              f"{prof[a].max():>8.4f}   {res.balanced[a].min():.4f} / {res.balanced[a].max():.4f}")


def _print_spatial_comparison(cmp, dim):
    """Theory against simulation by position bin (each bin on the ring; a summary on the torus)."""
    for pc in cmp.populations:
        agree = pc.agreement()
        judged = (pc.count >= 200) & (pc.theory_rate >= 1.0)
        print(f"{pc.population}: {len(pc.count)} position bins, {int(judged.sum())} judged (>= 200 "
              f"neurons, theory >= 1 Hz), {int((agree & judged).sum())} agree within max(10%, "
              f"0.3 Hz, 3 SE); spread of net mean input across bins {pc.net_input_spread:.3g} mV")
        if dim != 1:
            continue
        print(f"  {'x':>6} {'count':>6} {'sim (Hz)':>9} {'SE':>6} {'theory':>8} {'limit':>8}")
        for i in range(len(pc.count)):
            print(f"  {pc.centers[i]:>6.3f} {int(pc.count[i]):>6} {pc.sim_rate[i]:>9.3f} "
                  f"{pc.sim_se[i]:>6.3f} {pc.theory_rate[i]:>8.3f} {pc.limit_rate[i]:>8.3f}"
                  + ("" if agree[i] else "  disagrees"))


def _cmd_solve_spatial(args, argv, params, model) -> int:
    res = _run.run_solve(params, model, {"filter": args.filter, "tol": args.tol,
                                         **({"maxiter": args.maxiter} if args.maxiter else {})})
    _print_spatial_theory(res)
    scalars, arrays = _run.spatial_solve_summary(res)
    if np.min(res.balanced) < 0:
        # no balanced profile (the ordering of the widths is violated): the limit is semi-balanced
        from meanfield.spatial_limit import semi_balanced_spatial
        lim = semi_balanced_spatial(params, model)
        print(f"no balanced profile exists (negative per-mode limit); N -> infinity limit "
              f"(meanfield.semi_balanced_spatial, {lim.positions.shape[0]} positions): mean rates "
              f"E {lim.mean_rate[0]:.4f}, I {lim.mean_rate[1]:.4f} Hz, active fraction "
              f"E {lim.active_fraction[0]:.3g}, I {lim.active_fraction[1]:.3g}; {lim.message}")
        scalars["semi_balanced_limit"] = lim.to_dict()
        arrays["semi_balanced_profile"] = lim.profile
        if args.plot:
            stem = pathlib.Path(args.plot)
            _save_plot(lim.plot(), stem.with_name(stem.stem + "_limit" + stem.suffix))
    if args.plot:
        _save_plot(res.plot(), args.plot)
    _write(args, "solve", params, model, scalars, arrays, argv=argv)
    if not res.converged:
        print(f"hetbalance solve: the spatial solver did not converge: {res.message}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_solve(args, argv) -> int:
    params, model, _, source = _setup(args)
    print(_header("solve", params, model, source))
    if _is_spatial(model):
        return _cmd_solve_spatial(args, argv, params, model)
    res = _run.run_solve(params, model, _solve_options(args))
    print(res.summary())
    pops = "; ".join(f"{pop}: balance index {np.nanmedian(res.balance_index[a]):.3g}, "
                     f"imbalance {res.imbalance[a]:.3g}, mu spread {res.mu_spread[a]:.3g} mV"
                     for a, pop in enumerate(POPULATIONS))
    print(f"  balance: {pops}")
    scalars, arrays = _run.solve_summary(res)
    _write(args, "solve", params, model, scalars, arrays, argv=argv)
    if args.plot:
        _save_plot(res.plot(), args.plot)
    if not res.converged:
        # res.message of a result that did not converge starts "did not converge: "
        print(f"hetbalance solve: the solver {res.message}", file=sys.stderr)
        return 1
    return 0


def _cmd_simulate(args, argv) -> int:
    from validation import SimulationError
    from validation.comparison import compare

    params, model, from_file, source = _setup(args)
    settings = _simulation_settings(args, params, from_file)
    graph = {k: getattr(args, k) for k in ("layout", "construction") if getattr(args, k) is not None}
    if graph and not _is_spatial(model):
        raise UsageError(f"--{next(iter(graph))} applies to spatial models only (--model spatial "
                         f"or a model file with constructor = \"spatial\")")
    if _is_spatial(model) and args.plot and args.compare:
        raise UsageError("--plot with --compare is not available for spatial models (the "
                         "comparison is printed by position bin)")
    print(_header("simulate", params, model, source))
    print(f"simulation: T = {settings['T']:g} s, dt = {settings['dt']:g} s, burn-in "
          f"{settings['burn_in']:g} s, seed {settings['seed']}, backend {settings['backend']}")
    try:
        net, sim, t_sample = _run.run_simulate(params, model, settings, graph=graph)
    except SimulationError as exc:
        print(f"hetbalance simulate: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    scalars, arrays = _run.simulation_summary(sim, net)
    print(f"network: {net.N} neurons, {net.n_synapses} recurrent synapses (sampled in "
          f"{t_sample:.2f} s); simulated in {sim.wall_time:.2f} s with {sim.backend}; "
          f"{scalars['n_spikes']} spikes in ({sim.t_start:g}, {sim.t_stop:g}] s")
    print(f"{'pop':<4} {'rate (Hz)':>10} {'ISI CV':>7} {'silent':>7}   "
          f"mean input from E / I / X = net (mV)")
    for pop in POPULATIONS:
        q = scalars["populations"][pop]
        mi = q["mean_input"]
        print(f"{pop:<4} {q['mean_rate']:>10.3f} {q['mean_cv']:>7.3f} {q['fraction_silent']:>7.3f}"
              f"   {mi['E']:+8.2f} / {mi['I']:+8.2f} / {mi['X']:+8.2f} = "
              f"{q['mean_net_input']:+.2f}")
    if args.compare and _is_spatial(model):
        th = _run.run_solve(params, model, {})
        _print_spatial_theory(th)
        cmp = compare(th, sim, net)
        _print_spatial_comparison(cmp, model.space_dim)
        scalars["theory"] = {pop: {"mean_rate": float(th.population_rates[a]),
                                   "converged": bool(th.converged),
                                   "bins_agree": int(cmp[pop].agreement().sum()),
                                   "n_bins": int(len(cmp[pop].count)),
                                   "net_input_spread": float(cmp[pop].net_input_spread)}
                             for a, pop in enumerate(POPULATIONS)}
    elif args.compare:
        th = _run.run_solve(params, model, {})
        cmp = compare(th, sim, net)
        print(cmp.summary())
        scalars["theory"] = {pop: {"mean_rate": float(th.mean_rate[a]),
                                   "converged": bool(th.converged)}
                             for a, pop in enumerate(POPULATIONS)}
        for a, pop in enumerate(POPULATIONS):
            pc = cmp.populations[a]
            scalars["theory"][pop].update(theory_slope=pc.theory_slope, sim_slope=pc.sim_slope)
        if args.plot:
            p = pathlib.Path(args.plot)
            _save_plot(cmp.plot(), p.with_name(f"{p.stem}_compare{p.suffix}"))
    if args.plot:
        _save_plot(sim.plot(), args.plot)
    _write(args, "simulate", params, model, scalars, arrays, seed=settings["seed"],
           simulation=settings, argv=argv)
    if not sim.complete:
        print(f"hetbalance simulate: the simulation stopped early: {sim.message}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_sweep(args, argv) -> int:
    from meanfield.scaling import fit_exponent
    from validation import sweep

    params, model, from_file, source = _setup(args)
    if args.jobs < 1:
        raise UsageError(f"--jobs = {args.jobs} is out of range; allowed: integers >= 1")
    if model.spec.get("constructor") not in MODELS + ("separable",) or _is_spatial(model):
        raise UsageError(f"model {model.name!r} cannot be swept ("
                         + ("spatial models: use meanfield.solve_spatial in a loop)"
                            if _is_spatial(model) else "no serialisable spec)"))
    for flag in ("layout", "construction"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} applies to spatial models only, which cannot be swept")
    settings = _simulation_settings(args, params, from_file) if args.simulate else None
    print(_header("sweep", params, model, source))
    points = [dict(params=params, model_spec=model.spec, N=int(N),
                   solve_options=_solve_options(args), simulation=settings) for N in args.Ns]
    executor = "serial" if args.jobs == 1 else cf.ProcessPoolExecutor(max_workers=args.jobs)
    try:
        res = sweep(_run.sweep_point, points, executor=executor, cache_dir=args.cache)
    finally:
        if executor != "serial":
            executor.shutdown()
    rows = [r for r in res.results if r is not None]
    head = (f"{'N':>8} {'conv':>5} {'rate_E':>8} {'rate_I':>8} {'mu_spread_E':>11} "
            f"{'mu_slope_E':>10} {'silent_E':>8} {'imbal_E':>8}")
    if args.simulate:
        head += f" {'sim_E':>7} {'sim_I':>7} {'sim_silent_E':>12}"
    print(head)
    for r in rows:
        E, I_ = r["E"], r["I"]
        line = (f"{r['N']:>8} {str(r['converged']):>5} {E['mean_rate']:>8.4g} "
                f"{I_['mean_rate']:>8.4g} {E['mu_spread']:>11.4g} {E['mu_slope']:>10.4g} "
                f"{E['fraction_silent']:>8.4f} {E['imbalance']:>8.3g}")
        if args.simulate:
            line += (f" {E['sim_mean_rate']:>7.3f} {I_['sim_mean_rate']:>7.3f} "
                     f"{E['sim_fraction_silent']:>12.4f}")
        print(line)
    Ns = [r["N"] for r in rows if r["converged"]]
    exponents = {pop: {key: fit_exponent(Ns, [r[pop][key] for r in rows if r["converged"]])
                       for key in ("mu_spread", "mu_slope", "imbalance", "fraction_silent")}
                 for pop in POPULATIONS}
    print("scaling exponents e of |x| ~ N^e (balanced ~ 0 for mu_spread/mu_slope and -0.5 for "
          "imbalance; broken ~ 0.5 and 0):")
    for pop in POPULATIONS:
        print(f"  {pop}: " + ", ".join(f"{k} {v:.3g}" for k, v in exponents[pop].items()))
    n_cached = sum(res.from_cache)
    print(f"{len(res)} points: {len(res) - n_cached} computed, {n_cached} from cache"
          + (f" ({args.cache})" if args.cache else "") + f", {res.wall_time:.1f} s")
    scalars = {"points": rows, "exponents": exponents, "n_points": len(res),
               "n_from_cache": n_cached, "cache": args.cache, "complete": res.complete}
    keys = ("mean_rate", "mu_spread", "mu_slope", "fraction_silent", "imbalance")
    if args.simulate:
        keys += ("sim_mean_rate", "sim_mean_cv", "sim_fraction_silent", "sim_sd_net_input")
    arrays = {"N": np.array([r["N"] for r in rows]),
              "converged": np.array([r["converged"] for r in rows])}
    for k in keys:
        arrays[k] = np.array([[r[pop][k] for pop in POPULATIONS] for r in rows], dtype=float)
    _write(args, "sweep", params, model, scalars, arrays,
           seed=None if settings is None else settings["seed"], simulation=settings, argv=argv)
    failed = [r["N"] for r in rows if not r["converged"]]
    if failed or not res.complete:
        print(f"hetbalance sweep: the solver did not converge at N = {failed}"
              if failed else "hetbalance sweep: the sweep did not complete", file=sys.stderr)
        return 1
    return 0


def _cmd_figures(args, argv) -> int:
    from paper_figures.__main__ import FIGURES
    from paper_figures.__main__ import main as figures_main

    if args.only:
        bad = [o for o in args.only if not any(f == o or f.startswith(o) for f in FIGURES)]
        if bad:
            raise UsageError(f"--only {' '.join(bad)} matches none of {', '.join(FIGURES)}")
    if args.seed < 0:
        raise UsageError(f"--seed = {args.seed} is out of range; allowed: integers >= 0")
    fig_argv = (["--quick"] if args.quick else []) + ["--out", args.out, "--seed", str(args.seed)]
    if args.only:
        fig_argv += ["--only", *args.only]
    try:
        return int(figures_main(fig_argv) or 0)
    except SystemExit as exc:  # its argparse
        return exc.code if isinstance(exc.code, int) else 2


def _cmd_presets(args, argv) -> int:
    from meanfield import balanced_rates
    from validation.simulator import SIMULATION_DEFAULTS

    if args.toml:
        sys.stdout.write(dumps(NetworkParams.preset(args.toml), DegreeModel.homogeneous(),
                               SIMULATION_DEFAULTS))
        return 0
    for name in NetworkParams.presets():
        p = NetworkParams.preset(name)
        try:
            r = balanced_rates(p)
            r_inf = f"r_inf = ({r[0]:.3g}, {r[1]:.3g}) Hz"
        except ValueError:
            r_inf = "r_inf = undefined"
        r_X = f"r_X = {p.r_X:g} Hz"
        print(f"{name:<14} {p.neuron_E.kind}/{p.neuron_I.kind}  N = {p.N:<6} {r_X:<13} "
              f"{r_inf}  {PRESET_DESCRIPTIONS.get(name, '')}".rstrip())
    return 0


# =============================================================================== main
def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv=None) -> int:
    """Run the ``hetbalance`` command line; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 2 bad input, 1 solver/simulation/claim failure, 130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:   # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: choose a command: solve, simulate, sweep, figures or presets "
              f"(see {PROG} --help)", file=sys.stderr)
        return 2
    try:
        return args.handler(args, argv)
    except ConvergenceError as exc:
        if args.traceback:
            raise
        print(f"{PROG} {args.command}: solver failure: {_one_line(exc)}", file=sys.stderr)
        return 1
    except (UsageError, ModelFileError, ValueError, TypeError, OSError, ImportError) as exc:
        if args.traceback:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
