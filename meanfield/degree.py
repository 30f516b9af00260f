r"""Degree models: label distributions plus connection kernels (docs/theory.md section 3).

A connection k -> j (k in population b, j in a) exists independently with probability

.. math:: P(k \to j) = p_{ab}\, m_{ab}(\theta_j, \theta_k), \qquad E[m_{ab}] = 1,

and the external in-degree of j has mean :math:`p_{aX} N_X\, k^{in}_{aX}(\theta_j)`.
Realised in-degrees have mean :math:`p_{ab} N_b\, k^{in}_{ab}(t)` with
:math:`k^{in}_{ab}(t) = E_{t'}[m_{ab}(t, t')]`, out-degrees
:math:`p_{ab} N_a\, k^{out}_{ab}(t')` with :math:`k^{out}_{ab}(t') = E_t[m_{ab}(t, t')]`.

Kernels are low rank whenever they can be (:math:`m = \sum_r c_r f_r(t) g_r(t')`): the
solver then needs only the moments :math:`E[g_r r]`, and the graph sampler can bound the
kernel on label bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from .checks import check_in_range, check_int, renamed_keyword
from .errors import ParameterError
from .labels import (Constant, GaussianCopula, LabelDistribution, Uniform, distribution_from_dict,
                     make_distribution)
from .params import POPULATIONS

__all__ = ["Kernel", "LowRankKernel", "CallableKernel", "MatrixKernel", "DegreeModel",
           "PAIRS_REC", "resolve_model"]

PAIRS_REC = tuple((a, b) for a in POPULATIONS for b in POPULATIONS)
"""The four recurrent (post, pre) pairs, in the order EE, EI, IE, II."""

def _component(t, i):
    t = np.asarray(t, dtype=float)
    return t if t.ndim == 1 or i is None else t[..., i]


class Kernel:
    r"""A connection kernel m(t_post, t_pre). Subclasses implement ``pairs``.

    Attributes
    ----------
    factors : tuple or None
        ``((c_r, f_r, g_r), ...)`` when the kernel is :math:`\sum_r c_r f_r(t) g_r(t')`,
        else None (then ``matrix`` evaluates ``pairs`` on every pair).
    description : dict
        JSON-friendly description for provenance.
    """

    #: ``[(c_r, f_r, g_r), ...]`` when the kernel is ``sum_r c_r f_r(t) g_r(t')``, else None.
    factors: tuple | None = None
    description: dict = {}

    def pairs(self, t_post, t_pre) -> np.ndarray:  # pragma: no cover - abstract
        """Evaluate m elementwise on equally long label arrays (shape (n,) or (n, dim))."""
        raise NotImplementedError

    def matrix(self, t_post, t_pre) -> np.ndarray:
        """Evaluate m on all pairs: array of shape (len(t_post), len(t_pre))."""
        if self.factors is not None:
            out = 0.0
            for c, f, g in self.factors:
                out = out + c * np.multiply.outer(np.asarray(f(t_post), float),
                                                  np.asarray(g(t_pre), float))
            return np.broadcast_to(out, (len(t_post), len(t_pre))).copy()
        tp, tq = np.asarray(t_post, float), np.asarray(t_pre, float)
        n, m = len(tp), len(tq)
        a = np.repeat(tp, m, axis=0)
        b = np.tile(tq, (n,) + (1,) * (tq.ndim - 1))
        return self.pairs(a, b).reshape(n, m)


@dataclass(frozen=True, eq=False)
class LowRankKernel(Kernel):
    r""":math:`m(t, t') = \sum_r c_r f_r(t) g_r(t')` with vectorised callables f_r, g_r.

    Parameters
    ----------
    terms : tuple of (float, callable or None, callable or None)
        The terms ``(c_r, f_r, g_r)``; None stands for the constant 1.
    description : dict
        JSON-friendly description for provenance.
    """

    terms: tuple = ((1.0, None, None),)
    description: dict = field(default_factory=dict)

    def __post_init__(self):
        terms = []
        for c, f, g in self.terms:
            terms.append((float(c), f if f is not None else _one, g if g is not None else _one))
        object.__setattr__(self, "terms", tuple(terms))

    @property
    def factors(self):
        """The terms ``(c_r, f_r, g_r)`` of the low-rank sum (see ``Kernel.factors``)."""
        return self.terms

    @property
    def rank(self) -> int:
        """Number of terms of the low-rank sum."""
        return len(self.terms)

    def pairs(self, t_post, t_pre):
        """Evaluate m elementwise on equally long label arrays (see ``Kernel.pairs``)."""
        out = 0.0
        for c, f, g in self.terms:
            out = out + c * np.asarray(f(t_post), float) * np.asarray(g(t_pre), float)
        n = len(np.asarray(t_post))
        return np.broadcast_to(out, (n,)).astype(float)


def _one(t):
    t = np.asarray(t, dtype=float)
    return np.ones(t.shape[0] if t.ndim >= 1 else ())


@dataclass(frozen=True, eq=False)
class CallableKernel(Kernel):
    """Any vectorised callable ``m(t_post, t_pre)`` evaluated elementwise.

    Parameters
    ----------
    func : callable
        ``func(t_post, t_pre) -> ndarray``, elementwise on equally long label arrays,
        dimensionless, >= 0.
    description : dict
        JSON-friendly description for provenance.
    """

    func: Callable = None
    description: dict = field(default_factory=dict)

    def __post_init__(self):
        if not callable(self.func):
            raise TypeError(f"CallableKernel.func must be callable, got {type(self.func).__name__}")

    def pairs(self, t_post, t_pre):
        """Evaluate ``func`` elementwise on equally long label arrays (see ``Kernel.pairs``)."""
        return np.asarray(self.func(np.asarray(t_post, float), np.asarray(t_pre, float)), float)


@dataclass(frozen=True, eq=False)
class MatrixKernel(Kernel):
    """A kernel given as a matrix on discrete labels 0..n_post-1 x 0..n_pre-1.

    Use it with ``Empirical``/discrete label distributions whose labels are the integer
    class indices (``DegreeModel.from_kernel`` sets this up).

    Parameters
    ----------
    values : array_like (n_post, n_pre)
        m between every pair of classes, finite, dimensionless (stored read-only).
    description : dict
        JSON-friendly description for provenance.
    """

    values: np.ndarray = None
    description: dict = field(default_factory=dict)

    def __post_init__(self):
        v = np.array(self.values, dtype=float)
        if v.ndim != 2 or not np.all(np.isfinite(v)):
            raise ValueError("MatrixKernel.values must be a finite 2-d array")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)

    def pairs(self, t_post, t_pre):
        """Look up ``values[t_post, t_pre]`` elementwise for integer class labels."""
        i = np.asarray(t_post).astype(np.int64)
        j = np.asarray(t_pre).astype(np.int64)
        return self.values[i, j]

    def matrix(self, t_post, t_pre):
        """Return the block ``values[t_post][:, t_pre]``, shape (len(t_post), len(t_pre))."""
        i = np.asarray(t_post).astype(np.int64)
        j = np.asarray(t_pre).astype(np.int64)
        return self.values[np.ix_(i, j)]


def _dist_spec(dist):
    return dist.to_dict() if isinstance(dist, LabelDistribution) else dist


def _opt_list(x):
    return None if x is None else [float(v) for v in x]


def _scaled_component(i, scale):
    def f(t):
        return _component(t, i) / scale
    f.__qualname__ = f"label[{i}]/{scale:g}" if i is not None else f"label/{scale:g}"
    return f


def _centered(i, scale):
    def f(t):
        return _component(t, i) / scale - 1.0
    f.__qualname__ = f"label/{scale:g} - 1"
    return f


@dataclass(frozen=True, eq=False)
class DegreeModel:
    """Label distributions, recurrent kernels and the external in-degree law.

    Parameters
    ----------
    labels : mapping {"E", "I"} -> LabelDistribution
        F_a, the distribution of labels in each recurrent population.
    kernels : mapping {("E","E"), ("E","I"), ("I","E"), ("I","I")} -> Kernel
        m_ab(t_post, t_pre), normalised so that E[m_ab] = 1 over F_a x F_b.
    kin_X : mapping {"E", "I"} -> callable
        External in-degree factor k^in_aX(t), E[k^in_aX] = 1.
    name : str
        Short name (e.g. "homogeneous", "case_B").
    description : dict
        JSON-friendly description for provenance.
    n_nodes : int
        Default number of quadrature nodes per label dimension for the solver.

    Examples
    --------
    >>> m = DegreeModel.assortative(c=3.0, support=(0.5, 1.5))
    >>> t, w = m.grid("E", 8)
    >>> round(float(np.sum(w * m.kin("E", "E", t) * t)), 6)  # E[t kin(t)] = E[t^2]
    1.083333
    """

    labels: Mapping[str, LabelDistribution]
    kernels: Mapping[tuple, Kernel]
    kin_X: Mapping[str, Callable]
    name: str = "custom"
    description: dict = field(default_factory=dict)
    n_nodes: int = 64

    def __post_init__(self):
        labels = dict(self.labels)
        kernels = {tuple(k): v for k, v in dict(self.kernels).items()}
        kin_X = dict(self.kin_X)
        for a in POPULATIONS:
            if a not in labels or not isinstance(labels[a], LabelDistribution):
                raise ValueError(f"DegreeModel.labels must map each of {POPULATIONS} to a "
                                 f"LabelDistribution; got keys {sorted(labels)}")
            if a not in kin_X or not callable(kin_X[a]):
                raise ValueError(f"DegreeModel.kin_X must map each of {POPULATIONS} to a callable")
        extra = set(labels) - set(POPULATIONS)
        if extra:
            raise ValueError(f"DegreeModel.labels has unknown populations {sorted(extra)}; "
                             f"allowed: {POPULATIONS} (params and model populations must match)")
        for pair in PAIRS_REC:
            if pair not in kernels or not isinstance(kernels[pair], Kernel):
                raise ValueError(f"DegreeModel.kernels must map each of {PAIRS_REC} to a Kernel; "
                                 f"missing or invalid: {pair}")
        if set(kernels) - set(PAIRS_REC):
            raise ValueError(f"DegreeModel.kernels has unknown pairs {sorted(set(kernels) - set(PAIRS_REC))}")
        check_int("DegreeModel.n_nodes", self.n_nodes, lo=1, hi=4096)
        object.__setattr__(self, "labels", MappingProxyType(labels))
        object.__setattr__(self, "kernels", MappingProxyType(kernels))
        object.__setattr__(self, "kin_X", MappingProxyType(kin_X))
        self._check_normalisation()

    # ------------------------------------------------------------------ grids
    def grid(self, a: str, n_nodes: int | None = None, *, n: int | None = None):
        """Quadrature nodes and weights of population ``a``'s label distribution.

        ``n_nodes`` nodes (default ``self.n_nodes``; for 2-d labels about
        sqrt(8 n_nodes) per dimension); ``n`` is its deprecated name.
        """
        n_nodes = renamed_keyword("n_nodes", n_nodes, "n", n)
        dist = self.labels[a]
        if isinstance(dist, Constant):
            return dist.quadrature()
        if dist.dim == 2 and n_nodes is None:
            n_nodes = max(8, int(round(np.sqrt(self.n_nodes * 8))))
        return dist.quadrature(self.n_nodes if n_nodes is None else n_nodes)

    def kernel_matrix(self, a: str, b: str, n_nodes: int | None = None, *,
                      n: int | None = None) -> np.ndarray:
        """m_ab on the quadrature grids of a (rows) and b (columns); ``n_nodes`` as in ``grid``."""
        n_nodes = renamed_keyword("n_nodes", n_nodes, "n", n)
        ta, _ = self.grid(a, n_nodes)
        tb, _ = self.grid(b, n_nodes)
        return self.kernels[(a, b)].matrix(ta, tb)

    def kin(self, a: str, b: str, t) -> np.ndarray:
        """In-degree factor k^in_ab(t) = E_t'[m_ab(t, t')] (t' ~ F_b), or k^in_aX for b = "X"."""
        if b == "X":
            return np.asarray(self.kin_X[a](np.asarray(t, float)), float) * np.ones(len(np.asarray(t)))
        tb, wb = self.grid(b)
        k = self.kernels[(a, b)]
        if k.factors is not None:
            return sum(c * np.asarray(f(t), float) * float(np.sum(wb * g(tb))) for c, f, g in k.factors) \
                * np.ones(len(np.asarray(t)))
        return k.matrix(t, tb) @ wb

    def kout(self, a: str, b: str, t) -> np.ndarray:
        """Out-degree factor k^out_ab(t') = E_t[m_ab(t, t')] (t ~ F_a) of a neuron in b."""
        ta, wa = self.grid(a)
        k = self.kernels[(a, b)]
        if k.factors is not None:
            return sum(c * float(np.sum(wa * f(ta))) * np.asarray(g(t), float) for c, f, g in k.factors) \
                * np.ones(len(np.asarray(t)))
        return wa @ k.matrix(ta, t)

    def _check_normalisation(self):
        for a in POPULATIONS:
            ta, wa = self.grid(a)
            kx = np.sum(wa * self.kin(a, "X", ta))
            if abs(kx - 1.0) > 1e-3:
                raise ValueError(f"DegreeModel.kin_X[{a!r}] has mean {kx:.6g} over F_{a}; "
                                 f"allowed: mean 1 (normalise the external in-degree factor)")
            for b in POPULATIONS:
                tb, wb = self.grid(b)
                M = self.kernels[(a, b)].matrix(ta, tb)
                if not np.all(np.isfinite(M)):
                    raise ValueError(f"kernel m_{a}{b} is not finite on the label grid")
                if np.any(M < 0):
                    i, j = np.unravel_index(np.argmin(M), M.shape)
                    raise ValueError(f"kernel m_{a}{b} = {M[i, j]:.4g} < 0 at labels t = {ta[i]}, "
                                     f"t' = {tb[j]}; allowed: m >= 0 (a probability p m must be in [0, 1])")
                mean = float(wa @ M @ wb)
                if abs(mean - 1.0) > 1e-3:
                    raise ValueError(f"kernel m_{a}{b} has E[m] = {mean:.6g}; allowed: E[m] = 1 "
                                     f"(normalise the kernel over the label distributions)")

    def check_params(self, params, t_post=None, t_pre=None) -> None:
        """Raise ``ValueError`` if p_ab m_ab leaves [0, 1] on the grids (or the given labels)."""
        p = params.p
        for ia, a in enumerate(POPULATIONS):
            ta = self.grid(a)[0] if t_post is None else t_post[a]
            for ib, b in enumerate(POPULATIONS):
                tb = self.grid(b)[0] if t_pre is None else t_pre[b]
                M = self.kernels[(a, b)].matrix(ta, tb)
                pm = p[ia, ib] * M
                if np.any(pm > 1.0 + 1e-12) or np.any(pm < 0):
                    i, j = np.unravel_index(np.argmax(np.abs(pm - 0.5)), pm.shape)
                    raise ValueError(f"p_{a}{b} * m_{a}{b} = {p[ia, ib]:g} * {M[i, j]:.4g} = "
                                     f"{pm[i, j]:.4g} at labels t = {ta[i]}, t' = {tb[j]}; "
                                     f"allowed: [0, 1] (a connection probability)")

    def to_dict(self) -> dict:
        """JSON-friendly description (callables are described, not serialised).

        For models built by the named constructors, ``DegreeModel.from_spec(m.spec)``
        rebuilds an equivalent model; ``to_dict`` adds the label distributions for readers.
        """
        return {"name": self.name, "spec": self.spec,
                "labels": {a: d.to_dict() for a, d in self.labels.items()},
                "n_nodes": self.n_nodes}

    @property
    def spec(self) -> dict:
        """The constructor call that built this model: ``{"constructor": ..., args...}``."""
        return dict(self.description)

    @classmethod
    def from_spec(cls, spec: dict) -> "DegreeModel":
        """Rebuild a model from ``spec`` (see ``spec``); unknown keys raise ``ValueError``."""
        if not isinstance(spec, Mapping) or "constructor" not in spec:
            raise ValueError(f"a degree-model spec must be a table with a 'constructor' key, got {spec!r}")
        spec = dict(spec)
        name = spec.pop("constructor")
        allowed = {
            "homogeneous": set(),
            "separable": {"in_dist", "in_cv", "out_dist", "out_cv", "rho", "in_sources",
                          "in_support", "out_support", "n_nodes"},
            "recurrent_indegree": {"dist", "cv", "support", "n_nodes"},
            "all_indegree": {"dist", "cv", "support", "n_nodes"},
            "assortative": {"c", "support", "dist", "n_nodes"},
            "spatial": {"dim", "sigma", "sigma_X", "kappa", "kappa_cv", "in_sources",
                        "input_profile", "n_side", "n_kappa", "name"},
        }
        if name not in allowed:
            raise ValueError(f"degree-model constructor = {name!r} is unknown or not "
                             f"serialisable; allowed: {sorted(allowed)}")
        unknown = sorted(set(spec) - allowed[name])
        if unknown:
            raise ValueError(f"degree model {name}: unknown key(s) {unknown}; "
                             f"allowed: {sorted(allowed[name])}")
        for k in ("dist", "in_dist", "out_dist"):
            if isinstance(spec.get(k), Mapping):
                spec[k] = distribution_from_dict(dict(spec[k]))
        for k in ("support", "in_support", "out_support"):
            if spec.get(k) is not None:
                spec[k] = tuple(spec[k])
        if "in_sources" in spec:
            spec["in_sources"] = tuple(spec["in_sources"])
        if name == "spatial":
            return cls._spatial_from_spec(spec)
        # None is passed through: it is every optional argument's own default, except
        # assortative's support, where None (with a dist) means "the dist decides".
        return getattr(cls, name)(**spec)

    @classmethod
    def _spatial_from_spec(cls, spec: dict) -> "DegreeModel":
        from .spatial import GaussianBump
        for k in ("dim", "sigma", "sigma_X"):
            if k not in spec:
                raise ParameterError(f"spatial model: missing key {k!r} (required: dim, sigma, "
                                     f"sigma_X)", field=k)
        if isinstance(spec.get("kappa"), Mapping):
            spec["kappa"] = distribution_from_dict(dict(spec["kappa"]))
        for k in ("sigma", "sigma_X"):
            if isinstance(spec[k], (list, tuple)):
                spec[k] = tuple(spec[k])
        prof = spec.get("input_profile")
        if isinstance(prof, str):
            raise ParameterError(f"input_profile = {prof!r} is a callable, which a spec cannot "
                                 f"hold; allowed: absent (uniform input) or a Gaussian bump "
                                 f"{{kind = \"gaussian_bump\", centre, width, amplitude}}",
                                 field="input_profile")
        if prof is not None:
            spec["input_profile"] = GaussianBump.from_dict(prof)
        if spec.get("kappa") is None:
            spec.pop("kappa", None)
        return cls.spatial(**spec)

    @property
    def is_homogeneous(self) -> bool:
        """True when every population has a constant label (the homogeneous network)."""
        return all(isinstance(self.labels[a], Constant) for a in POPULATIONS)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def homogeneous(cls) -> "DegreeModel":
        """Erdos-Renyi: m = 1, k^in_aX = 1, every label 1."""
        k = LowRankKernel(((1.0, None, None),), description={"kind": "constant"})
        return cls(labels={a: Constant(1.0) for a in POPULATIONS},
                   kernels={p: k for p in PAIRS_REC},
                   kin_X={a: _one for a in POPULATIONS}, name="homogeneous",
                   description={"constructor": "homogeneous"}, n_nodes=1)

    @classmethod
    def separable(cls, in_dist="gamma", in_cv: float = 0.0, out_dist="gamma",
                  out_cv: float = 0.0, rho: float = 0.0, *,
                  in_sources: Sequence[str] = ("E", "I"), in_support=None, out_support=None,
                  n_nodes: int = 64, name: str = "separable", _spec=None) -> "DegreeModel":
        r"""Separable (Chung-Lu-like) kernel :math:`m_{ab}(t, t') = \alpha_{ab}(t)\beta(t')`.

        Each neuron's label is (in-factor, out-factor), both of mean 1, with marginals
        ``in_dist``/``out_dist`` of CVs ``in_cv``/``out_cv`` joined by a Gaussian copula of
        correlation ``rho`` (in/out correlation within a neuron). The in-factor multiplies
        the in-degree from each source in ``in_sources`` (any of "E", "I", "X"); sources not
        listed keep homogeneous in-degrees. The out-factor scales all recurrent out-degrees.

        Parameters
        ----------
        in_dist, out_dist : str or LabelDistribution
            See ``meanfield.labels.make_distribution``.
        in_cv, out_cv : float
            Coefficients of variation of the factors, >= 0.
        rho : float
            Gaussian-copula correlation of in- and out-factor, in [-1, 1].
        in_sources : sequence of {"E", "I", "X"}
            Sources whose in-degree follows the in-factor.
        """
        bad = set(in_sources) - {"E", "I", "X"}
        if bad:
            raise ParameterError(f"in_sources contains {sorted(bad)}; allowed: 'E', 'I', 'X'",
                                 field="in_sources")
        check_in_range("rho", rho, -1.0, 1.0)
        d_in = make_distribution(in_dist, in_cv, support=in_support)
        d_out = make_distribution(out_dist, out_cv, support=out_support)
        has_in, has_out = not isinstance(d_in, Constant), not isinstance(d_out, Constant)
        if has_in and has_out:
            dist, i_in, i_out = GaussianCopula(d_in, d_out, rho), 0, 1
        elif has_out:
            dist, i_in, i_out = d_out, None, None
        else:
            dist, i_in, i_out = d_in, None, None
        alpha = _scaled_component(i_in, d_in.mean) if has_in else _one
        beta = _scaled_component(i_out, d_out.mean) if has_out else _one
        kernels = {}
        for a, b in PAIRS_REC:
            f = alpha if b in in_sources else _one
            kernels[(a, b)] = LowRankKernel(((1.0, f, beta),),
                                            description={"kind": "separable"})
        kx = alpha if "X" in in_sources else _one
        desc = _spec or {"constructor": "separable", "in_dist": _dist_spec(in_dist),
                         "in_cv": float(in_cv), "out_dist": _dist_spec(out_dist),
                         "out_cv": float(out_cv), "rho": float(rho),
                         "in_sources": list(in_sources), "in_support": _opt_list(in_support),
                         "out_support": _opt_list(out_support), "n_nodes": n_nodes}
        return cls(labels={a: dist for a in POPULATIONS}, kernels=kernels,
                   kin_X={a: kx for a in POPULATIONS}, name=name, description=desc,
                   n_nodes=n_nodes)

    @classmethod
    def recurrent_indegree(cls, dist="gamma", cv: float = 0.2, *, support=None,
                           n_nodes: int = 64) -> "DegreeModel":
        """Case B: recurrent in-degree factor t (E and I sources), homogeneous external input.

        m_ab(t, t') = t / E[t]; the external in-degree is homogeneous, so the O(sqrt N)
        drive sqrt(N) [t (W R)_a + X_a] cannot vanish for every t: balance breaks.
        """
        spec = {"constructor": "recurrent_indegree", "dist": _dist_spec(dist), "cv": float(cv),
                "support": _opt_list(support), "n_nodes": n_nodes}
        return cls.separable(dist, cv, in_sources=("E", "I"), in_support=support,
                             n_nodes=n_nodes, name="recurrent_indegree", _spec=spec)

    @classmethod
    def all_indegree(cls, dist="gamma", cv: float = 0.2, *, support=None,
                     n_nodes: int = 64) -> "DegreeModel":
        """Case A: every in-degree (E, I and X) scales with the label t; balance holds."""
        spec = {"constructor": "all_indegree", "dist": _dist_spec(dist), "cv": float(cv),
                "support": _opt_list(support), "n_nodes": n_nodes}
        return cls.separable(dist, cv, in_sources=("E", "I", "X"), in_support=support,
                             n_nodes=n_nodes, name="all_indegree", _spec=spec)

    @classmethod
    def assortative(cls, c: float = 3.0, support=(0.5, 1.5), *, dist=None,
                    n_nodes: int = 64) -> "DegreeModel":
        """Case C: :math:`m(t, t') = t t' + c (t - 1)(t' - 1)` for every recurrent pair.

        Labels uniform on ``support`` (mean 1 required) unless ``dist`` is given. In- and
        out-degree are both proportional to t; c > 0 is assortative. m >= 0 on [a, 2 - a]
        needs c <= a (2 - a) / (1 - a)^2.
        """
        check_in_range("c", c, -1e6, 1e6)
        spec = {"constructor": "assortative", "c": float(c), "support": _opt_list(support),
                "dist": None if dist is None else _dist_spec(dist), "n_nodes": n_nodes}
        if dist is None:
            if support is None:
                raise ValueError("assortative needs a label support (lo, hi) or a dist; got neither")
            lo, hi = support
            dist = Uniform(lo, hi)
        dist = make_distribution(dist)
        mean = dist.mean
        if abs(mean - 1.0) > 1e-9:
            raise ParameterError(f"assortative labels must have mean 1, got mean {mean!r} "
                                 f"(support={support!r})",
                                 field="support" if spec["dist"] is None else "dist")
        ident = _scaled_component(None, 1.0)
        cen = _centered(None, 1.0)
        k = LowRankKernel(((1.0, ident, ident), (float(c), cen, cen)),
                          description={"kind": "assortative", "c": float(c)})
        return cls(labels={a: dist for a in POPULATIONS}, kernels={p: k for p in PAIRS_REC},
                   kin_X={a: _one for a in POPULATIONS}, name="assortative",
                   description=spec,
                   n_nodes=n_nodes)

    @classmethod
    def spatial(cls, dim: int, sigma, sigma_X, **kwargs):
        """Distance-dependent connectivity on the ring (dim 1) or torus (dim 2).

        Label = position (and, with ``kappa``/``kappa_cv``, a degree factor: label =
        (position, kappa)). Kernels are wrapped Gaussians of width ``sigma`` (float,
        (sigma_E, sigma_I) by presynaptic population, or per pair) and ``sigma_X`` for the
        external layer. Keywords: ``kappa``, ``kappa_cv``, ``in_sources``,
        ``input_profile``, ``n_side``, ``n_kappa``, ``name``. See
        ``meanfield.spatial.SpatialModel`` (docs/theory.md section 12).
        """
        from .spatial import _spatial
        return _spatial(cls, dim, sigma, sigma_X, **kwargs)

    @classmethod
    def from_kernel(cls, kernel, labels, *, kin_X=None, name: str = "custom",
                    n_nodes: int = 64) -> "DegreeModel":
        """Build a model from any kernel.

        Parameters
        ----------
        kernel : Kernel, callable m(t_post, t_pre), 2-d array, or a mapping pair -> one of those
            A callable is evaluated elementwise on label arrays; an (n_a, n_b) matrix
            defines m between discrete label classes 0..n-1 (then ``labels`` gives the class
            probabilities: a 1-d array of weights per population, or one array for all).
        labels : LabelDistribution, array of class weights, or mapping population -> those
        kin_X : callable or mapping population -> callable, optional
            External in-degree factor (default 1).
        """
        def as_labels(x):
            if isinstance(x, LabelDistribution):
                return x
            w = np.asarray(x, dtype=float)
            if w.ndim != 1 or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
                raise ValueError("class weights for a matrix kernel must be a 1-d non-negative array")
            return _Classes(w / w.sum())

        def as_kernel(k):
            if isinstance(k, Kernel):
                return k
            if callable(k):
                return CallableKernel(k, description={"kind": "callable", "repr": repr(k)})
            return MatrixKernel(np.asarray(k, float), description={"kind": "matrix"})

        lab = labels if isinstance(labels, Mapping) else {a: labels for a in POPULATIONS}
        lab = {a: as_labels(v) for a, v in lab.items()}
        ker = kernel if isinstance(kernel, Mapping) else {p: kernel for p in PAIRS_REC}
        ker = {tuple(p): as_kernel(v) for p, v in ker.items()}
        if kin_X is None:
            kin_X = _one
        kx = kin_X if isinstance(kin_X, Mapping) else {a: kin_X for a in POPULATIONS}
        return cls(labels=lab, kernels=ker, kin_X=kx, name=name,
                   description={"constructor": "from_kernel", "serialisable": False},
                   n_nodes=n_nodes)


@dataclass(frozen=True, eq=False)
class _Classes(LabelDistribution):
    """Discrete label classes 0..n-1 with probabilities ``weights`` (for matrix kernels)."""

    weights: np.ndarray = None

    def ppf(self, u):
        c = np.cumsum(self.weights)
        return np.minimum(np.searchsorted(c, np.asarray(u) * c[-1], side="right"),
                          len(self.weights) - 1).astype(float)

    def quadrature(self, n=None):
        return np.arange(len(self.weights), dtype=float), np.asarray(self.weights, float)

    @property
    def mean(self):
        return float(np.sum(np.arange(len(self.weights)) * self.weights))

    def to_dict(self):
        return {"kind": "Classes", "weights": np.asarray(self.weights).tolist()}


def resolve_model(model, *, allow_none: bool = True) -> DegreeModel:
    """Return ``model`` checked to be a ``DegreeModel``.

    ``None`` means ``DegreeModel.homogeneous()`` (when ``allow_none``).
    """
    if model is None and allow_none:
        return DegreeModel.homogeneous()
    if not isinstance(model, DegreeModel):
        raise TypeError(f"model must be a DegreeModel, got {type(model).__name__}")
    return model
