"""Regenerate the colored-rate tables that ship with meanfield (meanfield/data/colored_*.npz).

    PYTHONPATH=$PWD python benchmarks/build_colored_tables.py [--jobs 2] [--only LIF|EIF]
        [--missing]

One table per distinct neuron of the presets (``akil2021`` EIF, ``akil2021_lif``,
``brunel_lif`` and ``lif_benchmark`` LIF, ``rosenbaum2017`` EIF E and I), so that ``solve``
on a preset never waits for a
build (``filter="auto"`` is the filtered-noise transfer wherever tau_s > 0): the ratio
of ``colored_rate`` to the white-noise rate on the nodes of ``meanfield._colored_table``
(20 x 9 x 12 = 2,160 two-dimensional Fokker-Planck solves each). Prints the wall time, the
solver CPU time per node, the untrusted nodes (rates below 1e-7 Hz, filled by extrapolation)
and the file size. Rerun whenever ``TABLE_VERSION`` is bumped; ``tests/test_colored.py``
checks the shipped tables against the direct solver at random points.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from meanfield import NetworkParams  # noqa: E402
from meanfield import _colored_table as tab  # noqa: E402


def preset_neurons():
    """The distinct neurons of the presets whose tables ship with the package."""
    out = {}
    for name in ("akil2021", "akil2021_lif", "brunel_lif", "lif_benchmark", "rosenbaum2017"):
        p = NetworkParams.preset(name)
        for nrn in (p.neuron_E, p.neuron_I):
            out.setdefault((nrn.kind, tab.neuron_key(nrn, with_version=False)), (name, nrn))
    return list(out.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", choices=("LIF", "EIF"))
    ap.add_argument("--missing", action="store_true",
                    help="build only the tables whose file is missing")
    args = ap.parse_args(argv)
    neurons = preset_neurons()
    keep = {tab.shipped_path(nrn) for _, nrn in neurons}
    for preset, nrn in neurons:
        if args.only and nrn.kind != args.only:
            continue
        if args.missing and tab.shipped_path(nrn).exists():
            continue
        print(f"{preset}: {nrn}", flush=True)
        t0 = time.perf_counter()
        table = tab.build_table(nrn, n_jobs=args.jobs, progress=None)
        wall = time.perf_counter() - t0
        path = tab.shipped_path(nrn)
        table.save(path)
        n = table.log_ratio.size - table.log_ratio[:, :, 0].size
        m = table.meta
        print(f"  {n} nodes in {wall:.0f} s wall with {args.jobs} workers; solver CPU "
              f"{m['solver_cpu_s']:.0f} s = {m['solver_cpu_s'] / n:.3f} s a node; on 2 idle "
              f"cores that is {m['solver_cpu_s'] / 2 / 60:.1f} min")
        print(f"  untrusted nodes (filled): {m['untrusted_nodes']}; ratio range "
              f"{np.exp(table.log_ratio.min()):.3g} .. {np.exp(table.log_ratio.max()):.3g}")
        print(f"  -> {path} ({path.stat().st_size / 1024:.0f} kB)", flush=True)
    for old in sorted(next(iter(keep)).parent.glob("colored_*.npz")):
        if old not in keep:        # a stale table (TABLE_VERSION bumped or a neuron changed)
            print(f"  removing stale {old}")
            old.unlink()


if __name__ == "__main__":
    main()
