r"""Spatial balanced networks on the unit ring and torus (docs/theory.md section 12).

Neurons sit on the ring :math:`[0, 1)` (``dim=1``) or the torus :math:`[0, 1)^2`
(``dim=2``). A neuron of b at :math:`x'` connects to one of a at :math:`x` with probability
:math:`p_{ab}\, g_{ab}(x - x')`, where :math:`g_{ab}` is a wrapped Gaussian of width
:math:`\sigma_{ab}` (per dimension, in units of the side length) with mean 1 over the unit
cell. Its Fourier coefficients are

.. math:: \tilde g_{ab}(n) = \int g_{ab}(x)\, e^{-2\pi i n \cdot x}\, dx
          = e^{-2\pi^2 \lvert n\rvert^2 \sigma_{ab}^2}, \qquad n \in \mathbb{Z}^{dim}.
   :label: 12.2

The balance condition (B) of the uniform network (docs/theory.md section 6) holds mode by
mode, equation (12.1):

.. math:: \tilde W(n)\, \tilde r(n) + \tilde X(n) = 0, \qquad
          \tilde W_{ab}(n) = w_{ab}\, \tilde g_{ab}(n), \qquad
          \tilde X_a(n) = X_a\, \tilde g_{aX}(n)\, \tilde f(n),

with :math:`f(x)` the external rate profile relative to ``params.r_X``
(:math:`r_X(x) = r_X f(x)`). On a regular grid of M points the discretised equations
:math:`\sum_b w_{ab} \sum_j G_{ab}(x_i - x_j) r_b(x_j) + X_a(x_i) = 0`, with
:math:`G = g / \sum_j g(x_j)` the kernel normalised to grid mean 1, are circulant: the
discrete Fourier transform diagonalises them with the aliased coefficients
:math:`\hat g(k) = \sum_m \tilde g(k + m M) / \sum_m \tilde g(m M)` (Poisson summation),
which is what ``balanced_profile`` uses, so that it solves the discretised equations exactly.

What is here: kernels and their coefficients (``wrapped_gaussian``, ``kernel_fourier``,
``convolve``), the balanced profile per mode (``balanced_profile``), the named existence
conditions of Rosenbaum & Doiron (``spatial_balance_conditions``), the spatial degree
model (``SpatialModel``, built by ``DegreeModel.spatial``), the finite-N self-consistent
profile (``solve_spatial``) and the linear stability per wave number
(``spatial_stability``).

References: Rosenbaum & Doiron, Phys. Rev. X 4, 021039 (2014); Rosenbaum, Smith, Kohn,
Rubin & Doiron, Nat. Neurosci. 20, 107 (2017); Pyle & Rosenbaum, Phys. Rev. Lett. 118,
018103 (2017).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from .balance import BalanceCheck, BalanceConditions, balance_conditions
from .checks import check_in_range, check_int
from .degree import PAIRS_REC, DegreeModel, Kernel
from .errors import ParameterError
from .labels import Constant, LabelDistribution, make_distribution
from .params import POPULATIONS, NetworkParams, params_at_size
from .seeding import as_generator

__all__ = ["DIMS", "WIDTH_KEYS", "wrapped_gaussian", "kernel_fourier", "grid_kernel_fourier",
           "grid_positions", "wave_numbers", "convolve", "resolve_widths", "balanced_profile",
           "spatial_balance_conditions", "GaussianBump", "Positions", "SpatialKernel", "SpatialModel",
           "SpatialResult", "solve_spatial", "SpatialStability", "spatial_stability"]

DIMS = (1, 2)
"""Allowed dimensions of the layout: 1 (ring) and 2 (torus)."""

WIDTH_KEYS = ("EE", "EI", "IE", "II", "EX", "IX")
"""Keys of the kernel widths (post, pre), as in ``SpatialModel.widths``."""

_MAX_SIGMA = 1.0
_TABLE_POINTS = 4096
"""Above this many (population, position, kappa) points ``solve_spatial`` evaluates EIF rates
from ``meanfield._phi.EIFTable`` (relative error about 1e-5) instead of directly."""


def _check_dim(dim) -> int:
    dim = check_int("dim", dim)
    if dim not in DIMS:
        raise ParameterError(f"dim = {dim!r} is not allowed; allowed: 1 (ring) or 2 (torus)",
                             field="dim")
    return dim


def _check_sigma(name, sigma) -> float:
    return check_in_range(name, sigma, 0.0, _MAX_SIGMA, lo_open=True)


# ---------------------------------------------------------------------------- kernels
def wrapped_gaussian(d, sigma: float, dim: int = 1) -> np.ndarray:
    r"""Evaluate the wrapped Gaussian of width ``sigma`` (mean 1 over the unit ring or torus).

    Parameters
    ----------
    d : array_like, shape (...) for dim 1 or (..., dim)
        Displacements :math:`x - x'` (any real numbers: the kernel is periodic).
    sigma : float
        Width per dimension, in (0, 1] (units of the side length).
    dim : {1, 2}

    Returns
    -------
    ndarray, shape (...)
        :math:`g(d) = \prod_i \sum_{k \in \mathbb{Z}} (2\pi\sigma^2)^{-1/2}
        e^{-(d_i + k)^2 / (2\sigma^2)}`, dimensionless.

    Notes
    -----
    The image sum is cut at :math:`|k| \le \lceil 8\sigma \rceil + 1`: the first image left
    out is at least :math:`8\sigma` away beyond the cell, relative weight below
    :math:`e^{-32}`.

    Examples
    --------
    >>> x = np.arange(1000) / 1000
    >>> round(float(np.mean(wrapped_gaussian(x, 0.1))), 12)
    1.0
    """
    dim = _check_dim(dim)
    sigma = _check_sigma("sigma", sigma)
    d = np.asarray(d, dtype=float)
    if dim == 2 and (d.ndim == 0 or d.shape[-1] != 2):
        raise ValueError(f"d has shape {d.shape}; allowed for dim = 2: (..., 2)")
    d = d - np.round(d)                               # into [-1/2, 1/2]
    n_img = int(math.ceil(8.0 * sigma)) + 1
    c = 1.0 / (math.sqrt(2.0 * math.pi) * sigma)
    comps = [d] if dim == 1 else [d[..., 0], d[..., 1]]
    out = 1.0
    for di in comps:
        s = np.zeros(di.shape)
        for k in range(-n_img, n_img + 1):
            s += np.exp(-0.5 * ((di + k) / sigma) ** 2)
        out = out * (c * s)
    return np.asarray(out, dtype=float)


def kernel_fourier(n, sigma: float) -> np.ndarray:
    r"""Fourier coefficient :math:`e^{-2\pi^2 \lvert n\rvert^2 \sigma^2}` of the wrapped Gaussian.

    Parameters
    ----------
    n : array_like
        Wave numbers (dim 1) or wave vectors with the last axis the dimension; pass
        :math:`\lvert n\rvert` for a radial value.
    sigma : float
        Width, in [0, 1]; 0 gives the delta kernel (coefficient 1).

    Returns
    -------
    ndarray
        Shape of ``n`` (dim 1) or ``n.shape[:-1]`` when ``n`` has a last axis of 2.

    Examples
    --------
    >>> float(kernel_fourier(0, 0.1)), round(float(kernel_fourier(1, 0.1)), 6)
    (1.0, 0.820869)
    """
    sigma = check_in_range("sigma", sigma, 0.0, _MAX_SIGMA)
    n = np.asarray(n, dtype=float)
    n2 = n ** 2 if n.ndim == 0 or n.shape[-1] != 2 else np.sum(n ** 2, axis=-1)
    return np.exp(-2.0 * math.pi ** 2 * n2 * sigma ** 2)


def wave_numbers(n_side: int, dim: int) -> np.ndarray:
    """Integer wave numbers of an ``n_side``-point grid per dimension, in FFT order.

    Returns shape (n_side,) for dim 1 and (n_side, n_side, 2) for dim 2.
    """
    n_side = check_int("n_side", n_side, lo=1)
    dim = _check_dim(dim)
    k = np.fft.fftfreq(n_side, 1.0 / n_side)
    if dim == 1:
        return k
    return np.stack(np.meshgrid(k, k, indexing="ij"), axis=-1)


def grid_kernel_fourier(n_side: int, dim: int, sigma: float) -> np.ndarray:
    r"""Aliased coefficients of the kernel on a regular grid, normalised to grid mean 1.

    :math:`\hat g(k) = \sum_m \tilde g(k + m\, n_{side}) / \sum_m \tilde g(m\, n_{side})`:
    the discrete Fourier transform of the kernel sampled on the grid over its grid sum
    (Poisson summation), so ``ifft(fft(v) * ghat)`` is exactly
    :math:`\sum_j g(x_i - x_j) v_j / \sum_j g(x_j)`. The normalisation differs from 1 by
    :math:`2 e^{-2\pi^2 n_{side}^2 \sigma^2}` per dimension (below 1e-100 for the
    ``rosenbaum2017`` grids); it keeps the mean in-degree exactly :math:`p N_b` on coarse
    theory grids. Shape (n_side,) or (n_side, n_side).
    """
    n_side = check_int("n_side", n_side, lo=1)
    dim = _check_dim(dim)
    sigma = check_in_range("sigma", sigma, 0.0, _MAX_SIGMA)
    k = np.fft.fftfreq(n_side, 1.0 / n_side)
    n_img = int(math.ceil(8.0 * sigma * 1.0)) + 2
    g1 = np.zeros(n_side)
    for m in range(-n_img, n_img + 1):
        g1 += np.exp(-2.0 * math.pi ** 2 * (k + m * n_side) ** 2 * sigma ** 2) if sigma > 0 \
            else (1.0 if m == 0 else 0.0)
    g1 = g1 / g1[0]
    return g1 if dim == 1 else np.multiply.outer(g1, g1)


def grid_positions(n_side: int, dim: int) -> np.ndarray:
    """Positions of a regular grid, ``i / n_side`` per dimension.

    Returns shape (n_side,) for dim 1 and (n_side**2, 2) for dim 2 (row-major: point
    ``i0 * n_side + i1`` is at ``(i0, i1) / n_side``, matching ``reshape(n_side, n_side)``).

    Examples
    --------
    >>> grid_positions(2, 2).tolist()
    [[0.0, 0.0], [0.0, 0.5], [0.5, 0.0], [0.5, 0.5]]
    """
    n_side = check_int("n_side", n_side, lo=1)
    dim = _check_dim(dim)
    if dim == 1:
        return np.arange(n_side) / n_side
    return np.indices((n_side, n_side)).reshape(2, -1).T / n_side


def convolve(values, sigma: float, dim: int) -> np.ndarray:
    r"""Kernel moment :math:`\sum_j g(x_i - x_j)\, v(x_j) / \sum_j g(x_j)` on a regular grid, by FFT.

    Parameters
    ----------
    values : array_like, shape (..., M)
        Values on the grid of ``grid_positions(n_side, dim)`` (M = n_side**dim), last axis.
    sigma : float
        Kernel width, in [0, 1].
    dim : {1, 2}

    Returns
    -------
    ndarray, shape (..., M)

    Notes
    -----
    Exact for the sampled wrapped Gaussian normalised to grid mean 1 (aliased
    coefficients, see ``grid_kernel_fourier``); cost O(M log M) per leading index.
    """
    v = np.asarray(values, dtype=float)
    dim = _check_dim(dim)
    M = v.shape[-1]
    n_side = int(round(M ** (1.0 / dim)))
    if n_side ** dim != M:
        raise ValueError(f"values has {M} points on its last axis; allowed: n_side**{dim}")
    gh = grid_kernel_fourier(n_side, dim, sigma)
    if dim == 1:
        return np.fft.irfft(np.fft.rfft(v, axis=-1) * gh[: n_side // 2 + 1], n=n_side, axis=-1)
    shp = v.shape[:-1] + (n_side, n_side)
    out = np.fft.irfft2(np.fft.rfft2(v.reshape(shp)) * gh[:, : n_side // 2 + 1], s=(n_side, n_side))
    return out.reshape(v.shape)


def resolve_widths(sigma, sigma_X) -> dict:
    """Kernel widths per pair from the user's short forms.

    Parameters
    ----------
    sigma : float, (sigma_E, sigma_I) or mapping {"EE", "EI", "IE", "II"} -> float
        Recurrent widths: one for all four pairs, one per presynaptic population, or per pair.
    sigma_X : float, (sigma_EX, sigma_IX) or mapping {"EX", "IX"} -> float
        Widths of the external projections.

    Returns
    -------
    dict
        Keys ``WIDTH_KEYS``, values in (0, 1].
    """
    out = {}
    if isinstance(sigma, Mapping):
        missing = {"EE", "EI", "IE", "II"} - set(sigma)
        if missing or set(sigma) - {"EE", "EI", "IE", "II"}:
            raise ValueError(f"sigma = {dict(sigma)!r}; allowed: a mapping with exactly the keys "
                             f"'EE', 'EI', 'IE', 'II'")
        out.update({k: float(sigma[k]) for k in ("EE", "EI", "IE", "II")})
    elif np.ndim(sigma) == 1 and len(sigma) == 2:
        sE, sI = (float(s) for s in sigma)
        out.update({"EE": sE, "IE": sE, "EI": sI, "II": sI})
    elif np.ndim(sigma) == 0:
        out.update({k: float(sigma) for k in ("EE", "EI", "IE", "II")})
    else:
        raise ValueError(f"sigma = {sigma!r}; allowed: a float, (sigma_E, sigma_I) or a mapping "
                         f"pair -> float")
    if isinstance(sigma_X, Mapping):
        if set(sigma_X) != {"EX", "IX"}:
            raise ValueError(f"sigma_X = {dict(sigma_X)!r}; allowed: keys 'EX', 'IX'")
        out.update({k: float(sigma_X[k]) for k in ("EX", "IX")})
    elif np.ndim(sigma_X) == 1 and len(sigma_X) == 2:
        out["EX"], out["IX"] = (float(s) for s in sigma_X)
    elif np.ndim(sigma_X) == 0:
        out["EX"] = out["IX"] = float(sigma_X)
    else:
        raise ValueError(f"sigma_X = {sigma_X!r}; allowed: a float or (sigma_EX, sigma_IX)")
    for k, v in out.items():
        _check_sigma(f"sigma_{k}", v)
    return out


# ---------------------------------------------------------------------------- balanced limit
def _profile_on_grid(profile, n_side, dim) -> np.ndarray:
    M = n_side ** dim
    if profile is None:
        return np.ones(M)
    if callable(profile):
        f = np.asarray(profile(grid_positions(n_side, dim)), dtype=float)
    else:
        f = np.asarray(profile, dtype=float)
    if f.shape != (M,) or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(f"input_profile gives shape {f.shape} on the grid; allowed: ({M},), "
                         f"finite and >= 0 (the external rate relative to r_X)")
    return f


def balanced_profile(params: NetworkParams, widths, *, dim: int = 1, n_side: int = 64,
                     input_profile=None) -> np.ndarray:
    r"""Balanced-limit rate profiles :math:`r_a(x)` on a grid, solved mode by mode.

    Parameters
    ----------
    params : NetworkParams
        Uses ``W`` (mV) and ``X`` (mV Hz).
    widths : mapping or (sigma, sigma_X)
        Kernel widths, the output of ``resolve_widths`` (or a ``(sigma, sigma_X)`` tuple
        passed to it).
    dim : {1, 2}
    n_side : int
        Grid points per dimension, >= 1.
    input_profile : callable, array (n_side**dim,) or None
        External rate relative to ``params.r_X``, :math:`f(x) \ge 0`; None means uniform.
        A callable gets the grid positions (``grid_positions``).

    Returns
    -------
    ndarray, shape (2, n_side**dim)
        :math:`r_E(x), r_I(x)` in Hz at ``grid_positions(n_side, dim)``. Not clipped: negative
        values mean that no balanced state with these widths and this input exists.

    Notes
    -----
    Per mode k, :math:`\tilde r(k) = -\tilde W(k)^{-1} \tilde X(k)` with
    :math:`\tilde W_{ab}(k) = w_{ab}\hat g_{ab}(k)`,
    :math:`\tilde X_a(k) = X_a \hat g_{aX}(k) \hat f(k)` (equation 12.1, aliased grid
    coefficients, kernels normalised to grid mean 1): the exact solution of the
    discretised balance equations. A singular
    :math:`\tilde W(k)` at a mode where the input vanishes gives 0 there. Cost
    O(M log M).

    Examples
    --------
    >>> p = NetworkParams.preset("rosenbaum2017")
    >>> r = balanced_profile(p, (0.05, 0.1), dim=2, n_side=8)
    >>> np.round(r[:, 0], 2).tolist()
    [3.59, 5.65]
    """
    dim = _check_dim(dim)
    n_side = check_int("n_side", n_side, lo=1)
    if not isinstance(widths, Mapping):
        widths = resolve_widths(*widths)
    W, X = params.W, params.X
    f = _profile_on_grid(input_profile, n_side, dim)
    shape = (n_side,) * dim
    fh = np.fft.fftn(f.reshape(shape)) / f.size
    g = {k: grid_kernel_fourier(n_side, dim, widths[k]) for k in WIDTH_KEYS}
    Wk = np.empty(shape + (2, 2))
    Xk = np.empty(shape + (2,), dtype=complex)
    for ia, a in enumerate(POPULATIONS):
        for ib, b in enumerate(POPULATIONS):
            Wk[..., ia, ib] = W[ia, ib] * g[a + b]
        Xk[..., ia] = X[ia] * g[a + "X"] * fh
    det = Wk[..., 0, 0] * Wk[..., 1, 1] - Wk[..., 0, 1] * Wk[..., 1, 0]
    small = np.abs(det) <= 1e-300
    det = np.where(small, 1.0, det)
    rE = -(Wk[..., 1, 1] * Xk[..., 0] - Wk[..., 0, 1] * Xk[..., 1]) / det
    rI = -(-Wk[..., 1, 0] * Xk[..., 0] + Wk[..., 0, 0] * Xk[..., 1]) / det
    rE = np.where(small, 0.0, rE)
    rI = np.where(small, 0.0, rI)
    out = np.stack([np.fft.ifftn(rE).real, np.fft.ifftn(rI).real]) * f.size
    return out.reshape(2, -1)


def spatial_balance_conditions(params: NetworkParams, widths, tau_rate=None) -> BalanceConditions:
    r"""Check the existence conditions of a spatial balanced state (Rosenbaum & Doiron 2014).

    Parameters
    ----------
    params : NetworkParams
    widths : mapping or (sigma, sigma_X)
        Kernel widths (see ``resolve_widths``).
    tau_rate : (float, float), optional
        Time constants of the linearised rate dynamics, s (as in ``balance_conditions``).

    Returns
    -------
    BalanceConditions
        Three checks, in this order:

        ``uniform_balance``
            The uniform (n = 0) mode has a positive, stable balanced state: every check of
            ``meanfield.balance_conditions`` passes.
        ``external_broader_than_excitation``
            :math:`\min_a \sigma_{aX} > \max_a \sigma_{aE}`. Else the balanced profile
            :math:`\tilde r(n) \propto \tilde g_{aX}(n)/\tilde g_{aE}(n)` grows with
            :math:`\lvert n\rvert` for a localised input: balance breaks at fine scales.
        ``excitation_broader_than_inhibition``
            :math:`\min_a \sigma_{aE} \ge \max_a \sigma_{aI}`. Else, at large
            :math:`\lvert n\rvert`, :math:`\tilde W(n)` is dominated by the excitatory column,
            the trace of :math:`T^{-1}\tilde W(n)` turns positive and the balanced state is
            unstable (a spatial, Turing-type instability).

        ``rates`` holds the uniform balanced rates.

    Notes
    -----
    With :math:`\sigma_{EE} = \sigma_{IE} = \sigma_E`, :math:`\sigma_{EI} = \sigma_{II} =
    \sigma_I`, :math:`\det \tilde W(n) = \tilde g_E \tilde g_I \det W` and
    :math:`\tilde r_E(n) = r_E\, \tilde g_X(n)\tilde f(n) / \tilde g_E(n)`, so the limit
    profile of E is the input smoothed by a Gaussian of width
    :math:`\sqrt{\sigma_X^2 - \sigma_E^2}`; the conditions are sufficient for per-pair widths
    too (the min/max forms above).

    Examples
    --------
    >>> p = NetworkParams.preset("rosenbaum2017")
    >>> spatial_balance_conditions(p, (0.05, 0.1)).all_passed
    True
    >>> spatial_balance_conditions(p, ((0.05, 0.1), 0.2))["excitation_broader_than_inhibition"].passed
    False
    """
    if not isinstance(widths, Mapping):
        widths = resolve_widths(*widths)
    base = balance_conditions(params, tau_rate)
    failed = [c.name for c in base if c.applicable and not c.passed]
    checks = [BalanceCheck("uniform_balance", not failed,
                           "all uniform checks pass" if not failed
                           else "failed: " + ", ".join(failed),
                           "the uniform (n = 0) mode must have a positive, stable balanced state "
                           "(meanfield.balance_conditions); where it has none, "
                           "meanfield.semi_balanced gives the N -> infinity limit")]
    sX = min(widths["EX"], widths["IX"])
    sE_max, sE_min = max(widths["EE"], widths["IE"]), min(widths["EE"], widths["IE"])
    sI = max(widths["EI"], widths["II"])
    checks.append(BalanceCheck(
        "external_broader_than_excitation", bool(sX > sE_max),
        f"sigma_X = {sX:g} vs sigma_E = {sE_max:g}",
        "external input must be broader than recurrent excitation, else the balanced profile "
        "g_X(n)/g_E(n) grows with |n| and balance breaks at fine scales"))
    checks.append(BalanceCheck(
        "excitation_broader_than_inhibition", bool(sE_min >= sI),
        f"sigma_E = {sE_min:g} vs sigma_I = {sI:g}",
        "recurrent excitation must be broader than or as broad as inhibition, else the "
        "balanced state is unstable at large |n| (spatial instability)"))
    return BalanceConditions(tuple(checks), base.rates)


# ---------------------------------------------------------------------------- input profiles
@dataclass(frozen=True)
class GaussianBump:
    r"""A localised external input given by numbers (serialisable, unlike a callable).

    :math:`r_X(x) / r_X = 1 + A\, e^{-d^2 / (2 w^2)}`, with :math:`d` the periodic distance
    from ``x`` to the centre (on the torus the Euclidean one, the same centre coordinate in
    both dimensions); pass it as ``input_profile`` of ``DegreeModel.spatial``.

    Parameters
    ----------
    centre : float
        Centre position, in [0, 1) (units of the side length).
    width : float
        Width w, in (0, 1].
    amplitude : float
        Peak relative increase A of the external rate, >= 0 (dimensionless).
    """

    centre: float = 0.5
    width: float = 0.1
    amplitude: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "centre", check_in_range("centre", self.centre, 0.0, 1.0,
                                                          hi_open=True))
        object.__setattr__(self, "width", _check_sigma("width", self.width))
        object.__setattr__(self, "amplitude", check_in_range("amplitude", self.amplitude, 0.0))

    def __call__(self, x) -> np.ndarray:
        """Relative external rate at positions ``x`` (shape (M,) or (M, 2)), shape (M,)."""
        x = np.asarray(x, float)
        d = x - self.centre
        d = d - np.round(d)
        d2 = d ** 2 if d.ndim == 1 else np.sum(d ** 2, axis=-1)
        return 1.0 + self.amplitude * np.exp(-0.5 * d2 / self.width ** 2)

    def to_dict(self) -> dict:
        """``{"kind": "gaussian_bump", "centre": ..., "width": ..., "amplitude": ...}``."""
        return {"kind": "gaussian_bump", "centre": self.centre, "width": self.width,
                "amplitude": self.amplitude}

    @classmethod
    def from_dict(cls, d) -> "GaussianBump":
        """Inverse of ``to_dict``; raises ``ParameterError`` (field ``input_profile``)."""
        if not isinstance(d, Mapping) or d.get("kind") != "gaussian_bump" \
                or set(d) - {"kind", "centre", "width", "amplitude"}:
            raise ParameterError(f"input_profile = {d!r}; allowed: a table {{kind = "
                                 f"\"gaussian_bump\", centre, width, amplitude}} or absent "
                                 f"(uniform input)", field="input_profile")
        return cls(**{k: v for k, v in d.items() if k != "kind"})


def _profile_spec(profile):
    if profile is None:
        return None
    if isinstance(profile, GaussianBump):
        return profile.to_dict()
    return repr(profile)      # described, not serialisable: from_spec refuses it


# ---------------------------------------------------------------------------- degree model
@dataclass(frozen=True, eq=False)
class Positions(LabelDistribution):
    """Uniform positions on the unit ring or torus, optionally joined by a degree factor.

    Parameters
    ----------
    space_dim : {1, 2}
        1 (ring) or 2 (torus).
    kappa : LabelDistribution or None
        Degree factor kappa (mean 1) independent of position; the label is then
        (position..., kappa).
    n_side : int
        Quadrature grid points per dimension (regular grid), >= 1.
    n_kappa : int
        Quadrature nodes of kappa, >= 1.

    Attributes
    ----------
    dim : int
        Dimension of a label: ``space_dim`` (+1 with kappa).
    """

    space_dim: int = 1
    kappa: LabelDistribution | None = None
    n_side: int = 32
    n_kappa: int = 8

    def __post_init__(self):
        _check_dim(self.space_dim)
        check_int("n_side", self.n_side, lo=1, hi=4096)
        check_int("n_kappa", self.n_kappa, lo=1, hi=256)
        if self.kappa is not None and not isinstance(self.kappa, LabelDistribution):
            raise TypeError(f"kappa must be a LabelDistribution or None, got "
                            f"{type(self.kappa).__name__}")

    @property
    def dim(self) -> int:
        """Dimension of one label (positions, plus kappa if any)."""
        return self.space_dim + (self.kappa is not None)

    def sample(self, n: int, *, seed=None) -> np.ndarray:
        """Uniform random positions (and independent kappa): shape (n,) or (n, dim)."""
        n = check_int("n", n, lo=0)
        rng = as_generator(seed)
        x = rng.random((n, self.space_dim))
        if self.kappa is not None:
            x = np.column_stack([x, self.kappa.sample(n, seed=rng)])
        return x[:, 0] if x.shape[1] == 1 else x

    def quadrature(self, n=None):
        """Regular position grid (times kappa nodes); weights uniform over positions."""
        x = grid_positions(self.n_side, self.space_dim)
        M = len(x)
        if self.kappa is None:
            return x, np.full(M, 1.0 / M)
        tk, wk = self.kappa.quadrature(self.n_kappa)
        xs = np.repeat(x.reshape(M, -1), len(tk), axis=0)
        return np.column_stack([xs, np.tile(tk, M)]), np.repeat(np.full(M, 1.0 / M), len(tk)) \
            * np.tile(wk, M)

    @property
    def mean(self):
        """Mean label: the cell centre (and the mean of kappa)."""
        m = [0.5] * self.space_dim + ([self.kappa.mean] if self.kappa is not None else [])
        return m[0] if len(m) == 1 else np.array(m)

    def to_dict(self) -> dict:
        """JSON-friendly description."""
        return {"kind": "Positions", "space_dim": self.space_dim, "n_side": self.n_side,
                "n_kappa": self.n_kappa,
                "kappa": None if self.kappa is None else self.kappa.to_dict()}


def _split(t, space_dim, has_kappa):
    t = np.asarray(t, dtype=float)
    if not has_kappa:
        return t, None
    x = t[..., 0] if space_dim == 1 else t[..., :space_dim]
    return x, t[..., -1]


@dataclass(frozen=True, eq=False)
class SpatialKernel(Kernel):
    r""":math:`m(t, t') = g_\sigma(x - x')\, \kappa^{in}(t)` with an optional in-degree factor.

    Parameters
    ----------
    sigma : float
        Wrapped-Gaussian width, in (0, 1].
    space_dim : {1, 2}
    has_kappa : bool
        Whether labels carry a last kappa column.
    in_factor : bool
        Whether the in-degree scales with the postsynaptic kappa (divided by its mean).
    kappa_mean : float
        Mean of kappa.
    """

    sigma: float = 0.1
    space_dim: int = 1
    has_kappa: bool = False
    in_factor: bool = False
    kappa_mean: float = 1.0
    description: dict = field(default_factory=dict)

    def pairs(self, t_post, t_pre):
        """Evaluate m elementwise on equally long label arrays."""
        xp, kp = _split(t_post, self.space_dim, self.has_kappa)
        xq, _ = _split(t_pre, self.space_dim, self.has_kappa)
        g = wrapped_gaussian(xp - xq, self.sigma, self.space_dim)
        if self.in_factor and kp is not None:
            g = g * kp / self.kappa_mean
        return g


@dataclass(frozen=True, eq=False)
class SpatialModel(DegreeModel):
    """A ``DegreeModel`` whose label is a position on the ring or torus (and a degree factor).

    Build it with ``DegreeModel.spatial``. Extra fields over ``DegreeModel``:

    Parameters
    ----------
    space_dim : {1, 2}
        1 (ring) or 2 (torus).
    widths : mapping
        Kernel widths per pair, keys ``WIDTH_KEYS`` (units of the side length).
    input_profile : callable or None
        External rate relative to ``params.r_X`` as a function of position (an array of
        positions, shape (M,) or (M, 2), in, values >= 0 out); None: uniform.
    in_sources : tuple of str
        Sources whose in-degree scales with kappa (when the label has kappa).
    """

    space_dim: int = 1
    widths: Mapping = field(default_factory=dict)
    input_profile: Callable | None = None
    in_sources: tuple = ("E", "I")

    def _check_normalisation(self):
        # Wrapped Gaussians have mean 1 by construction (checked by the tests against the
        # image sum); a dense check on the grid would cost O(M^2).
        return None

    def check_params(self, params, t_post=None, t_pre=None) -> None:
        """Raise ``ValueError`` if the peak probability p_ab g_ab(0) max(kappa) exceeds 1."""
        kmax = 1.0
        kap = self.kappa
        if kap is not None:
            kmax = float(np.max(kap.quadrature(64)[0])) / kap.mean
        for ia, a in enumerate(POPULATIONS):
            for ib, b in enumerate(POPULATIONS + ("X",)):
                peak = float(wrapped_gaussian(np.zeros(self.space_dim) if self.space_dim == 2
                                              else 0.0, self.widths[a + b], self.space_dim))
                k = kmax if b in self.in_sources and kap is not None else 1.0
                if params.p[ia, ib] * peak * k > 1.0:
                    raise ValueError(
                        f"p_{a}{b} * g_{a}{b}(0) = {params.p[ia, ib]:g} * {peak:.4g} = "
                        f"{params.p[ia, ib] * peak * k:.4g} > 1 (sigma_{a}{b} = "
                        f"{self.widths[a + b]:g}, dim = {self.space_dim}); allowed: <= 1 for "
                        f"independent (Bernoulli) connections; use the fixed-out-degree "
                        f"construction (graphs.sample_spatial_network(..., "
                        f"construction='fixed_outdegree')), which allows multapses")

    @property
    def kappa(self):
        """The degree-factor distribution, or None."""
        return self.labels["E"].kappa

    def ext_profile(self, x) -> np.ndarray:
        """External rate relative to r_X at positions ``x`` (ones when uniform)."""
        x = np.asarray(x, float)
        if self.input_profile is None:
            return np.ones(x.shape[0])
        return np.asarray(self.input_profile(x), float)

    def to_dict(self) -> dict:
        """JSON-friendly description (a callable input profile is described, not stored)."""
        d = super().to_dict()
        d["spatial"] = {"dim": self.space_dim, "widths": dict(self.widths),
                        "input_profile": _profile_spec(self.input_profile)}
        return d


def _spatial(cls, dim, sigma, sigma_X, *, kappa=None, kappa_cv: float = 0.0,
             in_sources=("E", "I"), input_profile=None, n_side: int | None = None,
             n_kappa: int = 8, name: str = "spatial") -> SpatialModel:
    """Body of ``DegreeModel.spatial`` (see there)."""
    dim = _check_dim(dim)
    widths = resolve_widths(sigma, sigma_X)
    bad = set(in_sources) - {"E", "I", "X"}
    if bad:
        raise ParameterError(f"in_sources contains {sorted(bad)}; allowed: 'E', 'I', 'X'",
                             field="in_sources")
    if kappa is not None or kappa_cv > 0:
        kap = make_distribution("gamma" if kappa is None else kappa, kappa_cv)
        if isinstance(kap, Constant):
            kap = None
    else:
        kap = None
    if n_side is None:
        n_side = 256 if dim == 1 else 64
    if input_profile is not None and not callable(input_profile):
        raise TypeError(f"input_profile must be callable or None, got "
                        f"{type(input_profile).__name__}")
    lab = Positions(dim, kap, n_side, n_kappa)
    kmean = 1.0 if kap is None else float(kap.mean)
    kernels = {}
    for a, b in PAIRS_REC:
        kernels[(a, b)] = SpatialKernel(widths[a + b], dim, kap is not None,
                                        b in in_sources, kmean,
                                        description={"kind": "wrapped_gaussian",
                                                     "sigma": widths[a + b]})

    def kin_x(t, _k=kap, _f="X" in in_sources, _m=kmean):
        t = np.asarray(t, float)
        if _k is None or not _f:
            return np.ones(t.shape[0] if t.ndim else ())
        return t[..., -1] / _m

    # the spec is the call: DegreeModel.from_spec(spec) rebuilds the model (a callable
    # input_profile other than GaussianBump is described by its repr and cannot be rebuilt)
    spec = {"constructor": "spatial", "dim": dim,
            "sigma": {k: widths[k] for k in ("EE", "EI", "IE", "II")},
            "sigma_X": {k: widths[k] for k in ("EX", "IX")},
            "kappa": None if kap is None else kap.to_dict(), "in_sources": list(in_sources),
            "n_side": n_side, "n_kappa": n_kappa, "input_profile": _profile_spec(input_profile)}
    return SpatialModel(labels={a: lab for a in POPULATIONS}, kernels=kernels,
                        kin_X={a: kin_x for a in POPULATIONS}, name=name, description=spec,
                        n_nodes=n_side, space_dim=dim, widths=MappingProxyType(widths),
                        input_profile=input_profile, in_sources=tuple(in_sources))


# ---------------------------------------------------------------------------- finite N
class _ProfileResult:
    """``profile`` and ``plot`` of the spatial results (rates of shape (2, M, n_kappa))."""

    rates: np.ndarray
    kappa_weights: np.ndarray

    @property
    def profile(self) -> np.ndarray:
        """Rates averaged over kappa, shape (2, M), Hz."""
        return np.tensordot(self.rates, self.kappa_weights, axes=([2], [0]))

    def plot(self, *, title: str | None = None):
        """Plot the profile against position (a map on the torus).

        Needs matplotlib (``pip install 'hetbalance[figures]'``); see
        ``meanfield.plotting.plot_spatial``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .plotting import plot_spatial
        return plot_spatial(self, title=title)


