r"""Reduce several synaptic time constants to the one that ``colored_rate`` takes.

One job: a neuron receives independent filtered noises from the sources E, I and X, with
synaptic time constants :math:`\tau_b` and shares :math:`w_b = \sigma_b^2/\sigma^2` of the
Brunel-convention input variance (docs/theory.md sections 4 and 9); ``colored_rate``
(docs/theory.md section 9) solves for ONE Ornstein-Uhlenbeck current. ``effective_filter``
returns the time constant :math:`\tau_s` (and, for the rule that needs it, a factor on
:math:`\sigma`) of the single-source process that stands in for the sum.

Rules (``RULES``), with :math:`w_b` normalised to sum 1, times in s:

``"variance_weighted"``
    :math:`\tau_s = \sum_b w_b \tau_b`, the rule the solvers use today (docs/theory.md
    (5.8)). It equals the centre of mass :math:`\int s\,C_I(s)\,ds / \int C_I(s)\,ds` of
    the input current's autocorrelation :math:`C_I`, whose integral
    :math:`\sigma^2\tau_m` does not depend on the filter.
``"moments"``
    Match both :math:`\operatorname{Var} V` and :math:`\operatorname{Var}\dot V` of the
    free (sub-threshold, linear) membrane :math:`\tau_m \dot V = -V + I`. One source of
    time constant :math:`\tau` and amplitude :math:`\sigma` gives

    .. math::
        \operatorname{Var} V = \frac{\sigma^2}{2}\,\frac{\tau_m}{\tau_m + \tau}, \qquad
        \operatorname{Var} \dot V = \frac{\sigma^2}{2}\,\frac{1}{\tau (\tau_m + \tau)},

    and independent sources add, so the ratio
    :math:`\operatorname{Var}\dot V / \operatorname{Var} V = 1/(\tau_m \tau_s)` fixes

    .. math::
        \tau_s = \frac{\sum_b w_b / (\tau_m + \tau_b)}
                      {\sum_b w_b / (\tau_b (\tau_m + \tau_b))}, \qquad
        \frac{\sigma_\text{eff}^2}{\sigma^2} = (\tau_m + \tau_s) \sum_b \frac{w_b}{\tau_m + \tau_b}
        \le 1 .

    ``sigma_scale`` is :math:`\sigma_\text{eff}/\sigma`; with it both variances match
    exactly, without it (``sigma_scale`` ignored) only their ratio does. A source with
    :math:`\tau_b = 0` and :math:`w_b > 0` makes :math:`\operatorname{Var}\dot V`
    infinite: :math:`\tau_s = 0`.
``"variance"``
    Keep :math:`\sigma` and match :math:`\operatorname{Var} V` alone:
    :math:`\tau_s = 1/\sum_b (w_b/(\tau_m + \tau_b)) - \tau_m`.
``"sqrt_weighted"``
    :math:`\sqrt{\tau_s} = \sum_b w_b \sqrt{\tau_b}`: the Fourcaud-Brunel threshold shift
    :math:`\sigma (\alpha/2)\sqrt{\tau_s/\tau_m}` averaged over sources (a heuristic).

Equal shares of 8/4/10 ms at :math:`\tau_m` = 15 ms give 7.33 ms (variance-weighted),
6.02 ms with :math:`\sigma_\text{eff}/\sigma` = 0.977 (moments), 7.04 ms (variance) and
7.09 ms (sqrt-weighted).

Measured (``benchmarks/validate_tau_rule.py``; table in benchmarks/README_colored.md
section 4, summary in docs/theory.md section 9): error of ``colored_rate(neuron, mu,
sigma * sigma_scale, tau_s)`` against a Gaussian Monte Carlo of single neurons driven by
the three OU currents, 12 points above 1 Hz at the E and I operating shares of
``akil2021`` (EIF) and ``akil2021_lif`` (LIF) and equal shares, ~1.1e4 spikes each
(standard error ~1 %), mean / rms / max ``|error|``:

================================  =======  ======  =======
rule                              mean     rms     max
================================  =======  ======  =======
``"moments"``                     +1.1 %   1.5 %   2.7 %
``"variance_weighted"``           -5.9 %   6.2 %   8.6 %
``"variance"``                    -2.8 %   2.9 %   4.2 %
``"sqrt_weighted"``               -3.2 %   3.4 %   4.8 %
``"moments"``, sigma not scaled   +7.0 %   7.7 %   12.9 %
================================  =======  ======  =======

With Poisson input (J = sigma/40): moments +1.4 / 1.7 / 3.5 %, variance-weighted
-5.7 / 5.9 / 9.4 %. ``"moments"`` (with ``sigma_scale``) is the rule to use; its residual
is at the level of ``colored_rate``'s own error (+0.5 % mean against a one-source Monte
Carlo at the same parameters).
"""

from __future__ import annotations

import numpy as np

__all__ = ["effective_filter", "effective_tau_s", "RULES"]

RULES = ("variance_weighted", "moments", "variance", "sqrt_weighted")
"""Accepted values of ``rule``."""


