"""Closed-form balanced state with sympy: expressions in w_ab and X_a, LaTeX output.

The symbolic results mirror ``meanfield.balance`` and the Case C moments of docs/theory.md
section 7, and can be turned into numeric functions with ``lambdified``.

Examples
--------
>>> s = balanced_state()
>>> s["r_E"]
-(X_E*w_II - X_I*w_EI)/(w_EE*w_II - w_EI*w_IE)
"""

from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["symbols", "balanced_state", "balance_inequalities", "case_c_moments", "latex",
           "lambdified"]


def symbols() -> dict:
    """Return the sympy symbols: w_EE, w_EI, w_IE, w_II (real), X_E, X_I (real), c (real)."""
    names = ["w_EE", "w_EI", "w_IE", "w_II", "X_E", "X_I", "c"]
    return {n: sp.Symbol(n, real=True) for n in names}


def balanced_state() -> dict:
    """Return r = -W^{-1} X and det W as simplified sympy expressions.

    Returns
    -------
    dict with keys ``"r_E"``, ``"r_I"``, ``"det_W"``, ``"W"`` (Matrix), ``"X"`` (Matrix).
    """
    s = symbols()
    W = sp.Matrix([[s["w_EE"], s["w_EI"]], [s["w_IE"], s["w_II"]]])
    X = sp.Matrix([s["X_E"], s["X_I"]])
    r = -(W.inv() * X)
    r = r.applyfunc(lambda e: sp.factor(sp.simplify(e)))
    return {"r_E": r[0], "r_I": r[1], "det_W": W.det(), "W": W, "X": X}


def balance_inequalities() -> dict:
    """Return the van Vreeswijk-Sompolinsky conditions as sympy relations.

    ``external_vs_inhibitory``: X_E/X_I > w_EI/w_II; ``inhibition_dominates``:
    w_EI/w_II > w_EE/w_IE (both ratios of magnitudes, since w_EI, w_II < 0).
    """
    s = symbols()
    return {
        "external_vs_inhibitory": sp.StrictGreaterThan(s["X_E"] / s["X_I"], s["w_EI"] / s["w_II"]),
        "inhibition_dominates": sp.StrictGreaterThan(s["w_EI"] / s["w_II"], s["w_EE"] / s["w_IE"]),
    }


def case_c_moments() -> dict:
    """Case C balanced moments: R = E[t r] = -W^{-1} X and S = Cov(t, r) = -R / c.

    For the kernel m(t, t') = t t' + c (t - 1)(t' - 1) with E[t] = 1 and homogeneous
    external input, E_t'[m(t, t') r_b(t')] = t R_b + c (t - 1) S_b, so condition (B) reads
    t [(W R)_a + c (W S)_a] + [X_a - c (W S)_a] = 0 for every t. Both brackets vanish:
    W S = X / c and W R = -X, i.e. R = -W^{-1} X and S = -R / c (docs/theory.md section 7).
    """
    st = balanced_state()
    c = symbols()["c"]
    return {"R_E": st["r_E"], "R_I": st["r_I"], "S_E": -st["r_E"] / c, "S_I": -st["r_I"] / c}


def latex() -> str:
    """LaTeX of the balanced rates and det W (one line each)."""
    st = balanced_state()
    return "\n".join([
        r"r_E = " + sp.latex(st["r_E"]),
        r"r_I = " + sp.latex(st["r_I"]),
        r"\det W = " + sp.latex(st["det_W"]),
    ])


def lambdified():
    """Numeric function ``f(params) -> (r_E, r_I)`` built from the symbolic expressions."""
    s = symbols()
    st = balanced_state()
    args = [s[k] for k in ("w_EE", "w_EI", "w_IE", "w_II", "X_E", "X_I")]
    f = sp.lambdify(args, [st["r_E"], st["r_I"]], modules="numpy")

    def rates(params):
        W, X = params.W, params.X
        return np.asarray(f(W[0, 0], W[0, 1], W[1, 0], W[1, 1], X[0], X[1]), dtype=float)

    return rates
