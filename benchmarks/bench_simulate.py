"""Benchmark ``validation.simulate`` against Brian2 (cpp_standalone, 1 thread) on one network.

One invocation builds the benchmark network of docs/theory.md section 8.2 (``lif_benchmark``;
Erdos-Renyi, K_E = 800, K_I = 200, 1000 external Poisson inputs at 3 Hz, J = 0.5 mV,
g = 6, tau_s = 5 ms, dt = 0.1 ms) with ``graphs.sample_network``, saves it, and runs every
simulator on exactly that graph in its own subprocess, one after the other:

* hetbalance, numpy backend and numba backend;
* Brian2 2.9 ``cpp_standalone`` with one thread (``connect(i=..., j=...)`` from the same
  arrays; ``PoissonInput`` for the external drive; forward Euler).

It prints, per network size, the simulate time per biological second of each tool, its
ratio to Brian2's, the population rates and mean ISI CV over (0.2 s, T], and the peak
resident memory (hetbalance: the whole process; Brian2: the larger of its Python process
and the compiled binary; compilers excluded).

Run it in an environment with the ``bench`` extra (Brian2 needs numpy < 2.4)::

    python3 -m venv /work/benchvenv
    /work/benchvenv/bin/pip install -e '.[bench,fast]'
    /work/benchvenv/bin/python benchmarks/bench_simulate.py --N 10000 40000 --T 10

Timing definitions. hetbalance: wall time of the ``simulate(...)`` call (setup, loop and
the per-neuron statistics) divided by T, after a short warm-up call that loads the numba
cache. Brian2: ``device._last_run_time`` (the run loop measured by the standalone binary;
code generation, compilation and loading of the synapse arrays excluded) divided by T.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def benchmark_params(N: int):
    """``lif_benchmark`` at size N, keeping K and J of N = 10^4 (docs/theory.md section 8.2)."""
    from meanfield import NetworkParams
    p = NetworkParams.preset("lif_benchmark")
    if N == p.N:
        return p
    f = N / p.N
    sq = f ** 0.5
    return p.replace(N=N, q_X=p.q_X / f, p_EE=p.p_EE / f, p_EI=p.p_EI / f, p_IE=p.p_IE / f,
                     p_II=p.p_II / f, j_EE=p.j_EE * sq, j_EI=p.j_EI * sq, j_IE=p.j_IE * sq,
                     j_II=p.j_II * sq, j_EX=p.j_EX * sq, j_IX=p.j_IX * sq)


def _peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def _stats(ids, times, N, N_E, T, t0=0.2):
    from validation.result import isi_cv
    ids = np.asarray(ids, np.int64)
    times = np.asarray(times, float)
    m = (times > t0 + 1e-9) & (times <= T + 1e-9)
    counts = np.bincount(ids[m], minlength=N)
    rate = counts / (T - t0)
    cv = isi_cv(ids[m], times[m], N)
    return {"rate_E": float(rate[:N_E].mean()), "rate_I": float(rate[N_E:].mean()),
            "rate": float(rate.mean()), "cv": float(np.nanmean(cv))}


# ----------------------------------------------------------------------------- workers
def worker_hetbalance(path, N, T, seed, backend):
    from graphs import load_network
    from validation import simulate
    t = time.perf_counter()
    net = load_network(path)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    simulate(net, T=0.01, seed=seed, burn_in=0.0, backend=backend, progress=False)   # warm-up
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    res = simulate(net, T=T, seed=seed, backend=backend, progress=False)
    elapsed = time.perf_counter() - t
    out = {"tool": f"hetbalance {res.backend}", "sim_s": elapsed, "per_bio_s": elapsed / T,
           "load_s": t_load, "warmup_s": t_warm, "peak_mb": _peak_mb()}
    out.update(_stats(res.spike_ids, res.spike_times, net.N, net.N_E, T))
    return out


def standalone_device(b2, workdir: str) -> str:
    """Set Brian2's cpp_standalone device (one thread, make -j2) in ``workdir``.

    The binary runs under a wrapper that writes its peak RSS (kB) to the returned file, so
    that the simulation's memory is measured apart from the Python process.
    """
    rss_file = os.path.join(workdir, "binary_maxrss.txt")
    wrapper = ("import os,subprocess,sys;p=subprocess.Popen(sys.argv[2:]);"
               "_,st,ru=os.wait4(p.pid,0);open(sys.argv[1],'w').write(str(ru.ru_maxrss));"
               "sys.exit(os.waitstatus_to_exitcode(st))")
    b2.set_device("cpp_standalone", directory=os.path.join(workdir, "b2"), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", wrapper, rss_file,
                                                    "./main"]
    return rss_file


def worker_brian2(path, N, T, seed, workdir):
    import brian2 as b2
    from graphs import load_network
    net = load_network(path)
    p = net.params
    nrn = p.neuron_E
    N_E = p.N_E
    pre = np.repeat(np.arange(N, dtype=np.int32), np.diff(net.pre_indptr))
    post = np.asarray(net.pre_indices, np.int32)
    k_X = np.asarray(net.k_X)
    if not np.all(k_X == k_X[0]):
        raise SystemExit("the Brian2 worker needs equal external in-degrees (PoissonInput)")
    del net
    rss_file = standalone_device(b2, workdir)
    b2.seed(seed)
    ms, mV, Hz, second = b2.ms, b2.mV, b2.Hz, b2.second
    b2.defaultclock.dt = 0.1 * ms
    tau_m = nrn.tau_m * second
    tau_s = p.tau_E * second
    if not (p.tau_E == p.tau_I == p.tau_X):
        raise SystemExit("the Brian2 worker models one synaptic current (tau_E = tau_I = tau_X)")
    ns = {"tau_m": tau_m, "tau_s": tau_s, "E_L": nrn.E_L * mV, "theta": nrn.theta * mV,
          "V_r": nrn.V_r * mV}
    eqs = """dv/dt = (E_L - v + I) / tau_m : volt (unless refractory)
             dI/dt = -I / tau_s : volt"""
    G = b2.NeuronGroup(N, eqs, threshold="v >= theta", reset="v = V_r",
                       refractory=nrn.tau_ref * second, method="euler", namespace=ns)
    G.v = "V_r + rand() * (theta - V_r)"
    J = p.J
    synapses = []
    for b, (lo, hi) in enumerate(((0, N_E), (N_E, N))):
        sel = (pre >= lo) & (pre < hi)
        S = b2.Synapses(G[lo:hi], G, on_pre=f"I += {float(J[0, b] * nrn.tau_m / p.tau_E)!r} * mV",
                        namespace=ns)
        S.connect(i=pre[sel] - lo, j=post[sel])
        synapses.append(S)
        if J[0, b] != J[1, b]:
            raise SystemExit("the Brian2 worker needs J_Eb == J_Ib")
    del pre, post
    PI = b2.PoissonInput(G, "I", N=int(k_X[0]), rate=p.r_X * Hz,
                         weight=f"{float(J[0, 2] * nrn.tau_m / p.tau_X)!r} * mV")
    M = b2.SpikeMonitor(G)
    net_b2 = b2.Network(G, *synapses, PI, M)
    net_b2.run(T * second)
    t = time.perf_counter()
    b2.device.build(directory=os.path.join(workdir, "b2"), compile=True, run=True, debug=False)
    t_build = time.perf_counter() - t
    run_time = float(b2.device._last_run_time)
    ids, times = np.asarray(M.i[:]), np.asarray(M.t[:] / second)
    binary_mb = int(open(rss_file).read()) / 1024.0
    out = {"tool": "Brian2 cpp_standalone 1 thread", "sim_s": run_time, "per_bio_s": run_time / T,
           "build_s": t_build, "peak_mb": max(_peak_mb(), binary_mb), "binary_mb": binary_mb,
           "python_mb": _peak_mb()}
    out.update(_stats(ids, times + 0.1e-3, N, N_E, T))   # Brian2 stamps the step start
    return out


# ----------------------------------------------------------------------------- driver
def _run_worker(args: list[str], script: str = __file__) -> dict:
    cmd = [sys.executable, str(pathlib.Path(script).resolve()), "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"tool": args[0], "error": (proc.stderr or proc.stdout)[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[10000])
    ap.add_argument("--T", type=float, default=10.0, help="biological seconds (default 10)")
    ap.add_argument("--seed", type=int, default=1, help="graph and noise seed")
    ap.add_argument("--backends", nargs="*", default=["numpy", "numba"])
    ap.add_argument("--no-brian2", action="store_true")
    ap.add_argument("--json", help="write all results to this file")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.worker:
        kind, path, N, T, seed = a.worker[:5]
        N, T, seed = int(N), float(T), int(seed)
        if kind == "brian2":
            out = worker_brian2(path, N, T, seed, a.worker[5])
        else:
            out = worker_hetbalance(path, N, T, seed, kind)
        print(json.dumps(out))
        return 0

    from graphs import sample_network, save_network
    all_results = []
    with tempfile.TemporaryDirectory(prefix="bench_simulate_") as tmp:
        for N in a.N:
            params = benchmark_params(N)
            t = time.perf_counter()
            net = sample_network(params, seed=a.seed)
            t_graph = time.perf_counter() - t
            path = os.path.join(tmp, f"net_{N}.npz")
            save_network(net, path)
            K = net.k_in.mean(axis=0)
            print(f"\nN = {N}: {net.n_synapses} synapses, mean in-degrees E {K[0]:.1f}, "
                  f"I {K[1]:.1f}, X {K[2]:.0f}; J = {params.J_EE:.3g} mV; graph "
                  f"{t_graph:.2f} s; T = {a.T:g} s", flush=True)
            del net
            results = []
            for backend in a.backends:
                results.append(_run_worker([backend, path, str(N), str(a.T), str(a.seed)]))
                _print_row(results[-1], None)
            if not a.no_brian2:
                wd = os.path.join(tmp, f"b2_{N}")
                os.makedirs(wd, exist_ok=True)
                results.append(_run_worker(["brian2", path, str(N), str(a.T), str(a.seed), wd]))
                _print_row(results[-1], None)
            ref = next((r for r in results if r.get("tool", "").startswith("Brian2")
                        and "error" not in r), None)
            if ref is not None:
                print("  ratios to Brian2 (time per bio-s, peak memory):")
                for r in results:
                    if "error" not in r and r is not ref:
                        print(f"    {r['tool']:<32} time x{r['per_bio_s'] / ref['per_bio_s']:.3f}"
                              f"   memory x{r['peak_mb'] / ref['peak_mb']:.3f}")
            all_results.append({"N": N, "T": a.T, "seed": a.seed, "graph_s": t_graph,
                                "results": results})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(all_results, f, indent=1)
    return 0


def _print_row(r, ref):
    if "error" in r:
        print(f"  {r['tool']:<32} FAILED:\n{r['error']}", flush=True)
        return
    print(f"  {r['tool']:<32} {r['per_bio_s']:7.3f} s per bio-s   rates E {r['rate_E']:.3f} "
          f"I {r['rate_I']:.3f} Hz   CV {r['cv']:.3f}   peak {r['peak_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    sys.exit(main())