def _check(tau, variance_share, tau_m, rule):
    if rule not in RULES:
        raise ValueError(f"rule = {rule!r} is unknown; allowed: {RULES}")
    tau = np.asarray(tau, dtype=float)
    if tau.ndim != 1 or tau.size == 0:
        raise ValueError(f"tau must be a 1-D sequence of source time constants (s), one per "
                         f"source; got shape {tau.shape}")
    if not np.all(np.isfinite(tau)) or np.any(tau < 0):
        raise ValueError(f"tau = {tau.tolist()} must be finite and >= 0 (s)")
    if np.any(tau > 1.0):
        raise ValueError(f"tau = {tau.tolist()} looks like milliseconds; allowed: 0 <= tau "
                         f"<= 1 s")
    w = np.asarray(variance_share, dtype=float)
    if w.ndim == 0 or w.shape[0] != tau.size:
        raise ValueError(f"variance_share must have the sources on its first axis, "
                         f"{tau.size} rows to match tau; got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("variance_share must be finite and >= 0 (shares of sigma^2, any "
                         "normalisation); got negative or non-finite values")
    if rule in ("moments", "variance"):
        if tau_m is None:
            raise ValueError(f"tau_m is required for rule = {rule!r} (membrane time "
                             f"constant, s)")
        tau_m = float(tau_m)
        if not (np.isfinite(tau_m) and 0.0 < tau_m <= 1.0):
            raise ValueError(f"tau_m = {tau_m!r} must be in (0, 1] s")
    return tau, w, tau_m


def effective_filter(tau, variance_share, *, tau_m=None, rule: str = "variance_weighted"):
    r"""Effective synaptic time constant and noise factor of several filtered sources.

    Parameters
    ----------
    tau : sequence of float, shape (n_src,)
        Synaptic time constants of the sources, s, each in [0, 1] (e.g.
        ``(tau_E, tau_I, tau_X)``).
    variance_share : array_like, shape (n_src, ...)
        Each source's contribution :math:`\sigma_b^2` to the Brunel-convention
        :math:`\sigma^2` (mV^2, or any common unit: shares are normalised over axis 0),
        >= 0; the trailing axes are points (labels or neurons), as the solvers'
        ``var_src`` (3, P).
    tau_m : float, optional
        Membrane time constant, s, in (0, 1]; required by ``"moments"`` and
        ``"variance"``.
    rule : {"variance_weighted", "moments", "variance", "sqrt_weighted"}
        The reduction; equations in the module docstring (``meanfield.filtering``) and
        docs/theory.md section 9.

    Returns
    -------
    tau_s : ndarray, shape variance_share.shape[1:]
        Effective time constant, s (0 where all shares are 0).
    sigma_scale : ndarray, same shape
        Factor on sigma that goes with ``tau_s`` (:math:`\sigma_\text{eff}/\sigma`,
        dimensionless, <= 1): 1 except for ``"moments"``.

    Raises
    ------
    ValueError
        Unknown ``rule``; ``tau`` not 1-D, negative, non-finite or > 1 s;
        ``variance_share`` of the wrong shape, negative or non-finite; ``tau_m`` missing
        or outside (0, 1] s where needed.

    Notes
    -----
    Use ``rule="moments"`` with ``sigma * sigma_scale``: measured against single neurons
    driven by three filtered sources it is within 2.7 % (Gaussian) / 3.5 % (Poisson input)
    of the simulated rate at the presets' operating points, against -5.9 % on average and
    up to -9.4 % for ``"variance_weighted"`` (module docstring; docs/theory.md section 9;
    benchmarks/README_colored.md section 4; ``benchmarks/validate_tau_rule.py``).

    Examples
    --------
    >>> t, s = effective_filter([0.008, 0.004, 0.010], [1, 1, 1], tau_m=0.015, rule="moments")
    >>> round(float(t) * 1e3, 2), round(float(s), 3)
    (6.02, 0.977)
    >>> round(float(effective_tau_s([0.008, 0.004, 0.010], [1, 1, 1])) * 1e3, 2)
    7.33
    """
    tau, w, tau_m = _check(tau, variance_share, tau_m, rule)
    shape = w.shape[1:]
    w = w.reshape(tau.size, -1)
    total = w.sum(axis=0)
    ok = total > 0
    wn = np.zeros_like(w)
    wn[:, ok] = w[:, ok] / total[ok]
    t = tau[:, None]
    scale = np.ones(wn.shape[1])
    if rule == "variance_weighted":
        ts = (t * wn).sum(axis=0)
    elif rule == "sqrt_weighted":
        ts = ((np.sqrt(t) * wn).sum(axis=0)) ** 2
    else:
        a = (wn / (tau_m + t)).sum(axis=0)                  # sum w/(tau_m + tau_b), 1/s
        if rule == "variance":
            ts = np.where(ok, 1.0 / np.where(ok, a, 1.0) - tau_m, 0.0)
        else:
            white = ((wn > 0) & (t == 0)).any(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                b = np.where(wn > 0, wn / (t * (tau_m + t)), 0.0).sum(axis=0)   # 1/s^2
                ts = np.where(ok & ~white, a / np.where(b > 0, b, 1.0), 0.0)
            scale = np.where(ok, np.sqrt((tau_m + ts) * a), 1.0)
        ts = np.maximum(ts, 0.0)         # round-off: equal taus give tau exactly up to 1 ulp
    return ts.reshape(shape), scale.reshape(shape)


def effective_tau_s(tau, variance_share, *, tau_m=None, rule: str = "variance_weighted"):
    r"""Effective synaptic time constant of several filtered sources, s.

    ``effective_filter(...)[0]``: parameters, raises and equations as there. For
    ``rule="moments"`` the matching noise factor is ``effective_filter(...)[1]``; using
    the time constant alone matches the ratio Var dV/dt / Var V, not both variances.
    """
    return effective_filter(tau, variance_share, tau_m=tau_m, rule=rule)[0]
