"""Distributions of the degree labels theta_j (docs/theory.md section 3).

Every neuron of population a carries a label drawn from a distribution F_a. A label is a
number (an in-degree factor, say) or a vector (in-factor, out-factor). A
``LabelDistribution`` can sample labels for a realised network and give quadrature nodes
and weights for the degree-space mean-field solver.

Quadrature rule: Gauss-Legendre in probability space, nodes :math:`t_i = F^{-1}(u_i)`
with :math:`u_i` the Gauss-Legendre nodes on (0, 1) and weights the GL weights. It is
spectrally accurate for smooth functions of u, never puts a node outside the support, and
works for heavy tails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from .checks import check_array, check_in_range, check_int, check_positive
from .errors import ParameterError, ParameterTypeError
from .seeding import as_generator

__all__ = ["LabelDistribution", "Constant", "Uniform", "Gamma", "LogNormal",
           "TruncatedNormal", "Empirical", "GaussianCopula", "make_distribution",
           "distribution_from_dict", "quantile_bins"]


def quantile_bins(key, n_bins: int) -> tuple[np.ndarray, int]:
    r"""Equal-count bins of a 1-d key (e.g. the labels of one population's neurons).

    The one binning rule of hetbalance: ``graphs.stats.label_bins``, the sampler's
    presynaptic bins (``graphs.sample_network``) and ``validation.compare`` all use it.

    Parameters
    ----------
    key : array_like, shape (n,)
        Values to bin (finite).
    n_bins : int
        Number of bins, >= 1.

    Returns
    -------
    bin_id : ndarray of int64, shape (n,)
        Bin of each entry, 0 .. n_b - 1, non-decreasing in ``key``.
    n_b : int
        Number of bins: ``n_bins``, or the number of distinct values when the key takes at
        most ``n_bins`` values (then one bin per value, in increasing order).

    Notes
    -----
    With more than ``n_bins`` distinct values the entry of rank r (0-based, stable sort
    by key: ties in index order) goes to bin :math:`\lfloor r\, n_{bins} / n \rfloor`,
    so every bin holds :math:`\lfloor n/n_{bins} \rfloor` or
    :math:`\lceil n/n_{bins} \rceil` entries (ties may be split between neighbouring
    bins). For distinct values and n a multiple of ``n_bins`` these are exactly the bins
    between the quantiles ``np.quantile(key, k / n_bins)``. O(n log n).

    Examples
    --------
    >>> quantile_bins([0.3, 0.1, 0.2, 0.4], 2)
    (array([1, 0, 0, 1]), 2)
    >>> quantile_bins([2.0, 1.0, 2.0], 5)
    (array([1, 0, 1]), 2)
    """
    n_bins = check_int("n_bins", n_bins, lo=1, hi=10**6)
    key = np.asarray(key, dtype=float)
    uniq = np.unique(key)
    if len(uniq) <= n_bins:
        return np.searchsorted(uniq, key).astype(np.int64), len(uniq)
    n = key.size
    bin_id = np.empty(n, dtype=np.int64)
    bin_id[np.argsort(key, kind="stable")] = np.arange(n, dtype=np.int64) * n_bins // n
    return bin_id, n_bins


def _gl_unit(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = special.roots_legendre(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _mean_preserving(dist, n):
    # Heavy right tails make the GL-in-u mean slightly low (1e-5 at n = 64); rescale the
    # nodes so that the grid mean is exact, which keeps E[m] = 1 exact for kernels linear
    # in the label.
    t, w = LabelDistribution.quadrature(dist, n)
    return t * (dist.mean / float(np.sum(w * t))), w


class LabelDistribution:
    """Base class: a distribution of degree labels.

    Subclasses implement ``ppf`` (1-d) or override ``sample``/``quadrature``. Labels are
    dimensionless degree factors (a neuron's degree over the population mean).

    Attributes
    ----------
    dim : int
        Dimension of one label: 1, or 2 for (in-factor, out-factor) pairs.
    """

    dim: int = 1

    def ppf(self, u):  # pragma: no cover - abstract
        """Return the label at quantile ``u`` in [0, 1] (the inverse CDF), elementwise."""
        raise NotImplementedError

    def sample(self, n: int, *, seed=None) -> np.ndarray:
        """Draw ``n`` labels independently: shape (n,) or (n, dim).

        ``seed`` (keyword-only) as in ``meanfield.seeding.as_generator``.
        """
        n = check_int("n", n, lo=0)
        rng = as_generator(seed)
        return self.ppf(rng.random(n))

    def quadrature(self, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Nodes (n,) or (n, dim) and weights (n,) summing to 1."""
        n = check_int("n", n, lo=1)
        u, w = _gl_unit(n)
        return self.ppf(u), w

    @property
    def support(self) -> tuple[float, float]:
        """(lowest, highest) possible label (may be inf)."""
        return (float(self.ppf(0.0)), float(self.ppf(1.0)))

    @property
    def mean(self) -> float:
        """Mean label (by 256-node quadrature unless a subclass knows it exactly)."""
        t, w = self.quadrature(256)
        return float(np.sum(w * t)) if self.dim == 1 else np.sum(w[:, None] * t, axis=0)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dict: ``kind`` (the class name) and the fields."""
        d = {"kind": type(self).__name__}
        d.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        return d


@dataclass(frozen=True)
class Constant(LabelDistribution):
    """Every neuron has the same label ``value`` (homogeneous network).

    Parameters
    ----------
    value : float
        The label, > 0.
    """

    value: float = 1.0

    def __post_init__(self):
        check_positive("Constant.value", self.value)

    def ppf(self, u):
        """Return ``value`` at every quantile ``u``."""
        return np.full(np.shape(u), float(self.value))

    def quadrature(self, n: int = 1):
        """Return the single node ``value`` with weight 1 (``n`` is ignored)."""
        return np.array([float(self.value)]), np.array([1.0])

    @property
    def mean(self) -> float:
        """The label ``value``."""
        return float(self.value)


@dataclass(frozen=True)
class Uniform(LabelDistribution):
    """Labels uniform on [lo, hi], 0 <= lo < hi.

    Parameters
    ----------
    lo, hi : float
        Lowest and highest label, 0 <= lo < hi.
    """

    lo: float = 0.5
    hi: float = 1.5

    def __post_init__(self):
        check_in_range("Uniform.lo", self.lo, 0.0)
        if not self.hi > self.lo:
            raise ParameterError(f"Uniform.hi = {self.hi!r} must exceed Uniform.lo = {self.lo!r}",
                                 field="Uniform.hi")

    def ppf(self, u):
        """Return the label at quantile ``u``: lo + (hi - lo) u."""
        return self.lo + (self.hi - self.lo) * np.asarray(u, dtype=float)

    @property
    def mean(self) -> float:
        """Mean label, (lo + hi) / 2."""
        return 0.5 * (self.lo + self.hi)


@dataclass(frozen=True)
class Gamma(LabelDistribution):
    """Gamma-distributed labels with the given mean and coefficient of variation.

    Parameters
    ----------
    mean_value : float
        Mean label, > 0.
    cv : float
        Coefficient of variation (sd / mean), in (0, 10].
    """

    mean_value: float = 1.0
    cv: float = 0.2

    def __post_init__(self):
        check_positive("Gamma.mean_value", self.mean_value)
        check_in_range("Gamma.cv", self.cv, 0.0, 10.0, lo_open=True)

    def ppf(self, u):
        """Return the label at quantile ``u`` (gamma with shape 1/cv^2, scale mean cv^2)."""
        k = 1.0 / self.cv**2
        from scipy import stats  # imported on use: scipy.stats costs ~0.4 s at start-up
        return stats.gamma.ppf(u, k, scale=self.mean_value / k)

    def quadrature(self, n: int = 64):
        """Return ``n`` Gauss-Legendre quantile nodes and weights, rescaled to the exact mean."""
        return _mean_preserving(self, n)

    @property
    def mean(self) -> float:
        """The mean label, ``mean_value``."""
        return float(self.mean_value)


@dataclass(frozen=True)
class LogNormal(LabelDistribution):
    """Log-normal labels with the given mean and coefficient of variation.

    Parameters
    ----------
    mean_value : float
        Mean label, > 0.
    cv : float
        Coefficient of variation (sd / mean), in (0, 10].
    """

    mean_value: float = 1.0
    cv: float = 0.2

    def __post_init__(self):
        check_positive("LogNormal.mean_value", self.mean_value)
        check_in_range("LogNormal.cv", self.cv, 0.0, 10.0, lo_open=True)

    def ppf(self, u):
        """Return the label at quantile ``u`` (log-normal with sigma^2 = log(1 + cv^2))."""
        s2 = math.log1p(self.cv**2)
        return self.mean_value * np.exp(-0.5 * s2 + math.sqrt(s2) * special.ndtri(u))

    def quadrature(self, n: int = 64):
        """Return ``n`` Gauss-Legendre quantile nodes and weights, rescaled to the exact mean."""
        return _mean_preserving(self, n)

    @property
    def mean(self) -> float:
        """The mean label, ``mean_value``."""
        return float(self.mean_value)


@dataclass(frozen=True)
class TruncatedNormal(LabelDistribution):
    """Normal(loc, sd) truncated to [lo, hi] with lo >= 0.

    Parameters
    ----------
    loc, sd : float
        Mean and standard deviation of the normal before truncation, sd > 0.
    lo, hi : float
        Truncation bounds, 0 <= lo < hi.
    """

    loc: float = 1.0
    sd: float = 0.15
    lo: float = 0.6
    hi: float = 1.4

    def __post_init__(self):
        check_positive("TruncatedNormal.sd", self.sd)
        check_in_range("TruncatedNormal.lo", self.lo, 0.0)
        if not self.hi > self.lo:
            raise ParameterError(f"TruncatedNormal.hi = {self.hi!r} must exceed lo = {self.lo!r}",
                                 field="TruncatedNormal.hi")

    def ppf(self, u):
        """Return the label at quantile ``u`` of the truncated normal."""
        a, b = (self.lo - self.loc) / self.sd, (self.hi - self.loc) / self.sd
        from scipy import stats  # imported on use (start-up cost)
        return stats.truncnorm.ppf(u, a, b, loc=self.loc, scale=self.sd)

    @property
    def mean(self) -> float:
        """Mean label of the truncated normal (exact; differs from ``loc`` when truncated)."""
        a, b = (self.lo - self.loc) / self.sd, (self.hi - self.loc) / self.sd
        from scipy import stats  # imported on use (start-up cost)
        return float(stats.truncnorm.mean(a, b, loc=self.loc, scale=self.sd))


@dataclass(frozen=True, eq=False)
class Empirical(LabelDistribution):
    """Labels resampled from given values (e.g. measured in-degrees / their mean).

    ``quadrature(n)`` returns the sorted values (weights 1/len) when ``n`` is None or at
    least their number, and the means of ``n`` equal-count quantile bins otherwise.

    Parameters
    ----------
    samples : array_like (n,)
        The labels, >= 0, at least one (stored sorted and read-only).
    """

    samples: np.ndarray = field(default_factory=lambda: np.ones(1))

    def __post_init__(self):
        s = check_array("Empirical.samples", self.samples, lo=0.0)
        if s.ndim != 1 or s.size == 0:
            raise ParameterError(f"Empirical.samples must be a non-empty 1-d array, got shape "
                                 f"{s.shape}", field="Empirical.samples")
        s = np.sort(s)
        s.setflags(write=False)
        object.__setattr__(self, "samples", s)

    def ppf(self, u):
        """Return the sorted sample at quantile ``u`` (the empirical inverse CDF)."""
        idx = np.minimum((np.asarray(u) * self.samples.size).astype(np.int64), self.samples.size - 1)
        return self.samples[idx]

    def quadrature(self, n: int | None = None):
        """Return nodes and weights: the samples, or ``n`` equal-count bin means (see class)."""
        s = self.samples
        if n is None or n >= s.size:
            return s.copy(), np.full(s.size, 1.0 / s.size)
        n = check_int("n", n, lo=1)
        edges = np.linspace(0, s.size, n + 1).round().astype(np.int64)
        sums = np.add.reduceat(s, edges[:-1])
        counts = np.diff(edges)
        return sums / counts, counts / s.size

    @property
    def support(self):
        """(smallest, largest) sample."""
        return (float(self.samples[0]), float(self.samples[-1]))

    @property
    def mean(self) -> float:
        """Mean of the samples."""
        return float(self.samples.mean())

    def to_dict(self):
        """Return a JSON-friendly dict with ``kind`` and the sorted ``samples``."""
        return {"kind": "Empirical", "samples": self.samples.tolist()}


@dataclass(frozen=True, eq=False)
class GaussianCopula(LabelDistribution):
    """Two-dimensional labels (in-factor, out-factor) with given marginals.

    Joined by a Gaussian copula with correlation ``rho`` between the underlying normal
    variables (rank correlation, not Pearson correlation of the factors).

    Parameters
    ----------
    marginal_in, marginal_out : LabelDistribution
        One-dimensional distributions of the in-factor and of the out-factor.
    rho : float
        Correlation of the underlying normal variables, in [-1, 1].
    """

    marginal_in: LabelDistribution = field(default_factory=Constant)
    marginal_out: LabelDistribution = field(default_factory=Constant)
    rho: float = 0.0

    dim = 2

    def __post_init__(self):
        check_in_range("GaussianCopula.rho", self.rho, -1.0, 1.0)
        for name in ("marginal_in", "marginal_out"):
            m = getattr(self, name)
            if not isinstance(m, LabelDistribution) or m.dim != 1:
                raise ParameterTypeError(f"GaussianCopula.{name} must be a 1-d LabelDistribution",
                                         field=f"GaussianCopula.{name}")

    def _map(self, z1, z2):
        z2c = self.rho * z1 + math.sqrt(max(0.0, 1.0 - self.rho**2)) * z2
        return np.stack([self.marginal_in.ppf(special.ndtr(z1)),
                         self.marginal_out.ppf(special.ndtr(z2c))], axis=-1)

    def sample(self, n: int, *, seed=None):
        """Draw ``n`` label pairs (in-factor, out-factor), shape (n, 2); ``seed`` keyword-only."""
        n = check_int("n", n, lo=0)
        rng = as_generator(seed)
        z = rng.standard_normal((2, n))
        return self._map(z[0], z[1])

    def quadrature(self, n: int = 24):
        """Return an n x n product grid in the copula's quantiles: nodes (n^2, 2), weights (n^2,)."""
        n = check_int("n", n, lo=1)
        u, w = _gl_unit(n)
        z = special.ndtri(u)
        z1, z2 = np.meshgrid(z, z, indexing="ij")
        return self._map(z1.ravel(), z2.ravel()), np.outer(w, w).ravel()

    @property
    def support(self):
        """Lowest and highest (in-factor, out-factor), each an array of shape (2,)."""
        a, b = self.marginal_in.support, self.marginal_out.support
        return (np.array([a[0], b[0]]), np.array([a[1], b[1]]))

    @property
    def mean(self):
        """Mean (in-factor, out-factor), shape (2,): the marginals' means."""
        return np.array([self.marginal_in.mean, self.marginal_out.mean])

    def to_dict(self):
        """Return a JSON-friendly dict with ``kind``, both marginals and ``rho``."""
        return {"kind": "GaussianCopula", "marginal_in": self.marginal_in.to_dict(),
                "marginal_out": self.marginal_out.to_dict(), "rho": self.rho}


def make_distribution(dist, cv: float = 0.0, *, mean: float = 1.0, support=None) -> LabelDistribution:
    """Build a label distribution from a short description.

    Parameters
    ----------
    dist : str or LabelDistribution
        ``"gamma"``, ``"lognormal"``, ``"normal"`` (truncated normal), ``"uniform"`` or an
        instance (returned unchanged).
    cv : float
        Coefficient of variation (sd / mean), >= 0; 0 gives ``Constant(mean)``.
    mean : float
        Mean label (the location for ``"normal"``), > 0.
    support : (lo, hi), optional
        Truncation for ``"normal"`` (default mean +/- 4 sd, clipped at 0) or the interval
        for ``"uniform"`` (default mean +/- sqrt(3) sd).
    """
    if isinstance(dist, LabelDistribution):
        return dist
    check_in_range("cv", cv, 0.0, 10.0)
    check_positive("mean", mean)
    if cv == 0.0 and support is None:
        return Constant(mean)
    sd = cv * mean
    if dist == "gamma":
        return Gamma(mean, cv)
    if dist == "lognormal":
        return LogNormal(mean, cv)
    if dist in ("normal", "truncnorm", "truncated_normal"):
        lo, hi = support if support is not None else (max(0.0, mean - 4 * sd), mean + 4 * sd)
        return TruncatedNormal(mean, sd, lo, hi)
    if dist == "uniform":
        lo, hi = support if support is not None else (mean - math.sqrt(3) * sd, mean + math.sqrt(3) * sd)
        return Uniform(lo, hi)
    raise ParameterError(f"dist = {dist!r} is unknown; allowed: 'gamma', 'lognormal', 'normal', "
                         f"'uniform' or a LabelDistribution instance", field="dist")


def distribution_from_dict(d: dict) -> LabelDistribution:
    """Inverse of ``LabelDistribution.to_dict``: ``{"kind": "Gamma", "mean_value": 1, "cv": 0.2}``."""
    if not isinstance(d, dict) or "kind" not in d:
        raise ValueError(f"a label distribution must be a table with a 'kind' key, got {d!r}")
    d = dict(d)
    kind = d.pop("kind")
    classes = {c.__name__: c for c in (Constant, Uniform, Gamma, LogNormal, TruncatedNormal,
                                        Empirical, GaussianCopula)}
    if kind not in classes:
        raise ValueError(f"label distribution kind = {kind!r} is unknown; allowed: {sorted(classes)}")
    if kind == "GaussianCopula":
        for k in ("marginal_in", "marginal_out"):
            if k in d:
                d[k] = distribution_from_dict(d[k])
    if kind == "Empirical" and "samples" in d:
        d["samples"] = np.asarray(d["samples"], dtype=float)
    import dataclasses as _dc
    allowed = {f.name for f in _dc.fields(classes[kind])}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ValueError(f"label distribution {kind}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return classes[kind](**d)
