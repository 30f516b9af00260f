"""Results of the mean-field solvers: the solution and its status; diagnostics on request.

``MeanFieldResult`` (degree space, ``solve``) and ``NetworkMeanFieldResult`` (a realised
graph, ``solve_network``) store the self-consistent state (rates, mean inputs by source,
noise), what is needed to interpret it (labels, weights, degree factors, parameters) and
how the solver ended (``status``, ``residual``, ``message``, counts). The balance and rate
diagnostics (``drive``, ``balance_index``, ``mean_rate``, silent and saturated fractions,
slopes, ``R``, ``imbalance``) are properties computed by ``meanfield.diagnostics``, the
one place that defines them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import diagnostics as dg
from .checks import check_array, check_int, check_nonnegative
from .labels import quantile_bins
from .params import POPULATIONS, NetworkParams, population_index
from .roots import CONVERGED, status_name

__all__ = ["MeanFieldResult", "NetworkMeanFieldResult"]


def _neuron_constants(params: NetworkParams, name: str) -> np.ndarray:
    """(2, 1) array of a neuron constant (E row, I row) for broadcasting over labels."""
    return np.array([[getattr(nr, name)] for nr in params.neurons])


# =============================================================================== degree space
@dataclass(frozen=True, eq=False)
class MeanFieldResult:
    r"""Solution of the degree-space self-consistency (frozen).

    Per-label arrays have shape (2, n): row 0 is E, row 1 is I, columns the quadrature
    nodes of the label distribution (``t``, ``weights``). Populations with fewer nodes are
    padded with zero-weight copies of their last node, so always average with ``weights``.

    Attributes
    ----------
    rate : ndarray (2, n)
        Self-consistent rate of each label, Hz.
    mu : ndarray (2, n)
        Mean input (absolute, includes E_L), mV.
    sigma : ndarray (2, n)
        Input noise amplitude, mV (Brunel convention: free variance sigma^2/2).
    tau_s : ndarray (2, n)
        Effective synaptic time constant used by the filter, s (0 for white noise).
    sigma_scale : ndarray (2, n)
        Factor on ``sigma`` that goes with ``tau_s`` (the transfer function sees
        ``sigma * sigma_scale``): 1 except for ``filter="colored"``, whose moments rule
        (``meanfield.effective_filter``) gives 0.97-0.99 at the presets' operating points.
    mean_input : ndarray (2, n, 3)
        Mean input of each label by source E, I, X, mV:
        :math:`\tau_m J_{ab} K_{ab} E_{t'}[m_{ab} r_b]` and
        :math:`\tau_m J_{aX} K_{aX} k^{in}_{aX}(t) r_X`; ``mu`` = E_L + their sum.
    t : ndarray (2, n[, dim])
        Labels.
    weights : ndarray (2, n)
        Quadrature weights (each row sums to 1).
    label : ndarray (2, n)
        Scalar label coordinate (the label, or its in-degree component for vector labels).
    kin : ndarray (2, 3, n)
        In-degree factors :math:`k^{in}_{ab}(t)` for b = E, I, X (mean in-degree K_ab
        times this factor is the in-degree of a neuron with label t).
    kout : ndarray (2, 2, n)
        ``kout[a, b, j]`` = :math:`k^{out}_{ab}(t_{b,j}) = E_t[m_{ab}(t, t_{b,j})]`.
    silent_rate : float
        Hz; labels below it count as silent.
    saturated_rate : ndarray (2,)
        Hz; labels above it count as saturated (inf when tau_ref = 0).
    status : int
        ``meanfield.roots`` status code: ``CONVERGED`` (0) or why the solver stopped
        (``MAXITER``, ``STALL``, ``LINE_SEARCH_FAILED``, ``DEADLINE``, ``DOMAIN``,
        ``FALLBACKS_FAILED``, ``NO_START``, ``INACCURATE``).
    residual : float
        Relative residual :math:`\max_k |F_k(G)| / \max_k |G_k|` of the moment equations
        at the returned solution (inf when F cannot be evaluated there).
    iterations : int
        Iterations of every method and stage tried.
    nfev : int
        Evaluations of the transfer function on the whole grid.
    method : str
        The method (a name in ``meanfield.roots.METHODS``) that produced the returned
        moments: "newton", "relaxation", "continuation" or "newton_krylov"; "none" when no
        start point existed.
    message : str
        What the solver did; starts with "did not converge: " when ``converged`` is False.
    N : int
        Number of recurrent neurons the solution is for.
    params : NetworkParams
        The parameters at size N.
    model_name : str
        ``DegreeModel.name`` of the model solved.
    filter : (str, str)
        Filter used by E and I ("white" or "fourcaud_brunel").
    moments : ndarray (m,)
        The solver's unknowns G (for warm starts).
    wall_time : float
        Wall time of the solve, s (``elapsed`` is a deprecated alias).
    spread : bool
        True when solved with the spread of mean input within a label (``solve(...,
        spread=True)``, docs/theory.md section 10): a neuron of label t has the rate
        :math:`\Phi(\mu(t) + \sigma_q(t) z, \sigma(t); \tau_s(t))`, z ~ N(0, 1), and
        ``rate`` is its average over z.
    sigma_q : ndarray (2, n)
        Standard deviation of the mean input across the neurons of each label, mV (zeros
        without spread).
    noise_slope : ndarray (2, n)
        :math:`c(t)`, mV^2: a neuron at z has the noise variance :math:`\sigma^2(t) + c(t) z`
        (its realised noise variance regressed on its realised mean input,
        :math:`c = \mathrm{Cov}(\delta\mu, \delta\sigma^2)/\sigma_q
        = \sum_b J_{ab} v_b / \sigma_q` with :math:`v_b` = ``quenched_variance``;
        zeros without spread).
    rate_sq : ndarray (2, n)
        Second moment :math:`E_z[r^2]` of the rate within each label, Hz^2 (``rate**2``
        without spread).
    quenched_variance : ndarray (2, n, 3)
        The parts of :math:`\sigma_q^2` from the E, I and X inputs, mV^2 (zeros without
        spread): :math:`\tau_m^2 J_{ab}^2 K_{ab} E_{t'}[m_{ab}(1 - p_{ab} m_{ab})
        E(r_b^2 | t')]` and :math:`\tau_m^2 J_{aX}^2 \mathrm{Var}(K_{jX} | t)\, r_X^2`.
    second_moments : ndarray (m2,)
        The solver's second-moment unknowns (for warm starts; empty without spread).
    spread_nodes : int
        Gauss-Hermite nodes of the z-average (0 without spread).
    sigma_scale : ndarray (2, n)
        Noise factor of the filter rule (``meanfield.effective_filter``; ones for the
        white and Fourcaud-Brunel filters).
    fano : ndarray (2,)
        Variance factors :math:`(F_E, F_I)` of the presynaptic spike trains used
        (``solve(fano=...)``, docs/theory.md section 10, eq. (10.5)); ones for Poisson.
    fano_rule : str
        "poisson", "fixed" (given by the caller) or "renewal" (self-consistent,
        ``meanfield.renewal.population_fano``).
    converged : bool
        ``status == CONVERGED``, i.e. ``residual <= tol`` (a property, like every
        attribute below: diagnostics computed by ``meanfield.diagnostics`` on access).
    drive : ndarray (2, n)
        Net mean drive :math:`(\mu - E_L)/\tau_m`, mV/s. It equals
        :math:`\sqrt N\,[\sum_b w_{ab}E_{t'}[m_{ab} r_b] + X_a k^{in}_{aX}(t)]`, the
        O(sqrt N) bracket of condition (B) times sqrt(N) (up to the rounding of N_b = q_b N):
        O(1) when balanced, O(sqrt N) where balance breaks.
    balance_index : ndarray (2, n)
        :math:`|\mu - E_L| / (\mu_{exc} - E_L)`, the net mean input over its excitatory
        part (E and X inputs); ~1/sqrt(N) when balanced, O(1) when not; NaN where a label
        receives no excitatory input.
    indegree : ndarray (2, n)
        Mean total in-degree (E + I + X synapses) of a neuron with each label.
    mean_rate : ndarray (2,)
        Population mean rate :math:`E_t[r_a(t)]`, Hz.
    R : ndarray (2, 2)
        Out-degree-weighted rates ``R[a, b]`` = :math:`E_{t'}[k^{out}_{ab}(t') r_b(t')]`, Hz:
        the mean rate of the source of a random synapse b -> a (row: target population a,
        column: source b; the :math:`R_{ab}` of docs/theory.md section 4). The realised-graph
        counterpart pooled over targets is ``NetworkMeanFieldResult.R_pooled`` (2,).
    fraction_silent, fraction_saturated : ndarray (2,)
        Weight of labels with rate < ``silent_rate`` and > ``saturated_rate``; with
        ``spread``, the fraction of neurons (labels and z) below / above.
    rate_indegree_slope : ndarray (2,)
        Weighted least-squares slope of rate against total in-degree, Hz per synapse; its
        sign is ``rate_indegree_sign``. NaN when all labels have the same in-degree.
    mu_slope : ndarray (2,)
        Weighted least-squares slope of mu against ``label``, mV per unit label (NaN for a
        single label).
    mu_spread : ndarray (2,)
        Standard deviation of mu across labels (weighted), mV.
    imbalance : ndarray (2,)
        RMS over labels of drive/sqrt(N) relative to the RMS of the external bracket
        :math:`X_a k^{in}_{aX}`; ~1/sqrt(N) when balanced, O(1) when not.
    """

    rate: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    tau_s: np.ndarray
    mean_input: np.ndarray
    t: np.ndarray
    weights: np.ndarray
    label: np.ndarray
    kin: np.ndarray
    kout: np.ndarray
    silent_rate: float
    saturated_rate: np.ndarray
    status: int
    residual: float
    iterations: int
    nfev: int
    method: str
    message: str
    N: int
    params: NetworkParams
    model_name: str
    filter: tuple
    moments: np.ndarray
    wall_time: float = 0.0
    spread: bool = False
    sigma_q: np.ndarray | None = None
    noise_slope: np.ndarray | None = None
    rate_sq: np.ndarray | None = None
    quenched_variance: np.ndarray | None = None
    second_moments: np.ndarray | None = None
    spread_nodes: int = 0
    sigma_scale: np.ndarray | None = None
    fano: np.ndarray | None = None
    fano_rule: str = "poisson"

    def __post_init__(self):
        if self.fano is None:
            object.__setattr__(self, "fano", np.ones(2))
        if self.sigma_scale is None:
            object.__setattr__(self, "sigma_scale", np.ones(np.shape(self.rate)))
        if self.sigma_q is None:
            object.__setattr__(self, "sigma_q", np.zeros(np.shape(self.rate)))
        if self.noise_slope is None:
            object.__setattr__(self, "noise_slope", np.zeros(np.shape(self.rate)))
        if self.rate_sq is None:
            object.__setattr__(self, "rate_sq", np.asarray(self.rate, float) ** 2)
        if self.quenched_variance is None:
            object.__setattr__(self, "quenched_variance", np.zeros(np.shape(self.rate) + (3,)))
        if self.second_moments is None:
            object.__setattr__(self, "second_moments", np.zeros(0))

    @property
    def elapsed(self) -> float:
        """Deprecated alias of ``wall_time`` (s)."""
        warnings.warn("MeanFieldResult.elapsed is deprecated; use wall_time",
                      DeprecationWarning, stacklevel=2)
        return self.wall_time

    # ------------------------------------------------------------------ status
    @property
    def converged(self) -> bool:
        """True when ``status`` is ``CONVERGED`` (the residual is <= tol)."""
        return self.status == CONVERGED

    # ------------------------------------------------------------------ diagnostics
    @cached_property
    def drive(self) -> np.ndarray:
        r"""Net mean drive :math:`(\mu - E_L)/\tau_m`, mV/s, (2, n)."""
        return dg.drive(self.mu, _neuron_constants(self.params, "E_L"),
                        _neuron_constants(self.params, "tau_m"))

    @cached_property
    def balance_index(self) -> np.ndarray:
        """``|mu - E_L| / (E + X input)``, (2, n); NaN without excitatory input."""
        net = self.mu - _neuron_constants(self.params, "E_L")
        return dg.balance_index(net, self.mean_input[..., 0] + self.mean_input[..., 2])

    @cached_property
    def indegree(self) -> np.ndarray:
        """Mean total in-degree (E + I + X synapses) of each label, (2, n)."""
        return np.einsum("ab,abn->an", self.params.K, self.kin)

    @cached_property
    def _statistics(self) -> dict:
        return dg.label_statistics(self.weights, self.label, self.rate, self.mu, self.indegree,
                                   self.silent_rate, self.saturated_rate)

    @property
    def mean_rate(self) -> np.ndarray:
        """Population mean rate :math:`E_t[r_a(t)]`, Hz, (2,)."""
        return self._statistics["mean_rate"]

    @property
    def fraction_silent(self) -> np.ndarray:
        """Weight of labels with rate < ``silent_rate`` (with spread: of neurons), (2,)."""
        if self.spread:
            return np.array([self._cdf(a, np.nextafter(self.silent_rate, -np.inf))[0]
                             for a in (0, 1)])
        return self._statistics["fraction_silent"]

    @property
    def fraction_saturated(self) -> np.ndarray:
        """Weight of labels with rate > ``saturated_rate`` (with spread: of neurons), (2,)."""
        if self.spread:
            return np.array([1.0 - self._cdf(a, self.saturated_rate[a])[0] for a in (0, 1)])
        return self._statistics["fraction_saturated"]

    # ------------------------------------------------------------------ distributions
    @cached_property
    def _z_nodes(self):
        r"""(z, mass, mu, sigma, rates): each label along the frozen z, arrays (2, n, nz).

        Without spread one node z = 0 (the label values). With spread the node's mean input
        :math:`\mu + \sigma_q z`, its effective noise
        :math:`\sqrt{\sigma^2 + c z}` (c = ``noise_slope``) times ``sigma_scale``, and
        :math:`\Phi` there, re-evaluated with the solve's transfer function and filter on
        ``meanfield.diagnostics.spread_z_grid``.
        """
        z, mass = dg.spread_z_grid(self.spread)
        scale = np.asarray(self.sigma_scale, float)
        if not self.spread:
            one = (np.asarray(x, float)[..., None] for x in
                   (self.mu, self.sigma * scale, self.rate))
            return (z, mass, *one)
        from ._phi import SIGMA_FLOOR, PopulationTransfer
        from .degree_space import _NOISE_FLOOR

        n = self.rate.shape[1]
        nz = z.size
        transfer = PopulationTransfer(self.params, self.filter,
                                      (np.arange(n), np.arange(n, 2 * n)),
                                      table=True).tiled(nz, 2 * n)
        mu = (self.mu.ravel()[None, :] + self.sigma_q.ravel()[None, :] * z[:, None]).ravel()
        var = (self.sigma.ravel() ** 2)[None, :] + self.noise_slope.ravel()[None, :] * z[:, None]
        floor = np.maximum(_NOISE_FLOOR * self.sigma.ravel() ** 2, SIGMA_FLOOR ** 2)
        sigma = np.sqrt(np.maximum(var, floor[None, :])).ravel()
        r = transfer.evaluate(mu, sigma, np.tile(self.tau_s.ravel(), nz), derivatives=False,
                              scale=np.tile(scale.ravel(), nz))[0]

        def nodes(x):
            return np.moveaxis(np.asarray(x).reshape(nz, 2, n), 0, -1)
        return z, mass, nodes(mu), nodes(sigma) * scale[..., None], nodes(r)

    @cached_property
    def _z_profile(self):
        """(z, mass, rates (2, n, nz)): each label's rate along the frozen z (``_z_nodes``)."""
        z, mass, _, _, prof = self._z_nodes
        return z, mass, prof

    def _cdf(self, a: int, x) -> np.ndarray:
        z, _, prof = self._z_profile
        return dg.mixture_cdf(x, self.weights[a], z, prof[a])

    def zero_spike_fraction(self, T: float) -> np.ndarray:
        r"""Predicted fraction of each population with no spike in a window of T seconds.

        Parameters
        ----------
        T : float
            Window length, s, >= 0.

        Returns
        -------
        ndarray (2,)
            :math:`E_t E_z\, e^{-r(t, z) T}` for E and I: a Poisson neuron of rate r is
            silent for T seconds with probability :math:`e^{-rT}`, averaged over the labels
            and (with ``spread``) the frozen z of docs/theory.md section 10. What "silent"
            means in a finite simulation (``validation.compare`` reports the simulated
            fraction of neurons with no spike beside it). Spike trains less regular than
            Poisson raise it, more regular ones lower it.
        """
        T = check_nonnegative("T", T, unit="s")
        _, mass, prof = self._z_profile
        return np.array([dg.mixture_zero_spike_fraction(T, self.weights[a], mass, prof[a])
                         for a in (0, 1)])

    def rate_quantiles(self, q) -> np.ndarray:
        r"""Quantiles of the rate across the neurons of each population, Hz.

        Parameters
        ----------
        q : float or array_like
            Probabilities in [0, 1].

        Returns
        -------
        ndarray (2,) for a scalar q, else (2, len(q))
            The smallest rate x with :math:`P(r \le x) \ge q` in the mixture over labels
            (``weights``) and, with ``spread``, over z (continuous; without spread the label
            rates are point masses and this is the weighted quantile of ``rate``).
        """
        qa = check_array("q", q, lo=0.0, hi=1.0)
        z, _, prof = self._z_profile
        out = np.array([dg.mixture_quantile(qa.ravel(), self.weights[a], z, prof[a])
                        for a in (0, 1)])
        return out[:, 0] if qa.ndim == 0 else out

    def rate_distribution(self, bins=50, range=None):
        """Density of the rate across the neurons of each population.

        Parameters
        ----------
        bins : int or array_like
            Number of equal bins (>= 1) or the increasing bin edges, Hz.
        range : (float, float), optional
            Hz; default (0, the 99.9 % quantile of the faster population).

        Returns
        -------
        edges : ndarray (nbins + 1,)
            Hz.
        density : ndarray (2, nbins)
            Probability per Hz of a neuron's rate falling in each bin, (P(r <= e_{k+1}) -
            P(r <= e_k)) / width (the first bin includes its left edge). Without spread the
            labels are point masses, so this is a weighted histogram of ``rate``. It
            integrates to the probability inside the edges.
        """
        if np.ndim(bins) == 0:
            nb = check_int("bins", bins, lo=1)
            lo, hi = (0.0, float(np.max(self.rate_quantiles(0.999)))) if range is None \
                else (float(range[0]), float(range[1]))
            if not hi > lo:
                hi = lo + 1.0
            edges = np.linspace(lo, hi, nb + 1)
        else:
            edges = check_array("bins", bins)
            if edges.size < 2 or np.any(np.diff(edges) <= 0):
                raise ValueError("bins as edges must be increasing, with at least 2 edges")
        first = np.concatenate([[np.nextafter(edges[0], -np.inf)], edges[1:]])
        cdf = np.array([self._cdf(a, first) for a in (0, 1)])
        return edges, np.diff(cdf, axis=1) / np.diff(edges)

    @property
    def rate_indegree_slope(self) -> np.ndarray:
        """Slope d rate / d total in-degree (weighted least squares), Hz per synapse, (2,)."""
        return self._statistics["rate_indegree_slope"]

    @property
    def mu_slope(self) -> np.ndarray:
        """Slope d mu / d label (weighted least squares), mV per unit label, (2,)."""
        return self._statistics["mu_slope"]

    @property
    def mu_spread(self) -> np.ndarray:
        """Weighted standard deviation of mu across labels, mV, (2,)."""
        return self._statistics["mu_spread"]

    @cached_property
    def R(self) -> np.ndarray:
        """Out-degree-weighted rates R[a, b], Hz, (2, 2)."""
        return dg.out_degree_rates(self.weights, self.kout, self.rate)

    @cached_property
    def imbalance(self) -> np.ndarray:
        """RMS drive/sqrt(N) over the RMS external bracket, (2,)."""
        return dg.imbalance(self.drive, self.params.N, self.weights, self.params.X,
                            self.kin[:, 2, :])

    @property
    def rate_indegree_sign(self) -> np.ndarray:
        """Sign (-1, 0, +1; NaN if undefined) of d rate / d in-degree per population."""
        return np.sign(self.rate_indegree_slope)

    # ------------------------------------------------------------------ access
    def expect(self, population, f=None) -> float:
        r""":math:`E_t[f(t)\, r_a(t)]` over the label distribution of ``population``, Hz.

        Parameters
        ----------
        population : "E", "I", 0 or 1
        f : callable of the labels, array (n,) or None (then f = 1: the mean rate)

        Examples
        --------
        For Case C, ``res.expect("E", lambda t: t)`` is :math:`R_E = E[t r_E]` and
        ``res.expect("E", lambda t: t - 1)`` is :math:`\mathrm{Cov}(t, r_E)`.
        """
        a = population_index(population)
        return dg.label_expectation(self.t[a], self.weights[a], self.rate[a], f)

    def summary(self) -> str:
        """Return a few lines for humans: status, rates, diagnostics."""
        status = "converged" if self.converged else "NOT CONVERGED"
        lines = [f"MeanFieldResult: {self.model_name}, N = {self.N}, {status} "
                 f"({self.method}, {self.iterations} iterations, residual {self.residual:.2e})"]
        for a, pop in enumerate(POPULATIONS):
            lines.append(
                f"  {pop}: mean rate {self.mean_rate[a]:.4g} Hz (labels {self.rate[a].min():.3g}"
                f"..{self.rate[a].max():.3g}), mu {self.mu[a].min():.4g}..{self.mu[a].max():.4g} mV, "
                f"silent {self.fraction_silent[a]:.3f}, saturated {self.fraction_saturated[a]:.3f}")
        if self.fano_rule != "poisson":
            lines.append(f"  presynaptic variance factors F_E {self.fano[0]:.4g}, "
                         f"F_I {self.fano[1]:.4g} ({self.fano_rule})")
        if not self.converged:
            lines.append("  " + self.message)
        return "\n".join(lines)

    def plot(self, *, title: str | None = None):
        """Plot rate, mu and sigma against the label, one line per population.

        Needs matplotlib (``pip install 'hetbalance[figures]'``); see
        ``meanfield.plotting.plot_mean_field``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from meanfield.plotting import plot_mean_field
        return plot_mean_field(self, title=title)

    _DIAGNOSTICS = ("converged", "drive", "balance_index", "indegree", "mean_rate", "R",
                    "fraction_silent", "fraction_saturated", "rate_indegree_slope", "mu_slope",
                    "mu_spread", "imbalance")

    def to_dict(self) -> dict:
        """Return the fields and the diagnostics as a JSON-friendly dict.

        Arrays become lists, params ``NetworkParams.to_dict()``; ``status_name`` is added.
        """
        out = {}
        for name in (*self.__dataclass_fields__, *self._DIAGNOSTICS):
            v = getattr(self, name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, NetworkParams):
                v = v.to_dict()
            out[name] = v
        out["status_name"] = status_name(self.status)
        return out


# =============================================================================== network
@dataclass(frozen=True, eq=False)
class NetworkMeanFieldResult:
    r"""Per-neuron solution of ``solve_network`` (frozen).

    Attributes
    ----------
    rate, mu, sigma, tau_s : ndarray (N,)
        As in ``MeanFieldResult`` but per neuron: Hz, mV, mV, s. With ``quenched=True``,
        ``rate`` is the Gaussian average of Phi over the quenched spread and ``mu`` its
        centre.
    mean_input : ndarray (N, 3)
        Mean input of each neuron by source E, I, X, mV (``mu`` = E_L + their sum).
    sigma_quenched : ndarray (N,)
        Standard deviation of the quenched spread of mu, mV (0 without the correction).
    population : ndarray (N,)
        0 (E) or 1 (I).
    R_pooled : ndarray (2,)
        ``R_pooled[b]``: out-degree-weighted mean rate of population b, Hz, pooled over
        the target populations (the mean rate behind a random synapse from b, whatever its
        target). Not ``MeanFieldResult.R``, which is (2, 2) with one row per target
        population. ``R`` is a deprecated alias.
    rate_variance : ndarray (2,)
        Out-degree-weighted variance of the rates, Hz^2 (enters the quenched spread).
    silent_rate : float
        Hz.
    saturated_rate : ndarray (2,)
        Hz.
    status : int
        ``meanfield.roots`` status code (``CONVERGED`` = 0, or why the solver stopped).
    residual : float
        Relative residual at the returned solution: :math:`\max_j|\Phi_j - r_j| /
        \max_j \Phi_j` ("neuron"; r the solver's rates, ``rate`` = :math:`\Phi`), or
        :math:`\max|F|/\max|y|` of the population unknowns ("population").
        ``converged`` is exactly ``residual <= tol``.
    iterations : int
        Iterations of every method tried (the population-mode start included).
    nmatvec : int
        Products with the connectivity.
    method : str
        The method (a name in ``meanfield.roots.METHODS``) that produced the answer:
        "newton_krylov" ("neuron"), "newton" or "relaxation" ("population").
    message : str
        What the solver did; starts with "did not converge: " when not converged.
    N : int
        Number of neurons of the graph.
    params : NetworkParams
        The parameters solved for.
    filter : (str, str)
        Filter used by E and I ("white" or "fourcaud_brunel").
    presynaptic : str
        "neuron" (each neuron's own presynaptic rates) or "population" (population means),
        as passed to ``solve_network``.
    quenched : bool
        Whether the quenched-input correction was applied (``solve_network``'s Notes).
    wall_time : float
        Wall time of the solve, s (``elapsed`` is a deprecated alias).
    extra : dict
        ``eif_table_error`` when the EIF table was used.
    converged : bool
        ``status == CONVERGED`` (a property, like every attribute below: diagnostics
        computed by ``meanfield.diagnostics`` on access).
    drive, balance_index : ndarray (N,)
        mV/s and dimensionless, as in ``MeanFieldResult``.
    mean_rate : ndarray (2,)
        Population mean rates, Hz.
    fraction_silent, fraction_saturated : ndarray (2,)
        Fraction of neurons below ``silent_rate`` / above ``saturated_rate``.
    """

    rate: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    tau_s: np.ndarray
    mean_input: np.ndarray
    sigma_quenched: np.ndarray
    population: np.ndarray
    R_pooled: np.ndarray
    rate_variance: np.ndarray
    silent_rate: float
    saturated_rate: np.ndarray
    status: int
    residual: float
    iterations: int
    nmatvec: int
    method: str
    message: str
    N: int
    params: NetworkParams
    filter: tuple
    presynaptic: str
    quenched: bool
    wall_time: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def R(self) -> np.ndarray:
        """Deprecated alias of ``R_pooled`` (2,), Hz."""
        warnings.warn("NetworkMeanFieldResult.R is deprecated; use R_pooled (shape (2,), "
                      "pooled over targets; MeanFieldResult.R is (2, 2))", DeprecationWarning,
                      stacklevel=2)
        return self.R_pooled

    @property
    def elapsed(self) -> float:
        """Deprecated alias of ``wall_time`` (s)."""
        warnings.warn("NetworkMeanFieldResult.elapsed is deprecated; use wall_time",
                      DeprecationWarning, stacklevel=2)
        return self.wall_time

    @property
    def converged(self) -> bool:
        """True when ``status`` is ``CONVERGED`` (the residual is <= tol)."""
        return self.status == CONVERGED

    def _per_neuron(self, name: str) -> np.ndarray:
        return np.array([getattr(nr, name) for nr in self.params.neurons])[self.population]

    @cached_property
    def drive(self) -> np.ndarray:
        r"""Net mean drive :math:`(\mu - E_L)/\tau_m` of each neuron, mV/s."""
        return dg.drive(self.mu, self._per_neuron("E_L"), self._per_neuron("tau_m"))

    @cached_property
    def balance_index(self) -> np.ndarray:
        """``|mu - E_L| / (E + X input)`` of each neuron; NaN without excitatory input."""
        return dg.balance_index(self.mu - self._per_neuron("E_L"),
                                self.mean_input[:, 0] + self.mean_input[:, 2])

    @cached_property
    def mean_rate(self) -> np.ndarray:
        """Population mean rates, Hz, (2,)."""
        return dg.population_mean(self.rate, self.population)

    @cached_property
    def fraction_silent(self) -> np.ndarray:
        """Fraction of the neurons of each population below ``silent_rate``, (2,)."""
        return dg.population_mean(self.rate < self.silent_rate, self.population)

    @cached_property
    def fraction_saturated(self) -> np.ndarray:
        """Fraction of the neurons of each population above ``saturated_rate``, (2,)."""
        return dg.population_mean(self.rate > self.saturated_rate[self.population],
                                  self.population)

    def binned(self, x, population="E", bins: int = 10):
        """Mean rate of the neurons of one population grouped by quantiles of ``x``.

        Parameters
        ----------
        x : array_like (N,)
            Per-neuron quantity to group by (e.g. the net in-degree K_E - g K_I).
        population : "E", "I", 0, 1 or None
            None groups all neurons together.
        bins : int
            Number of equal-count groups (10: deciles), >= 1; fewer when ``x`` takes fewer
            values (``meanfield.labels.quantile_bins``).

        Returns
        -------
        x_mean, rate_mean : ndarray (bins,)
            Mean of ``x`` and of the rate in each group (ascending x).
        counts : ndarray (bins,)
        """
        if population is None:
            idx = np.arange(self.N)
        else:
            idx = np.flatnonzero(self.population == population_index(population))
        bins = check_int("bins", bins, lo=1, hi=max(idx.size, 1))
        x = check_array("x", x)
        if x.shape != (self.N,):
            raise ValueError(f"x has shape {x.shape}; expected ({self.N},)")
        rank = np.argsort(x[idx], kind="stable")
        which = quantile_bins(x[idx], bins)[0][rank]          # non-decreasing along rank
        groups = np.split(idx[rank], np.flatnonzero(np.diff(which)) + 1)
        return (np.array([x[g].mean() for g in groups]),
                np.array([self.rate[g].mean() for g in groups]),
                np.array([g.size for g in groups]))

    def summary(self) -> str:
        """Return a few lines for humans: status, rates, diagnostics."""
        status = "converged" if self.converged else "NOT CONVERGED"
        lines = [f"NetworkMeanFieldResult: N = {self.N}, presynaptic = {self.presynaptic}, "
                 f"quenched = {self.quenched}, {status} ({self.iterations} iterations, "
                 f"residual {self.residual:.2e}, {self.wall_time:.2f} s)"]
        for a, pop in enumerate(POPULATIONS):
            m = self.population == a
            lines.append(f"  {pop}: mean {self.mean_rate[a]:.4g} Hz, sd "
                         f"{self.rate[m].std():.3g} Hz, silent {self.fraction_silent[a]:.3f}")
        if not self.converged:
            lines.append("  " + self.message)
        return "\n".join(lines)
