"""``python -m paper_figures [--quick] [--out DIR] [--only fig1 ...]``: regenerate every figure.

Each figure module ``figN_topic.py`` provides ``compute(quick=False, *, seed=0) -> dict``,
``plot(data) -> Figure`` and ``check_claims(data) -> list[Claim]`` (``paper_figures.claims``:
each unpacks as ``(text, ok)``, the older ``list[(claim, bool)]``, and has a stable ``id``).
Every claim is printed as ``[PASS] id: text`` or ``[FAIL] id: text``, then the number of
claims and of failures; the exit code is 1 if any claim fails. The claims also go to
``DIR/claims.json`` (``CLAIMS_FILE``: per figure its image, mode, seed, runtime and claims
with id, text and verdict; figures run later are merged in), which the documentation's
gallery reads.

Seeds: a figure point passes one integer seed to both ``sample_network`` and ``simulate``
(their streams "graph" and "noise", ``meanfield.seeding``), so a point's network and spikes
are those of ``hetbalance simulate --seed`` with that seed. Where a figure needs several
independent points of the same kind (more graph seeds, two panels), it gives them the
whole-point seeds ``seed + k``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import sys
import time

from graphs.io import atomic_open

CLAIMS_FILE = "claims.json"
"""Name of the file in the output folder holding every figure's judged claims."""

FIGURES = ("fig0_transfer", "fig1_indegree_breaks_balance", "fig2_assortative_restores",
           "fig3_counterexample_crossover", "fig4_semibalanced", "fig5_spatial")


def run(names, quick: bool, out: pathlib.Path, *, seed: int = 0, stream=None) -> bool:
    """Compute, plot, save and check the named figures; True if every claim passes.

    ``stream`` (default: ``sys.stdout`` at call time, so that a redirected or captured
    stdout receives the claims) gets one line per claim.
    """
    if stream is None:
        stream = sys.stdout
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # core install: compute and check the claims, draw nothing
        plt = None
        print("[NOTE] matplotlib is not installed: claims are computed and checked, no figure "
              "is drawn (pip install 'hetbalance[figures]' for the pictures)", file=stream)

    out.mkdir(parents=True, exist_ok=True)
    record_path = out / CLAIMS_FILE
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    all_ok = True
    n_claims = n_fail = 0
    for name in names:
        mod = importlib.import_module(f"paper_figures.{name}")
        t0 = time.monotonic()
        data = mod.compute(quick=quick, seed=seed)
        t_compute = time.monotonic() - t0
        if plt is not None:
            fig = mod.plot(data)
            for ext in ("png", "pdf"):
                fig.savefig(out / f"{name}.{ext}", dpi=130)
            plt.close(fig)
        claims = mod.check_claims(data)
        where = out / (name + ".png") if plt is not None else "not drawn (no matplotlib)"
        print(f"== {name} ({'quick' if quick else 'full'}; compute {t_compute:.1f} s, "
              f"total {time.monotonic() - t0:.1f} s) -> {where}", file=stream)
        for c in claims:
            claim, ok = c
            all_ok &= bool(ok)
            n_claims += 1
            n_fail += not ok
            cid = getattr(c, "id", None)
            print(f"  [{'PASS' if ok else 'FAIL'}] {cid + ': ' if cid else ''}{claim}", file=stream)
        for line in (mod.report(data) if hasattr(mod, "report") else []):
            print(f"  [INFO] {line}", file=stream)
        stream.flush()
        record[name] = {
            "image": f"{name}.png" if plt is not None else None, "quick": bool(quick),
            "seed": int(seed), "seconds": round(time.monotonic() - t0, 1),
            "command": (f"python -m paper_figures {'--quick ' if quick else ''}--only "
                        f"{name.split('_')[0]}{'' if seed == 0 else f' --seed {seed}'} --out DIR"),
            "claims": [{"id": getattr(c, "id", None), "text": c[0], "ok": bool(c[1])}
                       for c in claims]}
        with atomic_open(record_path) as fh:
            fh.write(json.dumps(record, indent=1).encode())
    print(f"{n_claims} claims judged, {n_fail} failed", file=stream)
    return all_ok


def main(argv=None) -> int:
    """Run the command line; return the exit code (0 when every claim passes, else 1)."""
    ap = argparse.ArgumentParser(prog="python -m paper_figures",
                                 description="Regenerate the figures and check every claim.")
    ap.add_argument("--quick", action="store_true",
                    help="reduced sizes and durations (about a minute a figure)")
    ap.add_argument("--out", default="figures", help="output folder for PNG and PDF (default: figures)")
    ap.add_argument("--only", nargs="*", default=None, metavar="FIG",
                    help=f"subset of {', '.join(FIGURES)} (prefixes like fig1 work)")
    ap.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    args = ap.parse_args(argv)
    names = list(FIGURES)
    if args.only:
        names = [f for f in FIGURES if any(f == o or f.startswith(o) for o in args.only)]
        if not names:
            ap.error(f"--only {args.only} matches none of {FIGURES}")
    ok = run(names, args.quick, pathlib.Path(args.out), seed=args.seed)
    print("ALL CLAIMS PASS" if ok else "SOME CLAIMS FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
