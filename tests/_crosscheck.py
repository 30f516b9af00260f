"""Shared by the cross-checks against other simulators (tests/test_nest.py, tests/test_brian2.py).

``bin_table`` compares two simulations of one graph neuron group by neuron group: per
population, label-quantile bins, each bin's mean rate in both and the z-score of the
difference with the bin-mean standard errors of both (neuron-to-neuron spread within the
bin). Not a test module (no ``test_`` prefix); imported by name since ``tests/`` is on the
path pytest gives test modules.
"""

import math

import numpy as np

N_BINS = {"E": 8, "I": 5}   # label-quantile bins of a 2,000-neuron network: 200 E, 80 I a bin


def bin_table(label, population, rate_a, rate_b, n_bins=None):
    """Per population, label-quantile bins: mean rates, standard errors and z-scores.

    The SE of each bin mean is std / sqrt(n) of each simulation (ddof = 1); the z-score
    of the difference uses both, sqrt(se_a^2 + se_b^2).
    """
    n_bins = N_BINS if n_bins is None else n_bins
    rows = []
    for a, name in enumerate("EI"):
        idx = np.flatnonzero(population == a)
        order = idx[np.argsort(label[idx], kind="stable")]
        for k, part in enumerate(np.array_split(order, n_bins[name])):
            ma, mb = rate_a[part].mean(), rate_b[part].mean()
            sa = rate_a[part].std(ddof=1) / math.sqrt(part.size)
            sb = rate_b[part].std(ddof=1) / math.sqrt(part.size)
            se = math.hypot(sa, sb)
            rows.append({"pop": name, "bin": k, "n": part.size,
                         "label": (float(label[part].min()), float(label[part].max())),
                         "other": ma, "ours": mb, "se_other": sa, "se_ours": sb,
                         "z": (ma - mb) / se if se > 0 else 0.0})
    return rows


def format_bins(rows, names=("NEST", "ours")):
    a, b = names
    lines = [f"pop bin    n  label range      {a + ' Hz':>8}  {b + ' Hz':>8}  {'SE ' + a:>8}  "
             f"{'SE ' + b:>7}      z"]
    for r in rows:
        lines.append(f"{r['pop']:>3} {r['bin']:>3} {r['n']:>4}  [{r['label'][0]:.3f}, "
                     f"{r['label'][1]:.3f}]  {r['other']:8.3f}  {r['ours']:8.3f}  "
                     f"{r['se_other']:7.3f}  {r['se_ours']:7.3f}  {r['z']:+6.2f}")
    return "\n".join(lines)
