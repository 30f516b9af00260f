"""Regenerate ``claims_quick.json``: the quick-mode data of every figure, for tests/test_claims.py.

Run from the repository root (about a minute on one core):

    PYTHONPATH=$PWD python tests/data/make_claims_data.py

It runs ``compute(quick=True, seed=0)`` of every figure (fig0 ... fig4), drops the EIF side runs (shown
by ``report``, not judged) and the theory's mu profile (not used by any claim), rounds
floats to 6 significant digits, and adds the Case B theory at N = 10^5 ... 10^7
(``fig2.theory_ladder`` of fig1's model) so that Case B data can be fed through Fig 2's
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


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items() if k not in DROP}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return None if not np.isfinite(x) else float(f"{x:.6g}")
    return x


def _array(x):
    if isinstance(x, dict):
        return {k: _array(v) for k, v in x.items()}
    if isinstance(x, list):
        if x and all(isinstance(v, (bool, int, float)) or v is None for v in x) or \
                (x and all(isinstance(v, list) for v in x) and all(
                    all(isinstance(u, (bool, int, float)) or u is None for u in v) for v in x)):
            if all(isinstance(v, bool) for v in x):
                return np.array(x, dtype=bool)
            return np.array([np.nan if v is None else v for v in x] if not isinstance(x[0], list)
                            else [[np.nan if u is None else u for u in v] for v in x], dtype=float)
        return [_array(v) for v in x]
    return x


def load(path=OUT) -> dict:
    """The recorded data: {"fig0": ..., "fig4": ..., "case_b_theory_ladder": ...}."""
    return _array(json.loads(pathlib.Path(path).read_text()))


def main() -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    from paper_figures import (fig0_transfer, fig1_indegree_breaks_balance,
                               fig2_assortative_restores, fig3_counterexample_crossover,
                               fig4_semibalanced)

    data = {}
    for key, mod in (("fig0", fig0_transfer), ("fig1", fig1_indegree_breaks_balance),
                     ("fig2", fig2_assortative_restores), ("fig3", fig3_counterexample_crossover),
                     ("fig4", fig4_semibalanced)):
        data[key] = mod.compute(quick=True, seed=0)
        if key in ("fig1", "fig2"):
            del data[key]["eif"]
        print(key, "computed", flush=True)
    data["case_b_theory_ladder"] = fig2_assortative_restores.theory_ladder(
        fig1_indegree_breaks_balance.MODEL)
    OUT.write_text(json.dumps(_plain(data), separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
