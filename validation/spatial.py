r"""Theory against simulation for spatial networks: rates by position, and by degree at a position.

``compare_spatial`` bins the neurons of a spatial network (``graphs.sample_spatial_network``)
by position (equal bins of the ring, or squares of the torus) and, within each position
bin, by degree factor kappa (equal-count bins, ``meanfield.labels.quantile_bins``), and
reports simulated rates with standard errors beside the finite-N theory
(``meanfield.spatial.solve_spatial``) and the balanced limit, averaged over the same
neurons (docs/theory.md section 12). It also reports the spread across position bins of
the net mean input :math:`\mu - E_L`, which grows like :math:`\sqrt N` where spatial
balance breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meanfield.checks import check_int
from meanfield.labels import quantile_bins
from meanfield.params import POPULATIONS
from meanfield.spatial import SpatialResult

__all__ = ["SpatialComparison", "SpatialPopulationComparison", "compare_spatial"]


@dataclass(frozen=True)
class SpatialPopulationComparison:
    r"""Per-position-bin comparison for one population (see ``compare_spatial``).

    Attributes
    ----------
    population : str
    centers : ndarray (B,) or (B, 2)
        Bin centres (positions).
    count : ndarray (B,)
        Neurons per bin.
    sim_rate, sim_se : ndarray (B,)
        Mean simulated rate and its standard error (std / sqrt(count)), Hz.
    theory_rate : ndarray (B,)
        Finite-N theory averaged over the bin's neurons (at their positions and kappa), Hz.
    limit_rate : ndarray (B,)
        Balanced limit averaged over the bin's neurons, Hz.
    net_input : ndarray (B,)
        Mean net input :math:`\mu - E_L` of the bin's neurons in the simulation, mV.
    net_input_spread : float
        Standard deviation of ``net_input`` across bins (count-weighted), mV.
    kappa_sim_rate, kappa_theory_rate, kappa_mean : ndarray (B, Bk)
        By degree factor within each position bin (NaN without kappa): simulated and
        theory rates, Hz, and the mean kappa of each sub-bin.
    """

    population: str
    centers: np.ndarray
    count: np.ndarray
    sim_rate: np.ndarray
    sim_se: np.ndarray
    theory_rate: np.ndarray
    limit_rate: np.ndarray
    net_input: np.ndarray
    net_input_spread: float
    kappa_sim_rate: np.ndarray
    kappa_theory_rate: np.ndarray
    kappa_mean: np.ndarray

    def agreement(self, min_count: int = 200, min_rate: float = 1.0, rel: float = 0.10,
                  abs_hz: float = 0.3, n_se: float = 3.0) -> np.ndarray:
        """Return whether each bin agrees within max(``rel`` theory, ``abs_hz``, ``n_se`` SE).

        Only bins with >= ``min_count`` neurons and a theory rate >= ``min_rate`` Hz are
        judged; the others are True. Bool array (B,).
        """
        judged = (self.count >= min_count) & (self.theory_rate >= min_rate)
        tol = np.maximum.reduce([rel * self.theory_rate, np.full(self.count.shape, abs_hz),
                                 n_se * np.nan_to_num(self.sim_se)])
        ok = np.abs(self.sim_rate - self.theory_rate) <= tol
        return np.where(judged, ok, True)


@dataclass(frozen=True)
class SpatialComparison:
    """``compare_spatial`` result: one ``SpatialPopulationComparison`` per population."""

    populations: tuple
    N: int
    duration: float

    def __getitem__(self, name: str) -> SpatialPopulationComparison:
        for p in self.populations:
            if p.population == name:
                return p
        raise KeyError(f"no population {name!r}; have {[p.population for p in self.populations]}")


def compare_spatial(theory: SpatialResult, sim, network, *, n_bins: int = 20,
                    n_kappa_bins: int = 4) -> SpatialComparison:
    r"""Compare the finite-N spatial theory with a simulation, by position and by degree.

    Parameters
    ----------
    theory : meanfield.spatial.SpatialResult
        ``solve_spatial`` (or ``solve``) for the network's params and model.
    sim : SimulationResult
        ``validation.simulate`` of ``network``.
    network : graphs.Network
        From ``graphs.sample_spatial_network`` (positions in ``label``).
    n_bins : int
        Position bins per dimension (>= 1): equal bins of [0, 1).
    n_kappa_bins : int
        Equal-count kappa bins within each position bin (>= 1), when labels carry kappa.

    Returns
    -------
    SpatialComparison
    """
    n_bins = check_int("n_bins", n_bins, lo=1)
    n_kappa_bins = check_int("n_kappa_bins", n_kappa_bins, lo=1)
    if not isinstance(theory, SpatialResult):
        raise TypeError(f"theory must be a SpatialResult, got {type(theory).__name__}")
    sp = network.provenance.get("spatial")
    if not sp:
        raise ValueError("network was not drawn by sample_spatial_network (no positions)")
    if sim.N != network.N:
        raise ValueError(f"sim has {sim.N} neurons but network has {network.N}")
    dim = sp["dim"]
    lab = np.asarray(network.label, float)
    lab2 = lab.reshape(network.N, -1)
    x = lab2[:, :dim]
    kappa = lab2[:, dim] if lab2.shape[1] == dim + 1 else None
    cell = np.minimum((x * n_bins).astype(np.int64), n_bins - 1)
    pos_bin = cell[:, 0] if dim == 1 else cell[:, 0] * n_bins + cell[:, 1]
    B = n_bins ** dim
    c1 = (np.arange(n_bins) + 0.5) / n_bins
    centers = c1 if dim == 1 else np.stack(np.meshgrid(c1, c1, indexing="ij"), -1).reshape(-1, 2)
    rate_all = np.asarray(sim.rate, float)
    net_all = np.asarray(sim.mean_input, float).sum(axis=1)
    pops = []
    for a, name in enumerate(POPULATIONS):
        idx = np.flatnonzero(network.population == a)
        xb = x[idx] if dim == 2 else x[idx, 0]
        kb = None if kappa is None else kappa[idx]
        th = theory.rate_at(name, xb, kb)
        lim = theory.rate_at(name, xb, limit=True)
        r, net = rate_all[idx], net_all[idx]
        pb = pos_bin[idx]
        count = np.bincount(pb, minlength=B).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            def bmean(v):
                return np.bincount(pb, weights=v, minlength=B) / count
            m = bmean(r)
            var = np.maximum(bmean(r ** 2) - m ** 2, 0.0) * count / np.maximum(count - 1, 1)
            se = np.sqrt(var / count)
            ni = bmean(net)
        ok = count > 0
        w = count[ok] / count[ok].sum()
        spread = float(np.sqrt(np.sum(w * (ni[ok] - np.sum(w * ni[ok])) ** 2)))
        ks = np.full((B, n_kappa_bins), np.nan)
        kt, km = ks.copy(), ks.copy()
        if kb is not None:
            order = np.argsort(pb, kind="stable")
            bounds = np.searchsorted(pb[order], np.arange(B + 1))
            for c in range(B):
                members = order[bounds[c]:bounds[c + 1]]
                if members.size < n_kappa_bins:
                    continue
                kbin, nk = quantile_bins(kb[members], n_kappa_bins)
                cnt = np.bincount(kbin, minlength=nk)
                ks[c, :nk] = np.bincount(kbin, weights=r[members], minlength=nk) / cnt
                kt[c, :nk] = np.bincount(kbin, weights=th[members], minlength=nk) / cnt
                km[c, :nk] = np.bincount(kbin, weights=kb[members], minlength=nk) / cnt
        pops.append(SpatialPopulationComparison(
            population=name, centers=centers, count=count, sim_rate=m, sim_se=se,
            theory_rate=bmean(th), limit_rate=bmean(lim), net_input=ni, net_input_spread=spread,
            kappa_sim_rate=ks, kappa_theory_rate=kt, kappa_mean=km))
    return SpatialComparison(tuple(pops), N=network.N, duration=float(sim.duration))
