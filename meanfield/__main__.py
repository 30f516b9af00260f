"""``python -m meanfield --preset NAME``: print the solved balanced state of a preset."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .balance import balance_conditions, balanced_rates
from .params import NetworkParams
from .degree_space import solve


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m meanfield",
        description="Balanced limit and finite-N mean-field state of a preset network "
                    "(units: s, mV, Hz).")
    ap.add_argument("--preset", default="akil2021", choices=NetworkParams.presets(),
                    help="parameter preset (default: akil2021)")
    ap.add_argument("--N", type=int, default=None,
                    help="network size N = N_E + N_I (default: the preset's, 10000)")
    return ap


def report(params: NetworkParams) -> str:
    """Return a human-readable summary of the balanced state of ``params``."""
    lines = [f"preset {params.name}: N = {params.N} (N_E = {params.N_E}, N_I = {params.N_I}, "
             f"N_X = {params.N_X}), neurons {params.neuron_E.kind}/{params.neuron_I.kind}"]
    W, X = params.W, params.X
    lines.append(f"W = [[{W[0, 0]:.4g}, {W[0, 1]:.4g}], [{W[1, 0]:.4g}, {W[1, 1]:.4g}]] mV, "
                 f"X = [{X[0]:.4g}, {X[1]:.4g}] mV Hz")
    r = balanced_rates(params)
    lines.append(f"balanced limit (N -> inf): r_E = {r[0]:.4f} Hz, r_I = {r[1]:.4f} Hz")
    lines.append(balance_conditions(params).summary())
    res = solve(params)
    lines.append(f"finite N = {params.N} (homogeneous network, filter {res.filter[0]}):")
    lines.append(res.summary())
    return "\n".join(lines)


def main(argv=None) -> int:
    """Print the report of a preset; return the exit code (0, or 2 for a bad preset or N)."""
    args = _parser().parse_args(argv)
    overrides = {} if args.N is None else {"N": args.N}
    try:
        params = NetworkParams.preset(args.preset, **overrides)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with np.printoptions(precision=4):
        print(report(params))
    return 0


if __name__ == "__main__":
    sys.exit(main())
