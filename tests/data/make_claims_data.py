"""Regenerate ``claims_quick.json``: the quick-mode data of every figure, for tests/test_claims.py.

Run from the repository root (about a minute on one core):

    PYTHONPATH=$PWD python tests/data/make_claims_data.py [fig5 ...]

(naming figures recomputes only those and keeps the others' recorded data).

It runs ``compute(quick=True, seed=0)`` of every figure (fig0 ... fig5), drops what no
claim uses (the theory's mu
profile; Fig 4's finite-N theory profiles; the EIF side runs of Figs 1 and 2 are kept,
their claims ``eif_rate``/``eif_agree`` use them), rounds floats to 6 significant digits (not
those of ``EXACT``), and
adds the Case B theory at N = 10^5 ... 10^7 (``fig2.theory_ladder`` of fig1's model) so
that Case B data can be fed through Fig 2's
claims. Arrays are stored as lists; ``load`` turns lists of numbers back into arrays.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "claims_quick.json"
DROP = {"th_mu"}


EXACT = {"limit", "W", "X", "balanced"}
"""Keys kept at full precision: Fig 4 checks the limit's means against -W^-1 diag(1/t*) X
to 1e-9."""


def _plain(x, exact=False):
    if isinstance(x, dict):
        return {k: _plain(v, exact or k in EXACT) for k, v in x.items() if k not in DROP}
    if isinstance(x, (list, tuple)):
        return [_plain(v, exact) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist(), exact)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not np.isfinite(x) else (x if exact else float(f"{x:.6g}"))
    return x


def _numeric(v) -> bool:
    return isinstance(v, (bool, int, float)) or v is None


def _array(x):
    if isinstance(x, dict):
        return {k: _array(v) for k, v in x.items()}
    if isinstance(x, list) and x:
        flat = [u for v in x for u in v] if all(isinstance(v, list) for v in x) else x
        if all(_numeric(u) for u in flat) and flat:
            if all(isinstance(u, bool) for u in flat):
                return np.array(x, dtype=bool)

            def nan(v):
                return np.nan if v is None else v

            return np.array([[nan(u) for u in v] for v in x] if flat is not x
                            else [nan(v) for v in x], dtype=float)
        return [_array(v) for v in x]
    return x


def load(path=OUT) -> dict:
    """The recorded data: {"fig0": ..., "fig4": ..., "case_b_theory_ladder": ...}."""
    return _array(json.loads(pathlib.Path(path).read_text()))


def main() -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    from paper_figures import (fig0_transfer, fig1_indegree_breaks_balance,
                               fig2_assortative_restores, fig3_counterexample_crossover,
                               fig4_semibalanced, fig5_spatial)

    only = set(sys.argv[1:])          # e.g. "fig5": recompute these, keep the others' record
    data = json.loads(OUT.read_text()) if only else {}
    for key, mod in (("fig0", fig0_transfer), ("fig1", fig1_indegree_breaks_balance),
                     ("fig2", fig2_assortative_restores), ("fig3", fig3_counterexample_crossover),
                     ("fig4", fig4_semibalanced), ("fig5", fig5_spatial)):
        if only and key not in only:
            continue
        data[key] = mod.compute(quick=True, seed=0)
        if key == "fig4":          # the theory profiles are drawn, not judged
            for t in data[key]["theory"]:
                del t["label"], t["rate"], t["weights"]
        print(key, "computed", flush=True)
    if not only or "case_b_theory_ladder" in only:
        data["case_b_theory_ladder"] = fig2_assortative_restores.theory_ladder(
            fig1_indegree_breaks_balance.MODEL)
    OUT.write_text(json.dumps(_plain(data), separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