@dataclass(frozen=True)
class SpatialResult(_ProfileResult):
    r"""Finite-N self-consistent rate profile of a spatial network (``solve_spatial``).

    Attributes
    ----------
    positions : ndarray (M,) or (M, 2)
        Theory grid positions.
    kappa : ndarray (n_k,)
        Degree-factor nodes (``[1.0]`` without a degree factor); ``kappa_weights`` their weights.
    rates : ndarray (2, M, n_k)
        r_a(x, kappa), Hz.
    mu, sigma : ndarray (2, M, n_k)
        Mean input and noise amplitude, mV.
    balanced : ndarray (2, M)
        Balanced-limit profile (``balanced_profile``) on the same grid, Hz.
    gains : ndarray (2, 2)
        Position- and kappa-averaged :math:`\partial r/\partial\mu` (Hz/mV) and
        :math:`\partial r/\partial\sigma^2` (Hz/mV^2) of E and I at the solution, the input
        of ``spatial_stability``.
    N : int
    converged : bool
    residual : float
        :math:`\max|r - \Phi(r)| / \max r` at the solution.
    nfev : int
        Evaluations of the self-consistency map.
    message : str
    time_s : float
    """

    positions: np.ndarray
    kappa: np.ndarray
    kappa_weights: np.ndarray
    rates: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    balanced: np.ndarray
    gains: np.ndarray
    N: int
    converged: bool
    residual: float
    nfev: int
    message: str
    time_s: float

    @property
    def population_rates(self) -> np.ndarray:
        """Mean rate of E and I over positions and kappa, shape (2,), Hz."""
        return self.profile.mean(axis=1)

    def rate_at(self, population, x, kappa=None, *, limit: bool = False) -> np.ndarray:
        """Theory rate at positions ``x`` (and degree factors ``kappa``), Hz.

        Periodic linear (bilinear on the torus) interpolation on the theory grid, linear in
        kappa between its nodes (clamped at the end nodes). ``limit=True``: the balanced
        profile instead (kappa ignored).
        """
        a = 0 if population in ("E", 0) else 1
        x = np.asarray(x, float)
        dim = 1 if self.positions.ndim == 1 else 2
        M = self.positions.shape[0]
        n = int(round(M ** (1.0 / dim)))
        vals = self.balanced[a][:, None] if limit else self.rates[a]       # (M, n_k)
        if not limit and kappa is not None and len(self.kappa) > 1:
            k = np.clip(np.asarray(kappa, float), self.kappa[0], self.kappa[-1])
            j = np.clip(np.searchsorted(self.kappa, k) - 1, 0, len(self.kappa) - 2)
            w = (k - self.kappa[j]) / (self.kappa[j + 1] - self.kappa[j])
            cols = (j, j + 1, w)
        else:
            cols = None
        xs = x.reshape(len(x), -1) * n
        i0 = np.floor(xs).astype(np.int64)
        f = xs - i0
        out = np.zeros(len(x))
        corners = [(0,), (1,)] if dim == 1 else [(0, 0), (0, 1), (1, 0), (1, 1)]
        for c in corners:
            idx = np.zeros(len(x), dtype=np.int64)
            wgt = np.ones(len(x))
            for d in range(dim):
                ii = (i0[:, d] + c[d]) % n
                idx = idx * n + ii
                wgt = wgt * (f[:, d] if c[d] else 1.0 - f[:, d])
            if cols is None:      # no kappa given: the kappa average
                v = vals[idx, :] @ self.kappa_weights if vals.shape[1] > 1 else vals[idx, 0]
            else:
                j, j1, w = cols
                v = vals[idx, j] * (1 - w) + vals[idx, j1] * w
            out += wgt * v
        return out


