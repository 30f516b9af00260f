"""Plots of mean-field results: rate, mu and sigma against the degree label.

matplotlib is an optional extra (``pip install 'hetbalance[figures]'``); it is imported only
when a plot is made, and ``require_matplotlib`` raises an ``ImportError`` naming the extra
when it is missing. Figures are made with ``matplotlib.figure.Figure`` (no pyplot state),
so they can be made in loops and saved with ``fig.savefig``; Jupyter shows a returned Figure.
"""

from __future__ import annotations

import numpy as np

from meanfield.params import POPULATIONS

__all__ = ["require_matplotlib", "new_figure", "plot_mean_field", "POPULATION_COLORS"]

POPULATION_COLORS = ("tab:red", "tab:blue")
"""Colour of the E and of the I population in every hetbalance plot."""

_EXTRA_MESSAGE = ("plotting needs matplotlib, an optional extra of hetbalance: "
                  "pip install 'hetbalance[figures]'")


def require_matplotlib():
    """Import matplotlib, or raise an ``ImportError`` that names the extra to install.

    Returns
    -------
    module
        ``matplotlib.figure``.

    Raises
    ------
    ImportError
        When matplotlib is not installed; the message gives
        ``pip install 'hetbalance[figures]'``.
    """
    try:
        import matplotlib.figure
    except ImportError as exc:
        raise ImportError(_EXTRA_MESSAGE) from exc
    return matplotlib.figure


def new_figure(ncols: int, nrows: int = 1, *, width: float = 4.0, height: float = 3.2):
    """Return a new Figure with a ``nrows`` x ``ncols`` grid of axes (always a 2-D array).

    Parameters
    ----------
    ncols, nrows : int
        Number of columns and rows of axes (>= 1).
    width, height : float
        Size of one panel, inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of Axes, shape (nrows, ncols)
    """
    mfig = require_matplotlib()
    fig = mfig.Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = np.asarray(fig.subplots(nrows, ncols, squeeze=False))
    return fig, axes


def _nodes(result, a: int):
    """Label nodes of population ``a`` with positive weight, sorted by label: indices."""
    keep = np.flatnonzero(np.asarray(result.weights[a]) > 0)
    return keep[np.argsort(np.asarray(result.label[a])[keep], kind="stable")]


def plot_mean_field(result, *, title: str | None = None):
    r"""Plot rate, mean input mu and noise sigma against the degree label, one line per population.

    Parameters
    ----------
    result : MeanFieldResult
        A solution of ``meanfield.solve``.
    title : str, optional
        Figure title (default: model name, N and whether the solve converged).

    Returns
    -------
    matplotlib.figure.Figure
        Three panels (rate in Hz, :math:`\mu` in mV, :math:`\sigma` in mV) against
        ``result.label``; each has one line per population (E red, I blue) through the
        quadrature nodes of positive weight, sorted by label, with a marker per node.

    Notes
    -----
    Zero-weight nodes (the padding of a population with fewer nodes) are left out. The line
    data are the result's arrays themselves: ``ax.lines[a].get_ydata()`` equals
    ``result.rate[a][nodes]`` with ``nodes`` the sorted positive-weight nodes.
    """
    fig, axes = new_figure(3)
    panels = (("rate", "rate (Hz)"), ("mu", r"$\mu$ (mV)"), ("sigma", r"$\sigma$ (mV)"))
    for ax, (name, ylabel) in zip(axes[0], panels):
        y_all = np.asarray(getattr(result, name))
        for a, pop in enumerate(POPULATIONS):
            j = _nodes(result, a)
            ax.plot(np.asarray(result.label[a])[j], y_all[a][j], "o-", ms=3,
                    color=POPULATION_COLORS[a], label=pop)
        ax.set_xlabel("degree label t")
        ax.set_ylabel(ylabel)
    axes[0, 0].legend(frameon=False)
    if title is None:
        title = (f"{result.model_name}: N = {result.N}"
                 + ("" if result.converged else " (did not converge)"))
    fig.suptitle(title)
    return fig


def plot_spatial(result, *, title: str | None = None):
    r"""Plot a spatial rate profile against position: the finite-N theory or the N -> infinity limit.

    Parameters
    ----------
    result : SpatialResult or SpatialSemiBalancedResult
        From ``meanfield.solve_spatial`` or ``meanfield.semi_balanced`` on a spatial model.
    title : str, optional
        Figure title (default: what the result is, N, and whether it converged).

    Returns
    -------
    matplotlib.figure.Figure
        Ring: two panels against position x, one line per population (E red, I blue):
        (1) the rate, kappa-averaged (``result.profile``, Hz), with the balanced limit
        (``SpatialResult.balanced``, dashed; left out where it is negative somewhere: no
        balanced profile exists) or, for the limit itself, nothing more; (2) the mean input
        :math:`\mu` (mV, kappa-averaged) of a ``SpatialResult``, or the O(sqrt N) bracket
        :math:`\beta` (mV Hz) of a ``SpatialSemiBalancedResult``. Torus: the E and I rate
        maps (``imshow`` of ``profile[a].reshape(n, n)``, rows = first coordinate).
    """
    from .spatial_limit import SpatialSemiBalancedResult
    is_limit = isinstance(result, SpatialSemiBalancedResult)
    prof = np.asarray(result.profile)
    x = np.asarray(result.positions)
    w = np.asarray(result.kappa_weights)
    if is_limit:
        second = np.tensordot(np.asarray(result.bracket), w, axes=([2], [0]))
        second_label = r"bracket $\beta$ (mV Hz)"
    else:
        second = np.tensordot(np.asarray(result.mu), w, axes=([2], [0]))
        second_label = r"$\mu$ (mV)"
    if title is None:
        title = ("semi-balanced limit (N -> infinity)" + ("" if result.success else " (NOT converged)")
                 if is_limit else
                 f"spatial theory: N = {result.N}" + ("" if result.converged else " (did not converge)"))
    if x.ndim == 2:            # torus: rate maps
        n = int(round(np.sqrt(x.shape[0])))
        fig, axes = new_figure(2, width=3.6, height=3.2)
        for a, pop in enumerate(POPULATIONS):
            ax = axes[0, a]
            im = ax.imshow(prof[a].reshape(n, n), origin="lower", extent=(0, 1, 0, 1),
                           cmap="viridis")
            fig.colorbar(im, ax=ax, label="rate (Hz)")
            ax.set_title(f"{pop} rate")
            ax.set_xlabel("x_2")
            ax.set_ylabel("x_1")
        fig.suptitle(title)
        return fig
    fig, axes = new_figure(2)
    order = np.argsort(x, kind="stable")
    for a, pop in enumerate(POPULATIONS):
        axes[0, 0].plot(x[order], prof[a][order], "-", color=POPULATION_COLORS[a], label=pop)
        axes[0, 1].plot(x[order], second[a][order], "-", color=POPULATION_COLORS[a], label=pop)
    if not is_limit:
        bal = np.asarray(result.balanced)
        if np.all(bal >= 0):
            for a, pop in enumerate(POPULATIONS):
                axes[0, 0].plot(x[order], bal[a][order], "--", color=POPULATION_COLORS[a],
                                label=f"{pop} balanced limit")
    axes[0, 0].set_xlabel("position x")
    axes[0, 0].set_ylabel("rate (Hz)")
    axes[0, 1].set_xlabel("position x")
    axes[0, 1].set_ylabel(second_label)
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    return fig
