"""Simulation cost of the spatial ``rosenbaum2017`` network: hetbalance against Brian2, one run.

One invocation samples the ``rosenbaum2017`` torus (docs/theory.md section 12; EIF neurons,
three synaptic time constants, the authors' fixed-out-degree construction,
``DegreeModel.spatial(2, sigma_rec, 0.1)``) once, saves it, and simulates exactly that graph
with uniform external input (independent Poisson input of ``k_X r_X`` per neuron) in two
subprocesses, one after the other:

* hetbalance ``simulate`` (numba backend by default, ``external="poisson"``);
* Brian2 2.9, runtime mode (``validation.to_brian2``, cython code generation by default):
  the same neurons, synapses, weights and Euler step (docs/theory.md section 8.2 and the
  module docstring of ``validation.brian2_export``).

It prints the build times (graph sampling; building the network in each simulator), the
wall time per biological second of each, their ratio, the population rates, and the peak
resident memory of each worker process (``resource.getrusage``). The worker harness
(subprocess per tool, JSON on the last stdout line, peak RSS) is that of
``bench_simulate.py``.

Run it in an environment where Brian2 imports (Brian2 2.9 needs numpy < 2.4)::

    python3 -m venv /work/venv-brian2
    /work/venv-brian2/bin/pip install -e '.[bench,fast]'
    /work/venv-brian2/bin/python benchmarks/bench_spatial.py --N 50000 --T 0.5

Timing definitions. hetbalance: wall time of the ``simulate(...)`` call (setup, loop,
per-neuron statistics) / T, after a 10 ms warm-up call that loads the numba cache, and
the time-stepping loop alone (``SimulationResult.wall_time``) / T; the build is
``load_network`` of the saved graph. Brian2: the build is ``to_brian2`` (creating
the objects and connecting the synapses) plus a 10 ms warm-up run (code generation, cython
compilation or cache loading, the spike queue); the run is the wall time of
``network.run(T)`` / T.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_simulate import _peak_mb, _run_worker, standalone_device  # noqa: E402  (shared harness)


def spatial_params(N: int):
    """``rosenbaum2017`` at size N (same p, j; J = j/sqrt(N)); N_X the nearest square grid."""
    from meanfield import NetworkParams
    p = NetworkParams.preset("rosenbaum2017")
    if N == p.N:
        return p
    p = p.replace(N=N)
    side_X = int(round(p.q_X * N) ** 0.5 + 0.5)
    return p.replace(q_X=side_X ** 2 / N)


def _rates(res):
    return [float(x) for x in res.population_rate]


# ----------------------------------------------------------------------------- workers
def worker_hetbalance(path, T, seed, backend):
    from graphs import load_network
    from validation import simulate
    t = time.perf_counter()
    net = load_network(path, validate=False)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    simulate(net, T=0.01, seed=seed, burn_in=0.0, backend=backend, progress=False)   # warm-up
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    res = simulate(net, T=T, seed=seed, burn_in=min(0.2, T / 2), backend=backend, progress=False)
    elapsed = time.perf_counter() - t
    return {"tool": f"hetbalance {res.backend}", "build_s": t_load, "warmup_s": t_warm,
            "sim_s": elapsed, "per_bio_s": elapsed / T, "loop_per_bio_s": res.wall_time / T,
            "rates": _rates(res), "peak_mb": _peak_mb()}


def worker_brian2(path, T, seed, codegen, workdir):
    import brian2 as b2
    from graphs import load_network
    from validation import to_brian2
    standalone = codegen == "standalone"
    extra = {}
    if standalone:      # as bench_simulate.worker_brian2: one thread, binary's peak RSS recorded
        rss_file = standalone_device(b2, workdir)
    else:
        b2.prefs.codegen.runtime.cython.cache_dir = os.path.join(workdir, "cython_cache")
    net = load_network(path, validate=False)
    t = time.perf_counter()
    bn = to_brian2(net, seed=seed, codegen="numpy" if standalone else codegen)
    t_objects = time.perf_counter() - t
    del net
    b2.seed(bn.brian2_seed)
    t_pre = 0.0 if standalone else 0.01
    t = time.perf_counter()
    if not standalone:
        bn.network.run(t_pre * b2.second, namespace={})                  # compile + warm-up
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    bn.network.run(T * b2.second, namespace={})
    elapsed = time.perf_counter() - t
    if standalone:      # generate, compile, load the arrays and run; the binary times the run
        t = time.perf_counter()
        b2.device.build(directory=os.path.join(workdir, "b2"), compile=True, run=True, debug=False)
        t_warm = time.perf_counter() - t
        elapsed = float(b2.device._last_run_time)
        t_warm -= elapsed
        binary_mb = int(open(rss_file).read()) / 1024.0
        extra = {"binary_mb": binary_mb, "python_mb": _peak_mb()}
    ids = np.asarray(bn.spike_monitor.i[:], np.int64)
    times = np.asarray(bn.spike_monitor.t[:] / b2.second, float) + bn.dt
    t0 = t_pre + min(0.2, T / 2)
    m = times > t0 + 1e-9
    rate = np.bincount(ids[m], minlength=bn.N) / (t_pre + T - t0)
    pop = bn.population
    return {"tool": f"Brian2 {bn.brian2_version} " + ("cpp_standalone 1 thread" if standalone
                                                       else f"runtime {codegen}"),
            "build_s": t_objects, "warmup_s": t_warm, "sim_s": elapsed, "per_bio_s": elapsed / T,
            "rates": [float(rate[pop == a].mean()) for a in (0, 1)],
            "peak_mb": max(_peak_mb(), extra.get("binary_mb", 0.0)), **extra}


# ----------------------------------------------------------------------------- driver
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[50000],
                    help="network sizes (N_E and N_I must be squares: 50000, 12500, ...)")
    ap.add_argument("--T", type=float, default=0.5, help="biological seconds (default 0.5)")
    ap.add_argument("--sigma", type=float, default=0.05, help="recurrent width (default 0.05)")
    ap.add_argument("--seed", type=int, default=1, help="graph and noise seed")
    ap.add_argument("--backend", default="numba")
    ap.add_argument("--codegen", nargs="+", default=["standalone", "cython"],
                    help="Brian2 modes, each in its own worker: standalone (cpp_standalone, 1 "
                         "thread), cython, numpy (runtime targets); default standalone cython")
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--json", help="write all results to this file")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        kind, path, T, seed = a.worker[:4]
        if kind == "brian2":
            out = worker_brian2(path, float(T), int(seed), a.worker[4], a.worker[5])
        else:
            out = worker_hetbalance(path, float(T), int(seed), kind)
        print(json.dumps(out))
        return 0

    from graphs import save_network
    from graphs.spatial import sample_spatial_network
    from meanfield import DegreeModel
    model = DegreeModel.spatial(2, a.sigma, 0.1)
    print(f"load average {os.getloadavg()}", flush=True)
    all_results = []
    with tempfile.TemporaryDirectory(prefix="bench_spatial_") as tmp:
        for N in a.N:
            params = spatial_params(N)
            t = time.perf_counter()
            net = sample_spatial_network(params, model, seed=a.seed, construction="fixed_outdegree")
            t_graph = time.perf_counter() - t
            graph_mb = _peak_mb()
            path = os.path.join(tmp, f"net_{N}.npz")
            save_network(net, path)
            n_ext = int(np.sum(net.k_X))
            print(f"\nN = {N} (N_E {params.N_E}, N_I {params.N_I}, N_X {params.N_X}): "
                  f"{net.n_synapses} recurrent + {n_ext} external synapses; graph {t_graph:.1f} s "
                  f"(driver peak {graph_mb:.0f} MB); T = {a.T:g} s", flush=True)
            del net
            results = [_run_worker([a.backend, path, str(a.T), str(a.seed)], script=__file__)]
            _print_row(results[-1])
            for codegen in ([] if a.no_brian2 else a.codegen):
                wd = os.path.join(tmp, f"b2_{N}_{codegen}")
                os.makedirs(wd, exist_ok=True)
                results.append(_run_worker(["brian2", path, str(a.T), str(a.seed), codegen, wd],
                                           script=__file__))
                _print_row(results[-1])
                ours, ref = results[0], results[-1]
                if "error" not in ours and "error" not in ref:
                    loop = ours.get("loop_per_bio_s", ours["per_bio_s"])
                    print(f"    Brian2/hetbalance: time per bio-s x{ref['per_bio_s'] / ours['per_bio_s']:.2f}"
                          f" (x{ref['per_bio_s'] / loop:.2f} against our loop alone), peak memory "
                          f"x{ref['peak_mb'] / ours['peak_mb']:.2f}", flush=True)
            print(f"  load average {os.getloadavg()}", flush=True)
            all_results.append({"N": N, "T": a.T, "seed": a.seed, "sigma": a.sigma,
                                "graph_s": t_graph, "graph_peak_mb": graph_mb,
                                "loadavg": os.getloadavg(), "results": results})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(all_results, f, indent=1)
    return 0


def _print_row(r):
    if "error" in r:
        print(f"  {r['tool']:<34} FAILED:\n{r['error']}", flush=True)
        return
    loop = f" (loop {r['loop_per_bio_s']:.2f})" if "loop_per_bio_s" in r else ""
    print(f"  {r['tool']:<34} build {r['build_s']:6.1f} s + warm-up {r['warmup_s']:5.1f} s   "
          f"{r['per_bio_s']:7.2f} s per bio-s{loop}   rates E {r['rates'][0]:.2f} I {r['rates'][1]:.2f} Hz"
          f"   peak {r['peak_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    sys.exit(main())