def _kappa_factors(model: SpatialModel):
    r"""Degree-factor nodes, weights and in-degree factors of a spatial model.

    Returns
    -------
    tk, wk : ndarray (n_k,)
        Quadrature nodes and weights of kappa (``[1.0]``, ``[1.0]`` without a degree factor).
    fk : dict
        Per source ("E", "I", "X"): the factor :math:`\kappa/E[\kappa]` on the in-degree of
        a neuron at each node when the source is in ``model.in_sources``, else ones.
    """
    kap = model.kappa
    if kap is None:
        tk, wk, kmean = np.array([1.0]), np.array([1.0]), 1.0
    else:
        tk, wk = kap.quadrature(model.labels["E"].n_kappa)
        tk, wk, kmean = np.asarray(tk, float), np.asarray(wk, float), float(kap.mean)
    fk = {b: (tk / kmean if (kap is not None and b in model.in_sources) else np.ones(len(tk)))
          for b in ("E", "I", "X")}
    return tk, wk, fk


class _SpatialMap:
    """The self-consistency map r -> Phi(mu(r), sigma(r)) on the theory grid."""

    def __init__(self, params, model: SpatialModel, n_side, filter, table=None):
        from ._phi import PopulationTransfer, resolve_filter
        self.params = params
        self.dim = model.space_dim
        self.n_side = n_side
        self.M = n_side ** self.dim
        self.tk, self.wk, self.fk = _kappa_factors(model)
        self.nk = len(self.tk)
        self.widths = dict(model.widths)
        self.ghat = {k: grid_kernel_fourier(n_side, self.dim, v) for k, v in self.widths.items()}
        x = grid_positions(n_side, self.dim)
        self.positions = x
        f = _profile_on_grid(model.input_profile, n_side, self.dim) if model.input_profile \
            else np.ones(self.M)
        P = params
        J, K = P.J, P.K
        tau = np.array([P.neuron_E.tau_m, P.neuron_I.tau_m])
        EL = np.array([P.neuron_E.E_L, P.neuron_I.E_L])
        self.tau, self.EL = tau, EL
        self.cmu = tau[:, None] * J[:, :2] * K[:, :2]          # (2, 2) mV / Hz
        self.csig = tau[:, None] * J[:, :2] ** 2 * K[:, :2]
        ext = np.stack([self._conv(f, a + "X") for a in POPULATIONS])   # (2, M)
        self.mu_X = tau[:, None, None] * J[:, 2, None, None] * K[:, 2, None, None] * P.r_X \
            * ext[:, :, None] * self.fk["X"][None, None, :]
        self.var_X = tau[:, None, None] * J[:, 2, None, None] ** 2 * K[:, 2, None, None] \
            * P.r_X * ext[:, :, None] * self.fk["X"][None, None, :]
        n_pts = 2 * self.M * self.nk
        idx = np.arange(n_pts).reshape(2, -1)
        # EIF rates from a spline table (relative error ~1e-5) above _TABLE_POINTS points,
        # by direct threshold integration below
        self.transfer = PopulationTransfer(params, resolve_filter(params, filter),
                                           (idx[0], idx[1]),
                                           table=(n_pts > _TABLE_POINTS) if table is None
                                           else bool(table))

    def _conv(self, v, key):
        gh = self.ghat[key]
        n = self.n_side
        if self.dim == 1:
            return np.fft.irfft(np.fft.rfft(v, axis=-1) * gh[: n // 2 + 1], n=n, axis=-1)
        shp = v.shape[:-1] + (n, n)
        out = np.fft.irfft2(np.fft.rfft2(v.reshape(shp)) * gh[:, : n // 2 + 1], s=(n, n))
        return out.reshape(v.shape)

    def moments(self, r, with_sources=False):
        """mu, sigma (2, M, nk) from rates r (2, M, nk); optionally the E, I, X shares of sigma^2."""
        rbar = r @ self.wk                                      # (2, M) kappa-averaged
        mu = self.EL[:, None, None] + self.mu_X.copy()
        var_src = np.zeros((3,) + mu.shape)
        var_src[2] = self.var_X
        for ia, a in enumerate(POPULATIONS):
            for ib, b in enumerate(POPULATIONS):
                c = self._conv(rbar[ib], a + b)[:, None] * self.fk[b][None, :]
                mu[ia] += self.cmu[ia, ib] * c
                var_src[ib, ia] += self.csig[ia, ib] * c
        var = var_src.sum(axis=0)
        sig = np.sqrt(np.maximum(var, 0.0))
        return (mu, sig, var_src, var) if with_sources else (mu, sig)

    def phi(self, r, derivatives=False):
        mu, sig, var_src, var = self.moments(r, with_sources=True)
        # effective synaptic filter per point (time constant and factor on sigma), as solve
        tau_s, scale, _, _ = self.transfer.filter_terms(var_src.reshape(3, -1), var.ravel())
        out = self.transfer.evaluate(mu.ravel(), sig.ravel(), tau_s, derivatives, scale=scale)
        shape = mu.shape
        if derivatives:
            return (out[0].reshape(shape), out[1].reshape(shape), out[2].reshape(shape), mu, sig)
        return out[0].reshape(shape), mu, sig


def solve_spatial(params: NetworkParams, model: SpatialModel, N: int | None = None, *,
                  n_side: int | None = None, filter: str = "auto", tol: float = 1e-8,
                  maxiter: int = 200, initial=None, table: bool | None = None) -> SpatialResult:
    r"""Finite-N self-consistent rate profile :math:`r_a(x)` (and :math:`r_a(x, \kappa)`).

    Parameters
    ----------
    params : NetworkParams
    model : SpatialModel
        From ``DegreeModel.spatial``.
    N : int, optional
        Network size (balanced scaling); default ``params.N``.
    n_side : int, optional
        Theory grid points per dimension; default the model's (256 on the ring, 64 on the
        torus).
    filter : {"auto", "white", "fourcaud_brunel", "colored"}
        Synaptic filter of the transfer function (see ``meanfield.solve``).
    tol : float
        Stop when :math:`\max|r - \Phi(r)| \le tol\, \max(\max r, 1\,Hz)`, > 0.
    maxiter : int
        Newton-Krylov iterations, >= 1.
    initial : ndarray (2, M, n_k), optional
        Warm start; default the balanced profile (clipped to [0.01 Hz, 10 max abs(r_uniform) +
        10 Hz]).
    table : bool, optional
        EIF rates from a spline table (relative error about 1e-5, far faster) instead of
        threshold integration at every point; default: above 4096 points.

    Returns
    -------
    SpatialResult

    Notes
    -----
    Equations (4.1)-(4.2) with :math:`E_{t'}[m_{ab}(t, t') r_b(t')] =
    \kappa^{in}_{ab}(t)\, (g_{ab} * \bar r_b)(x)`, :math:`\bar r_b` the kappa-averaged rate
    of b at position x', the convolution by FFT on the grid (``convolve``). The external
    part carries :math:`(g_{aX} * f)(x)`. The root of :math:`F(r) = r - \Phi(r)` is found by
    Newton-Krylov (``scipy.optimize.newton_krylov``, LGMRES) preconditioned per Fourier
    mode with the position-averaged gains, which absorbs the :math:`\sqrt N` stiffness
    (docs/theory.md appendix A.5). Cost per map evaluation: 6 FFTs of M points plus one
    transfer-function evaluation per (x, kappa) point; above 4096 points EIF rates come from
    a spline table (relative error about 1e-5, ``meanfield._phi.EIFTable``).
    """
    from scipy.optimize import NoConvergence, newton_krylov
    from scipy.sparse.linalg import LinearOperator

    t0 = time.perf_counter()
    params = params_at_size(params, N)
    if not isinstance(model, SpatialModel):
        raise TypeError(f"model must be a SpatialModel (DegreeModel.spatial), got "
                        f"{type(model).__name__}")
    n_side = model.labels["E"].n_side if n_side is None else check_int("n_side", n_side, lo=4,
                                                                       hi=4096)
    check_in_range("tol", tol, 0.0, 1.0, lo_open=True)
    maxiter = check_int("maxiter", maxiter, lo=1)
    mp = _SpatialMap(params, model, n_side, filter, table)
    bal = balanced_profile(params, model.widths, dim=model.space_dim, n_side=n_side,
                           input_profile=model.input_profile)
    shape = (2, mp.M, mp.nk)
    if initial is None:
        # the balanced profile, clipped: where the ordering of the widths is violated it
        # oscillates with huge amplitude at fine scales (no balanced state)
        cap = 10.0 * float(np.max(np.abs(balance_conditions(params).rates))) + 10.0
        r0 = np.repeat(np.clip(bal, 0.01, cap)[:, :, None], mp.nk, axis=2)
    else:
        r0 = np.asarray(initial, float).reshape(shape)

    # per-mode preconditioner from position-averaged gains (rates of kappa-averaged moments)
    def build_prec(r):
        _, g_mu, g_sig, mu, sig = mp.phi(r, derivatives=True)
        gm = g_mu.mean(axis=(1, 2))
        gs = (g_sig / np.maximum(2.0 * sig, 1e-12)).mean(axis=(1, 2))   # d r / d var
        gh = {k: v.ravel() for k, v in mp.ghat.items()}
        nmode = mp.M
        A = np.zeros((nmode, 2, 2))
        for ia, a in enumerate(POPULATIONS):
            for ib, b in enumerate(POPULATIONS):
                A[:, ia, ib] = -(gm[ia] * mp.cmu[ia, ib] + gs[ia] * mp.csig[ia, ib]) * gh[a + b]
        A[:, 0, 0] += 1.0
        A[:, 1, 1] += 1.0
        Ainv = np.linalg.inv(A)

        def apply(v):
            v = np.asarray(v).reshape(shape)
            vbar = v @ mp.wk
            shp = (mp.n_side,) * mp.dim
            vh = np.stack([np.fft.fftn(vbar[i].reshape(shp)).ravel() for i in range(2)], -1)
            yh = np.einsum("mij,mj->mi", Ainv, vh)
            ybar = np.stack([np.fft.ifftn(yh[:, i].reshape(shp)).real.ravel() for i in range(2)])
            # kappa-resolved: deviations from the kappa mean pass unpreconditioned
            return (v - vbar[:, :, None] + ybar[:, :, None]).ravel()
        return LinearOperator((v_size, v_size), matvec=apply)

    v_size = int(np.prod(shape))

    nfev = [0]

    def F(rv):
        nfev[0] += 1
        r = rv.reshape(shape)
        return (r - mp.phi(r)[0]).ravel()

    prec = build_prec(r0)
    scale = max(float(np.max(r0)), 1.0)
    message = "converged"
    try:
        sol = newton_krylov(F, r0.ravel(), method="lgmres", inner_M=prec, f_tol=tol * scale,
                            maxiter=maxiter, line_search="armijo")
        converged = True
    except NoConvergence as e:
        sol = np.asarray(e.args[0])
        converged = False
        message = f"newton_krylov did not converge in {maxiter} iterations"
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as e:   # pragma: no cover
        sol = r0.ravel()
        converged = False
        message = f"newton_krylov failed: {e}"
    r = sol.reshape(shape)
    phi, g_mu, g_sig, mu, sig = mp.phi(r, derivatives=True)
    wts = np.outer(np.full(mp.M, 1.0 / mp.M), mp.wk)[None]
    gains = np.stack([np.sum(g_mu * wts, axis=(1, 2)),
                      np.sum(g_sig / np.maximum(2.0 * sig, 1e-12) * wts, axis=(1, 2))], axis=1)
    res = float(np.max(np.abs(r - phi))) / max(float(np.max(np.abs(r))), 1.0)
    converged = converged and res <= 10 * tol and bool(np.all(r > -1e-9))
    return SpatialResult(positions=mp.positions, kappa=np.asarray(mp.tk, float),
                         kappa_weights=np.asarray(mp.wk, float), rates=r, mu=mu, sigma=sig,
                         balanced=bal, gains=gains, N=params.N, converged=converged,
                         residual=res,
                         nfev=nfev[0], message=message, time_s=time.perf_counter() - t0)


# ---------------------------------------------------------------------------- stability
@dataclass(frozen=True)
class SpatialStability:
    """Linear stability of a stationary spatial state per wave number (``spatial_stability``).

    Attributes
    ----------
    n : ndarray (n_k,)
        Wave numbers :math:`|n|` examined (integers on the ring; radial values on the torus).
    eigenvalues : ndarray (n_k, 2), complex
        Eigenvalues of the linearised dynamics per wave number, 1/s (sorted by real part,
        largest first).
    growth : ndarray (n_k,)
        Largest real part per wave number, 1/s.
    n_max : float
        Wave number with the largest growth rate.
    growth_max : float
        Its growth rate, 1/s (> 0: unstable).
    frequency : float
        Imaginary part of that eigenvalue / 2 pi, Hz (0 for a static instability).
    kind : str
        ``"stable"``, ``"turing"`` (static, n > 0), ``"turing_hopf"`` (oscillatory, n > 0),
        ``"uniform"`` (static, n = 0) or ``"hopf"`` (oscillatory, n = 0).
    """

    n: np.ndarray
    eigenvalues: np.ndarray
    growth: np.ndarray
    n_max: float
    growth_max: float
    frequency: float
    kind: str


def spatial_stability(params: NetworkParams, widths, gains, *, N: int | None = None,
                      n_max: int = 40, tau_syn=None) -> SpatialStability:
    r"""Eigenvalues of the linearised rate dynamics per wave number, with synaptic filtering.

    Parameters
    ----------
    params : NetworkParams
    widths : mapping or (sigma, sigma_X)
        Kernel widths (``resolve_widths``).
    gains : (2,) or (2, 2) array_like
        :math:`\partial r_a/\partial \mu_a` (Hz/mV) of E and I at the stationary state, or
        rows (:math:`\partial r/\partial\mu`, :math:`\partial r/\partial\sigma^2`, Hz/mV^2)
        per population; a spatially uniform state is assumed (use position-averaged gains
        otherwise).
    N : int, optional
        Network size (balanced scaling), default ``params.N``.
    n_max : int
        Largest wave number examined, >= 1.
    tau_syn : (float, float), optional
        Synaptic time constants of E and I, s; default ``(params.tau_E, params.tau_I)``;
        both must be > 0.

    Returns
    -------
    SpatialStability

    Notes
    -----
    Synaptic variables :math:`s_b` follow :math:`\tau_b \dot s_b = -s_b + r_b(\mu(s))`,
    with :math:`\mu_a = E_L + \tau_m \sum_b J_{ab} K_{ab} (g_{ab} * s_b) + \dots` and
    :math:`\sigma^2_a = \tau_m \sum_b J_{ab}^2 K_{ab} (g_{ab} * s_b) + \dots`. Linearised per
    Fourier mode n, :math:`\dot{\delta s} = T^{-1}(-I + G C(n))\delta s` with
    :math:`C_{ab}(n) = \tilde g_{ab}(n)(\tau_{m,a} J_{ab} K_{ab})` (and the variance part),
    :math:`G = \mathrm{diag}(\partial r_a/\partial\mu_a)`, :math:`T = \mathrm{diag}(\tau_E,
    \tau_I)`; on the torus the modes depend on :math:`|n|` only (isotropic kernels),
    examined at integer :math:`|n|`.
    """
    params = params_at_size(params, N)
    if not isinstance(widths, Mapping):
        widths = resolve_widths(*widths)
    n_max = check_int("n_max", n_max, lo=1, hi=10**5)
    gains = np.asarray(gains, float)
    if gains.shape == (2,):
        gm, gs = gains, np.zeros(2)
    elif gains.shape == (2, 2):
        gm, gs = gains[:, 0], gains[:, 1]
    else:
        raise ValueError(f"gains has shape {gains.shape}; allowed: (2,) or (2, 2)")
    ts = np.asarray((params.tau_E, params.tau_I) if tau_syn is None else tau_syn, float)
    if ts.shape != (2,) or np.any(ts <= 0):
        raise ValueError(f"tau_syn = {ts.tolist()} s; allowed: two time constants > 0")
    tau_m = np.array([params.neuron_E.tau_m, params.neuron_I.tau_m])
    cmu = tau_m[:, None] * params.J[:, :2] * params.K[:, :2]
    csig = tau_m[:, None] * params.J[:, :2] ** 2 * params.K[:, :2]
    n = np.arange(0, n_max + 1, dtype=float)
    A = np.zeros((len(n), 2, 2))
    for ia, a in enumerate(POPULATIONS):
        for ib, b in enumerate(POPULATIONS):
            A[:, ia, ib] = (gm[ia] * cmu[ia, ib] + gs[ia] * csig[ia, ib]) \
                * kernel_fourier(n, widths[a + b])
    A = (A - np.eye(2)[None]) / ts[None, :, None]
    ev = np.linalg.eigvals(A)
    order = np.argsort(-ev.real, axis=1)
    ev = np.take_along_axis(ev, order, axis=1)
    growth = ev[:, 0].real
    i = int(np.argmax(growth))
    g_max = float(growth[i])
    freq = float(abs(ev[i, 0].imag)) / (2 * math.pi)
    if g_max <= 0:
        kind = "stable"
    elif n[i] == 0:
        kind = "hopf" if freq > 0 else "uniform"
    else:
        kind = "turing_hopf" if freq > 0 else "turing"
    return SpatialStability(n=n, eigenvalues=ev, growth=growth, n_max=float(n[i]),
                            growth_max=g_max, frequency=freq, kind=kind)
