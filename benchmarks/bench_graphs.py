"""Benchmark of graphs.sample_network against its targets, each case in a fresh subprocess.

Cases (time = wall-clock of the call; peak = the child's peak resident memory):

======================  =====================================================  ==========
case                    network                                                target
======================  =====================================================  ==========
homogeneous_10k         lif_benchmark, N = 10^4, p = 0.1 (1e7 synapses)        <= 2 s
homogeneous_40k         lif_benchmark, N = 4 x 10^4, p = 0.1 (1.6e8 synapses)  <= 40 s, <= 2.5 GB
case_C_10k              akil2021 + assortative(c=3, [0.5, 1.5]), N = 10^4      <= 10 s
callable_10k            akil2021 + a Gaussian (non-low-rank) kernel, N = 10^4  (bonus)
ours_1e6                lif_benchmark, N = 3162 (1e6 synapses)                 reference
networkx_1e6            nx.directed_configuration_model with ours_1e6's        reference
                        degree sequences, then nx.to_scipy_sparse_array
======================  =====================================================  ==========

The ratio networkx_1e6 / ours_1e6 is measured in the same run. ``--checks`` prints the
correctness measurements instead (seeds, exact sequences, no autapses/multapses,
the Case C kernel and degree statistics at N = 10^4, the bad-input errors). Run from any
folder::

    python benchmarks/bench_graphs.py            # everything (about 1 minute)
    python benchmarks/bench_graphs.py --quick    # without homogeneous_40k
    python benchmarks/bench_graphs.py --only case_C_10k --json out.json
    python benchmarks/bench_graphs.py --checks   # correctness numbers (about 15 s)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = ["homogeneous_10k", "case_C_10k", "callable_10k", "ours_1e6", "networkx_1e6",
         "homogeneous_40k"]
TARGETS = {"homogeneous_10k": (2.0, None), "homogeneous_40k": (40.0, 2.5e9),
           "case_C_10k": (10.0, None)}


def _peak_rss() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0   # Linux: kB


def _gauss_model():
    import numpy as np
    from meanfield.degree import DegreeModel
    from meanfield.labels import Uniform
    U = Uniform(0.5, 1.5)
    t, w = U.quadrature(64)
    Z = float(w @ np.exp(-(t[:, None] - t[None, :]) ** 2 / 0.18) @ w)
    return DegreeModel.from_kernel(lambda a, b: np.exp(-(a - b) ** 2 / 0.18) / Z, U,
                                   name="gauss")


def run_case(name: str, repeats: int) -> dict:
    """Run one case in this process and return its measurements."""
    from meanfield import NetworkParams
    from meanfield.degree import DegreeModel
    from graphs import sample_network

    base_rss = _peak_rss()
    out = {"case": name}
    if name == "networkx_1e6":
        import networkx as nx
        net = sample_network(NetworkParams.preset("lif_benchmark", N=3162), seed=0)
        k_in = net.k_in[:, :2].sum(axis=1).tolist()
        k_out = net.k_out.sum(axis=1).tolist()
        del net
        base_rss = _peak_rss()
        t0 = time.perf_counter()
        G = nx.directed_configuration_model(k_in, k_out, seed=0)
        t1 = time.perf_counter()
        A = nx.to_scipy_sparse_array(G, format="csr")
        t2 = time.perf_counter()
        out.update(time_s=t2 - t0, build_s=t1 - t0, convert_s=t2 - t1, synapses=int(A.sum()))
    else:
        if name.startswith("homogeneous") or name == "ours_1e6":
            N = {"homogeneous_10k": 10_000, "homogeneous_40k": 40_000, "ours_1e6": 3162}[name]
            params, model = NetworkParams.preset("lif_benchmark", N=N), None
        elif name == "case_C_10k":
            params = NetworkParams.preset("akil2021", N=10_000)
            model = DegreeModel.assortative(c=3.0, support=(0.5, 1.5))
        elif name == "callable_10k":
            params, model = NetworkParams.preset("akil2021", N=10_000), _gauss_model()
        else:
            raise ValueError(f"case = {name!r} is unknown; allowed: {CASES}")
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            net = sample_network(params, model, seed=r)
            times.append(time.perf_counter() - t0)
            n_syn, prov = net.n_synapses, dict(net.provenance)
            del net
        out.update(time_s=min(times), times_s=times, synapses=n_syn,
                   candidates=prov.get("candidates"), thinning=prov.get("thinning"))
    out["peak_rss_bytes"] = _peak_rss()
    out["rss_before_bytes"] = base_rss
    return out


def run_checks() -> None:
    """Print the correctness measurements (seeds, exact sequences, kernel and degrees)."""
    import tracemalloc

    import numpy as np
    from meanfield import NetworkParams
    from meanfield.degree import DegreeModel
    from graphs import (degree_statistics, kernel_statistics, sample_fixed_indegree,
                        sample_network, sample_prescribed_indegree)

    params = NetworkParams.preset("akil2021")
    case_c = DegreeModel.assortative(c=3.0, support=(0.5, 1.5))
    print("== seeds (N = 10^4)")
    for name, model in (("homogeneous", None), ("case C", case_c)):
        a = sample_network(params, model, seed=1)
        b = sample_network(params, model, seed=1)
        c = sample_network(params, model, seed=2)
        differ = int(np.sum(a.post_indices[:min(a.n_synapses, c.n_synapses)]
                            != c.post_indices[:min(a.n_synapses, c.n_synapses)]))
        print(f"{name:12s} seed 1 twice identical: {a.equals(b)}; seed 2 identical: "
              f"{a.equals(c)} (synapses {a.n_synapses} vs {c.n_synapses}, {differ} index "
              "positions differ)")
    print("== prescribed sequences (N = 10^4, random k_in with extremes 0 and N_b - 1)")
    rng = np.random.default_rng(0)
    k = np.stack([rng.integers(0, 8000, 10_000), rng.integers(0, 2000, 10_000),
                  rng.integers(0, 2001, 10_000)], axis=1) // 10
    k[0] = [7999, 2000, 2000]
    k[9999] = [8000, 1999, 0]
    net = sample_prescribed_indegree(params, k, seed=3)
    print(f"k_in mismatches: {int(np.sum(net.k_in != k))} of {k.size}")
    fixed = sample_fixed_indegree(params, seed=3)
    K = np.rint(params.K).astype(int)
    print(f"fixed in-degree mismatches: "
          f"{int(np.sum(fixed.k_in != K[fixed.population]))} of {fixed.k_in.size}")
    print("== autapses / multapses (Case C, N = 10^4), counted from J")
    net = sample_network(params, case_c, seed=1)
    J = net.weight_matrix().tocoo()
    key = J.row.astype(np.int64) * net.N + J.col
    print(f"synapses {J.nnz}: autapses {int(np.sum(J.row == J.col))}, multapses "
          f"{J.nnz - len(np.unique(key))}")
    print("== Case C kernel between label bins (10 x 10 bins per pair)")
    ks = kernel_statistics(net, case_c, n_bins=10)
    n3 = sum(int(np.sum(np.abs(v.z) > 3)) for v in ks.values())
    for v in ks.values():
        print("  " + v.summary())
    print(f"  bin pairs beyond 3 SE: {n3} of {sum(v.dof for v in ks.values())} "
          "(expected 0.27% of them by chance)")
    print("== Case C realised degree per label bin (10 bins)")
    ds = degree_statistics(net, case_c, n_bins=10)
    n3 = sum(int(np.sum(np.abs(v.z) > 3)) for v in ds.values())
    n3m = sum(int(np.sum(np.abs(v.z_model) > 3)) for v in ds.values())
    for v in ds.values():
        print("  " + v.summary())
    print(f"  bins beyond 3 SE of the expectation: {n3} of {sum(v.dof for v in ds.values())}; "
          f"beyond 3 SE of the model's p N kin / kout: {n3m}")
    print("== bad input (error, time, peak traced allocation)")
    k_bad = np.tile([8, 2, 2], (params.N, 1))
    k_bad[5, 0] = 8000
    cases = [
        ("N = -5", lambda: sample_network(params, N=-5)),
        ("N = 1e4 (float)", lambda: sample_network(params, N=1e4)),
        ("p m > 1 (p_EE = 0.5, Case C)", lambda: sample_network(params.replace(p_EE=0.5),
                                                               case_c, seed=0)),
        ("k_in above source population", lambda: sample_prescribed_indegree(params, k_bad)),
        ("N = 10^7 (1e13 synapses)", lambda: sample_network(params, N=10_000_000)),
    ]
    for name, f in cases:
        tracemalloc.start()
        t0 = time.perf_counter()
        try:
            f()
            msg = "no error"
        except (TypeError, ValueError) as exc:
            msg = f"{type(exc).__name__}: {exc}"
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  {name:32s} {dt * 1e3:7.1f} ms {peak / 1e6:6.2f} MB  {msg[:150]}")


def _spawn(name: str, repeats: int) -> dict:
    here = os.path.abspath(__file__)
    res = subprocess.run([sys.executable, here, "--child", name, "--repeats", str(repeats)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return {"case": name, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip homogeneous_40k")
    ap.add_argument("--only", nargs="*", choices=CASES, help="run only these cases")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the small cases (best of)")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--checks", action="store_true", help="print the correctness numbers")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.checks:
        run_checks()
        return 0
    if args.child:
        print(json.dumps(run_case(args.child, args.repeats)))
        return 0
    cases = args.only or [c for c in CASES if not (args.quick and c == "homogeneous_40k")]
    import numpy as np
    import meanfield
    results = []
    print(f"hetbalance {meanfield.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"{'case':18s} {'time s':>8s} {'synapses':>12s} {'peak GB':>8s} {'target':>18s}")
    for c in cases:
        r = _spawn(c, 1 if c in ("homogeneous_40k", "networkx_1e6") else args.repeats)
        results.append(r)
        if "error" in r:
            print(f"{c:18s} ERROR {r['error']}")
            continue
        tgt = TARGETS.get(c)
        verdict = ""
        if tgt:
            ok = r["time_s"] <= tgt[0] and (tgt[1] is None or r["peak_rss_bytes"] <= tgt[1])
            verdict = (f"<= {tgt[0]:g} s" + (f", {tgt[1] / 1e9:g} GB" if tgt[1] else "")
                       + (" ok" if ok else " MISSED"))
        print(f"{c:18s} {r['time_s']:8.3f} {r['synapses']:12d} {r['peak_rss_bytes'] / 1e9:8.3f} "
              f"{verdict:>18s}")
    by = {r["case"]: r for r in results if "error" not in r}
    if "ours_1e6" in by and "networkx_1e6" in by:
        ratio = by["networkx_1e6"]["time_s"] / by["ours_1e6"]["time_s"]
        mem = (by["networkx_1e6"]["peak_rss_bytes"] - by["networkx_1e6"]["rss_before_bytes"]) / \
            max(by["ours_1e6"]["peak_rss_bytes"] - by["ours_1e6"]["rss_before_bytes"], 1)
        print(f"networkx / sample_network at 1e6 edges: time x{ratio:.0f} "
              f"(networkx {by['networkx_1e6']['build_s']:.2f} s build + "
              f"{by['networkx_1e6']['convert_s']:.2f} s conversion), extra memory x{mem:.0f}")
        results.append({"case": "ratio_networkx_over_ours_1e6", "time_ratio": ratio,
                        "memory_ratio": mem})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
