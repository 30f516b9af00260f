"""The computations behind the subcommands, as plain functions of parameter objects.

``run_solve``, ``run_simulate`` and ``sweep_point`` compute; ``solve_summary`` and
``simulation_summary`` turn results into (scalars, arrays) for printing and for the result
files. ``sweep_point`` is module-level so a process pool can pickle it and ``sweep`` can
hash it for its cache.
"""

from __future__ import annotations

import time

import numpy as np

from meanfield import POPULATIONS, SILENT_RATE, SOURCES, DegreeModel, NetworkParams
from meanfield.degree_space import MeanFieldResult, solve
from meanfield.diagnostics import fraction_below
from meanfield.roots import status_name


# =============================================================================== theory
def run_solve(params: NetworkParams, model: DegreeModel, options: dict) -> MeanFieldResult:
    """``meanfield.solve(params, model, **options)``."""
    return solve(params, model, **options)


def solve_summary(res: MeanFieldResult):
    """Scalars (JSON-friendly dict) and arrays (dict of ndarrays) of a theory result."""
    pops = {}
    for a, pop in enumerate(POPULATIONS):
        pops[pop] = {
            "mean_rate": res.mean_rate[a], "rate_min": np.nanmin(res.rate[a]),
            "rate_max": np.nanmax(res.rate[a]), "mu_min": np.nanmin(res.mu[a]),
            "mu_max": np.nanmax(res.mu[a]), "mu_spread": res.mu_spread[a],
            "mu_slope": res.mu_slope[a], "fraction_silent": res.fraction_silent[a],
            "fraction_saturated": res.fraction_saturated[a], "imbalance": res.imbalance[a],
            "rate_indegree_slope": res.rate_indegree_slope[a],
            "saturated_rate": res.saturated_rate[a],
            "R": {b: res.R[a, i] for i, b in enumerate(POPULATIONS)},
        }
    scalars = {"N": res.N, "model_name": res.model_name, "converged": res.converged,
               "status": status_name(res.status),
               "residual": res.residual, "iterations": res.iterations, "nfev": res.nfev,
               "method": res.method, "message": res.message, "filter": list(res.filter),
               "silent_rate": res.silent_rate, "wall_time": res.wall_time, "populations": pops}
    arrays = {k: np.asarray(getattr(res, k)) for k in
              ("rate", "mu", "sigma", "tau_s", "drive", "balance_index", "t", "weights", "label",
               "indegree", "mean_rate", "R", "fraction_silent", "mu_spread", "imbalance",
               "moments")}
    return scalars, arrays


def spatial_solve_summary(res):
    """Scalars and arrays of a spatial theory result (``meanfield.spatial.SpatialResult``)."""
    prof = res.profile
    pops = {pop: {"mean_rate": float(res.population_rates[a]),
                  "rate_min": float(prof[a].min()), "rate_max": float(prof[a].max()),
                  "limit_min": float(res.balanced[a].min()),
                  "limit_max": float(res.balanced[a].max())}
            for a, pop in enumerate(POPULATIONS)}
    scalars = {"N": res.N, "converged": res.converged, "residual": res.residual,
               "nfev": res.nfev, "message": res.message, "wall_time": res.time_s,
               "populations": pops}
    arrays = {k: np.asarray(getattr(res, k)) for k in
              ("positions", "kappa", "kappa_weights", "rates", "mu", "sigma", "balanced",
               "gains")}
    arrays["profile"] = prof
    return scalars, arrays


# =============================================================================== simulation
def spatial_rate_X(params: NetworkParams, model, net):
    """Per-source external rates (N_X,) of a spatial network with an input profile, or None.

    ``params.r_X`` times ``model.input_profile`` at the external neurons' positions (None
    when the model has no input profile: every source at ``r_X``).
    """
    from meanfield.spatial import SpatialModel, grid_positions

    if not isinstance(model, SpatialModel) or model.input_profile is None:
        return None
    sp = net.provenance["spatial"]
    x = (np.asarray(sp["x_positions"], float) if sp.get("x_positions") is not None
         else grid_positions(sp["x_side"], sp["dim"]))
    return params.r_X * model.ext_profile(x)


