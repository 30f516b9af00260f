"""Judged claims of the figures: a stable id, the printed statement, PASS or FAIL.

Each figure's ``check_claims(data)`` returns a list of ``Claim``. A ``Claim`` still unpacks
as the pair ``(text, ok)`` of the older interface (``for text, ok in check_claims(data)``),
and carries a stable short ``id`` (``"fig1.slope_exponent_E"``) that tests and the
figures README refer to. Bars shared by several figures live here, each with its reason:

- ``exponent_claim``: an exponent of N fitted with its standard error (``fit_exponent_se``)
  is judged against the exponent the claim states (1/2 where balance breaks, 0 where it
  holds): PASS iff ``|e - target| <= EXPONENT_TOL`` and ``SE <= EXPONENT_SE_MAX``.
- ``theory_failures``: a claim that uses theory numbers FAILs, naming the point, when the
  theory did not converge there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from meanfield.scaling import fit_exponent_se

__all__ = ["Claim", "exponent_claim", "fit_ladder_exponent", "theory_failures", "with_theory",
           "EXPONENT_TOL", "EXPONENT_SE_MAX"]

EXPONENT_TOL = 0.25
"""Half the distance between the two exponents the claims tell apart (1/2: mean inputs
grow like sqrt(N), balance broken; 0: they stay O(1), balance holds). An effective exponent
within 0.25 of the claimed value is closer to it than to the alternative. The finite-N
ladders are far from the asymptote: on N = 2,500 ... 40,000 the degree-space theory itself
gives effective exponents 0.56-0.68 (Case B) and 0.06-0.27 (Case C) for the slope and
spread of mu (docs/theory.md section 7)."""

EXPONENT_SE_MAX = 0.1
"""Largest standard error of a judged exponent: 2 SE <= 0.2 < EXPONENT_TOL, so the bar
cannot be met by a fit too noisy to tell 0 from 1/2."""

_ID = re.compile(r"^fig\d+\.[a-z][a-z0-9_]*(_[A-Z])?$")


@dataclass(frozen=True)
class Claim:
    """One judged claim of a figure.

    Attributes
    ----------
    id : str
        Stable short name, ``figN.snake_case``, optionally ending in one capital
        (``_E``, ``_I``: a population; ``_A``: a case).
    text : str
        The statement with the measured numbers, as printed.
    ok : bool
        PASS (True) or FAIL.

    Notes
    -----
    Iterates and indexes as ``(text, ok)``, so code written for ``list[(claim, bool)]``
    keeps working.
    """

    id: str
    text: str
    ok: bool

    def __post_init__(self):
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ValueError(f"Claim id = {self.id!r}; allowed: 'figN.snake_case' (e.g. "
                             f"'fig1.slope_exponent_E')")
        object.__setattr__(self, "ok", bool(self.ok))

    def __iter__(self):
        return iter((self.text, self.ok))

    def __getitem__(self, i):
        return (self.text, self.ok)[i]

    def __len__(self) -> int:
        return 2


def theory_failures(points) -> list:
    """Names of the ladder points whose theory did not converge (empty if all did).

    Each point is a ``run_point`` dict (``converged``, ``N``, ``preset``, ``model``,
    optionally ``th_residual``). A point without a ``converged`` entry counts as not
    converged: a claim must not rest on a theory it cannot vouch for.
    """
    bad = []
    for p in points:
        if not p.get("converged", False):
            model = p.get("model", {})
            kind = model.get("constructor", "?") if isinstance(model, dict) else str(model)
            res = p.get("th_residual", float("nan"))
            bad.append(f"N={p.get('N', '?')} ({p.get('preset', '?')}, {kind}, residual {res:.2g})")
    return bad


def with_theory(claim_id: str, text: str, ok: bool, points) -> Claim:
    """Make a claim that uses theory numbers: FAIL, naming the points, where it did not converge."""
    bad = theory_failures(points)
    if bad:
        return Claim(claim_id, f"{text} -- theory NOT CONVERGED at {', '.join(bad)}", False)
    return Claim(claim_id, text, ok)


def fit_ladder_exponent(points, pop: str, key: str):
    """``fit_exponent_se`` of ``points[i][pop][key]`` against N, weighted by ``key + "_se"``."""
    Ns = [p["N"] for p in points]
    return fit_exponent_se(Ns, [p[pop][key] for p in points], [p[pop][key + "_se"] for p in points])


def exponent_claim(claim_id: str, what: str, points, pop: str, key: str, target: float) -> Claim:
    """Judge the N-exponent of a simulated quantity against ``target`` (1/2 or 0).

    PASS iff the weighted fit (``fit_exponent_se``) has ``SE <= EXPONENT_SE_MAX`` and
    ``|e - target| <= EXPONENT_TOL``; NaN (fewer than two usable points) is a FAIL.
    """
    fit = fit_ladder_exponent(points, pop, key)
    e, se = fit.exponent, fit.se
    ok = bool(np.isfinite(e) and np.isfinite(se) and se <= EXPONENT_SE_MAX
              and abs(e - target) <= EXPONENT_TOL)
    Ns = [p["N"] for p in points]
    return Claim(claim_id,
                 f"{what} of {pop} grows like N^{e:.2f} +/- {se:.2f} over N = {min(Ns)}...{max(Ns)} "
                 f"({fit.n} sizes, weighted by SE; bar: |e - {target:g}| <= {EXPONENT_TOL:g} "
                 f"and SE <= {EXPONENT_SE_MAX:g})", ok)


# ---------------------------------------------------------------- fig5_spatial (issue 13)
FIG5_CLAIM_IDS = ("fig5.uniform_rates", "fig5.bump_bins_agree", "fig5.violated_spread_exponent",
                  "fig5.respected_spread_exponent", "fig5.theory_spread_exponents",
                  "fig5.violated_limit_spread", "fig5.instability_wave_number", "fig5.stable_no_pattern",
                  "fig5.indegree_rates_fall")
"""The claim ids of ``paper_figures.fig5_spatial`` (spatial balance), in the order judged."""
