"""Regenerate ``solve_reference.npz``: degree-space solves stored before ``spread=`` existed.

``tests/test_spread.py`` checks that ``solve(..., spread=False)`` reproduces these arrays
(issue 10: the option must leave today's solver unchanged). The file was written by the
code of main at commit b03ae48 (before the option); regenerating it with a later version
only re-stores that version's answers, so do it only on purpose.

Run from the repository root (about 20 s on one core):

    PYTHONPATH=$PWD python tests/data/make_spread_reference.py
"""

from __future__ import annotations

import pathlib

import numpy as np

from meanfield import DegreeModel, NetworkParams, solve

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "solve_reference.npz"

PRESETS = ("akil2021_lif", "akil2021", "lif_benchmark")
MODELS = {
    "homogeneous": lambda: DegreeModel.homogeneous(),
    "case_B": lambda: DegreeModel.recurrent_indegree("gamma", 0.2, n_nodes=16),
    "case_C": lambda: DegreeModel.assortative(3.0, (0.5, 1.5), n_nodes=16),
}
FIELDS = ("rate", "mu", "sigma", "tau_s", "mean_input", "moments")
N = 10_000


def main():
    arrays = {}
    for preset in PRESETS:
        for name, make in MODELS.items():
            res = solve(NetworkParams.preset(preset, N=N), make())
            for f in FIELDS:
                arrays[f"{preset}/{name}/{f}"] = np.asarray(getattr(res, f), float)
            arrays[f"{preset}/{name}/residual"] = np.array(res.residual)
            print(preset, name, res.converged, res.mean_rate)
    np.savez_compressed(OUT, **arrays)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