def run_simulate(params: NetworkParams, model: DegreeModel, settings: dict, *, progress=None,
                 graph: dict | None = None):
    """Sample a network from (params, model) and simulate it.

    Parameters
    ----------
    settings : dict
        ``T``, ``dt``, ``burn_in`` (s), ``seed`` (int >= 0), ``backend``. The same
        ``seed`` goes to ``sample_network`` and ``simulate``, which draw from its
        independent streams "graph" and "noise" (``meanfield.seeding``): the network and
        spikes equal those of the Python API with that seed.
    graph : dict, optional
        ``layout`` and ``construction`` for ``sample_network`` (spatial models only).

    Returns
    -------
    (network, SimulationResult, sample_seconds)
    """
    from graphs import sample_network
    from validation import simulate

    t0 = time.perf_counter()
    net = sample_network(params, model, seed=settings["seed"], **(graph or {}))
    t_sample = time.perf_counter() - t0
    sim = simulate(net, params, T=settings["T"], dt=settings["dt"], seed=settings["seed"],
                   burn_in=settings["burn_in"], backend=settings["backend"], progress=progress,
                   rate_X=spatial_rate_X(params, model, net))
    return net, sim, t_sample


def simulation_summary(sim, net):
    """Scalars and arrays of a simulation (population rates, CVs, mean inputs, balance)."""
    pops = {}
    for a, pop in enumerate(POPULATIONS):
        idx = sim.population == a
        rate = np.asarray(sim.rate)[idx]
        cv = np.asarray(sim.cv)[idx]
        inp = np.asarray(sim.mean_input)[idx]
        ok = np.isfinite(cv)
        bi = np.asarray(sim.balance_index)[idx]
        pops[pop] = {
            "n_neurons": int(idx.sum()),
            "mean_rate": rate.mean() if rate.size else np.nan,
            "sd_rate": rate.std() if rate.size else np.nan,
            "mean_cv": cv[ok].mean() if ok.any() else np.nan,
            "fraction_cv_defined": ok.mean() if cv.size else np.nan,
            "fraction_silent": fraction_below(rate, SILENT_RATE) if rate.size else np.nan,
            "mean_input": {s: inp[:, b].mean() if rate.size else np.nan
                           for b, s in enumerate(SOURCES)},
            "mean_net_input": inp.sum(axis=1).mean() if rate.size else np.nan,
            "sd_net_input": inp.sum(axis=1).std() if rate.size else np.nan,
            "median_balance_index": np.nanmedian(bi) if np.isfinite(bi).any() else np.nan,
        }
    scalars = {"N": sim.N, "T": sim.T, "dt": sim.dt, "t_start": sim.t_start,
               "t_stop": sim.t_stop, "complete": sim.complete, "message": sim.message,
               "backend": sim.backend, "wall_time": sim.wall_time,
               "n_spikes": int(sim.spike_ids.size), "n_synapses": net.n_synapses,
               "mean_rate": sim.mean_rate, "populations": pops}
    arrays = {"population": sim.population, "label": net.label, "k_in": net.k_in,
              "k_out": net.k_out, "rate": sim.rate, "cv": sim.cv, "mean_input": sim.mean_input,
              "spike_ids": sim.spike_ids, "spike_times": sim.spike_times}
    return scalars, arrays


# =============================================================================== sweep
def sweep_point(params: NetworkParams, model_spec: dict, N: int, solve_options: dict,
                simulation: dict | None = None) -> dict:
    """One rung of an N-ladder: theory (and optionally a simulation) at size N.

    Returns a dict of scalars: ``N``, ``converged``, ``message`` and per population
    (``"E"``, ``"I"``) the theory's ``mean_rate``, ``mu_spread``, ``mu_slope``,
    ``fraction_silent``, ``imbalance``, plus ``sim_mean_rate``, ``sim_mean_cv``,
    ``sim_fraction_silent``, ``sim_sd_net_input`` when ``simulation`` is given.
    """
    p = params.with_N(N)
    model = DegreeModel.from_spec(model_spec)
    res = solve(p, model, **solve_options)
    out = {"N": N, "converged": res.converged, "status": status_name(res.status),
           "message": res.message, "wall_time": res.wall_time}
    for a, pop in enumerate(POPULATIONS):
        out[pop] = {"mean_rate": float(res.mean_rate[a]), "mu_spread": float(res.mu_spread[a]),
                    "mu_slope": float(res.mu_slope[a]),
                    "fraction_silent": float(res.fraction_silent[a]),
                    "imbalance": float(res.imbalance[a])}
    if simulation is not None:
        net, sim, _ = run_simulate(p, model, simulation, progress=False)
        s, _ = simulation_summary(sim, net)
        out["sim_complete"] = bool(sim.complete)
        for pop in POPULATIONS:
            q = s["populations"][pop]
            out[pop].update(sim_mean_rate=float(q["mean_rate"]), sim_mean_cv=float(q["mean_cv"]),
                            sim_fraction_silent=float(q["fraction_silent"]),
                            sim_sd_net_input=float(q["sd_net_input"]))
    return out
