"""The fast path of the colored transfer inside the solvers: the vectorised N-d Catmull-Rom
(``meanfield._colored_table._catmull_rom``), the 2-D white-noise EIF lookup and the analytic
partials ``meanfield.colored._rate_and_partials`` (used by ``PopulationTransfer.evaluate``).
"""

import json
import math

import numpy as np
import pytest

from meanfield import NetworkParams, colored_rate, lif_rate, lif_rate_dmu, lif_rate_dsigma
from meanfield import _colored_table as tab
from meanfield.colored import _lif_white_and_partials, _rate_and_partials

EIF_AKIL = NetworkParams.preset("akil2021").neuron_E
LIF_AKIL = NetworkParams.preset("akil2021_lif").neuron_E
NEURONS = {"eif": EIF_AKIL, "lif": LIF_AKIL}


def _white_grid(neuron):
    """The padded white-EIF grid of ``neuron`` (built on first use; other neurons' grids may
    be cached too, so it is looked up by the neuron's key)."""
    tab.log_white_eif(neuron, np.array([neuron.V_T]), np.array([10.0]))
    return tab._WHITE[json.dumps(neuron.to_dict(), sort_keys=True)][0]


def _loop_catmull_rom_3d(p, nodes, points):
    """The former implementation (64-term loop of fancy indexing), kept as the reference."""
    def weights(nd, v):
        n = nd.size
        t = np.interp(v, nd, np.arange(n, dtype=float))
        i = np.clip(np.floor(t).astype(np.intp), 0, n - 2)
        s = t - i
        return i, np.stack([(-s ** 3 + 2 * s * s - s) / 2, (3 * s ** 3 - 5 * s * s + 2) / 2,
                            (-3 * s ** 3 + 4 * s * s + s) / 2, (s ** 3 - s * s) / 2], axis=1)
    (i0, w0), (i1, w1), (i2, w2) = (weights(n, v) for n, v in zip(nodes, points))
    out = np.zeros(points[0].shape)
    for a in range(4):
        for b in range(4):
            for c in range(4):
                out += w0[:, a] * w1[:, b] * w2[:, c] * p[i0 + a, i1 + b, i2 + c]
    return out


def test_vectorised_catmull_rom_equals_the_loop_on_both_tables():
    # same formula, other summation order: round-off only (values are O(1..10))
    rng = np.random.default_rng(0)
    for neuron in NEURONS.values():
        t = tab.get_table(neuron)
        nodes = (t.x, t.log_sigma, t.q)
        pts = (rng.uniform(-4.5, 8.5, 3000), rng.uniform(t.log_sigma[0], t.log_sigma[-1], 3000),
               rng.uniform(0.0, 1.0, 3000))
        pts = (np.clip(pts[0], t.x[0], t.x[-1]),) + pts[1:]
        np.testing.assert_allclose(tab._catmull_rom(t.padded, nodes, pts, windows=t.windows),
                                   _loop_catmull_rom_3d(t.padded, nodes, pts), rtol=0, atol=1e-12)


def test_extensions_in_x_equal_the_former_formula():
    # below x[0]: the value at x[0] plus max(slope, 0) (x - x[0]), slope between the two
    # lowest nodes (now from a 2-D table of node differences; formerly two 3-D lookups);
    # above x[-1]: the value at x[-1] times (x[-1]/x)^2. Round-off only.
    rng = np.random.default_rng(6)
    for neuron in NEURONS.values():
        t = tab.get_table(neuron)
        nodes = (t.x, t.log_sigma, t.q)
        n = 400
        x = np.concatenate([rng.uniform(-12.0, -4.0, n), rng.uniform(8.0, 30.0, n)])
        ls = rng.uniform(t.log_sigma[0], t.log_sigma[-1], 2 * n)
        q = rng.uniform(0.0, 1.0, 2 * n)
        ref = lambda xx: _loop_catmull_rom_3d(t.padded, nodes, (np.full(2 * n, xx), ls, q))  # noqa: E731
        slope = (ref(t.x[0]) - ref(t.x[1])) / (t.x[0] - t.x[1])
        want = np.where(x < t.x[0], ref(t.x[0]) + np.maximum(slope, 0.0) * (x - t.x[0]),
                        ref(t.x[-1]) * (t.x[-1] / x) ** 2)
        np.testing.assert_allclose(t.log_ratio_at(x, np.exp(ls), q), want, rtol=0, atol=1e-12)


def test_two_d_white_lookup_equals_the_former_three_d_one():
    # the former lookup: the 2-D grid repeated along a dummy third axis, evaluated at its
    # middle node (weights 0, 1, 0, 0): identical values up to round-off
    rng = np.random.default_rng(1)
    x = rng.uniform(-8.0, 10.0, 500)
    sigma = np.exp(rng.uniform(math.log(2.0), math.log(56.0), 500))
    mu = EIF_AKIL.V_T + x * sigma
    got = tab.log_white_eif(EIF_AKIL, mu, sigma)
    padded2 = _white_grid(EIF_AKIL)
    p3 = tab._pad(np.repeat(padded2[:, :, None], 3, axis=2), 2)
    ref = _loop_catmull_rom_3d(p3, (tab.WHITE_X, tab.WHITE_LOG_SIGMA, np.arange(3.0)),
                               (x, np.log(sigma), np.ones(x.size)))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("d", [2, 3])
def test_compiled_lookup_equals_the_numpy_path(d, monkeypatch):
    """The numba loop (``meanfield._interp_numba``) and the numpy reference give the same
    interpolant and gradient: on the real tables, outside the nodes (clamped, zero
    derivative) and exactly on nodes (derivative of the segment above)."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(7 + d)
    t = tab.get_table(EIF_AKIL)
    if d == 3:
        p, nodes = t.padded, (t.x, t.log_sigma, t.q)
    else:
        p, nodes = _white_grid(EIF_AKIL), (tab.WHITE_X, tab.WHITE_LOG_SIGMA)
    m = 4000
    pts = [rng.uniform(n[0] - 0.2 * (n[-1] - n[0]), n[-1] + 0.2 * (n[-1] - n[0]), m) for n in nodes]
    for k, n in enumerate(nodes):          # exact nodes, both ends included
        pts[k][:n.size] = n[rng.permutation(n.size)] if n.size <= m else pts[k][:n.size]
    monkeypatch.setattr(tab, "USE_COMPILED", True)
    v1, g1 = tab._catmull_rom(p, nodes, pts, grad=True)
    assert tab._compiled() is not None
    monkeypatch.setattr(tab, "USE_COMPILED", False)
    v0, g0 = tab._catmull_rom(p, nodes, pts, grad=True)
    np.testing.assert_allclose(v1, v0, rtol=1e-13, atol=1e-13)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))
    out = [(pts[k] < n[0]) | (pts[k] > n[-1]) for k, n in enumerate(nodes)]
    assert all(np.all(g1[k][out[k]] == 0.0) for k in range(d))


@pytest.mark.parametrize("compiled", [True, False])
def test_catmull_rom_gradient_is_exact_for_quadratics_on_uniform_nodes(compiled, monkeypatch):
    if compiled:
        pytest.importorskip("numba")
    monkeypatch.setattr(tab, "USE_COMPILED", compiled)
    # Catmull-Rom reproduces quadratics on uniform nodes (ghost nodes by quadratic
    # extrapolation included), so the gradient of the interpolant is the exact gradient
    xs, ys, zs = np.linspace(0, 1, 6), np.linspace(-1, 2, 5), np.linspace(0, 2, 7)
    f = lambda x, y, z: 1 + x - 2 * y * y + 0.5 * x * z + z * z - 0.3 * x * y  # noqa: E731
    grad = lambda x, y, z: (1 + 0.5 * z - 0.3 * y, -4 * y - 0.3 * x, 0.5 * x + 2 * z)  # noqa: E731
    padded = tab._pad_all(f(*np.meshgrid(xs, ys, zs, indexing="ij")))
    rng = np.random.default_rng(2)
    pts = (rng.uniform(0, 1, 200), rng.uniform(-1, 2, 200), rng.uniform(0, 2, 200))
    val, g = tab._catmull_rom(padded, (xs, ys, zs), pts, grad=True)
    np.testing.assert_allclose(val, f(*pts), atol=1e-12)
    for k in range(3):
        np.testing.assert_allclose(g[k], grad(*pts)[k], atol=1e-10)


def test_catmull_rom_gradient_on_non_uniform_nodes_against_central_differences():
    # non-uniform nodes: the node-index map is piecewise linear (dt/dv = 1/spacing); a
    # smooth non-polynomial f, points away from the nodes; central differences with
    # h = 1e-6 (truncation ~h^2 f''', round-off ~1e-16/h): measured < 1e-9, bar 1e-7
    xs = np.array([0.0, 0.1, 0.3, 0.4, 0.8, 1.0])
    ys = np.array([-1.0, -0.2, 0.5, 2.0])
    f = lambda x, y: np.sin(3 * x) * np.exp(0.4 * y)  # noqa: E731
    padded = tab._pad_all(f(*np.meshgrid(xs, ys, indexing="ij")))
    rng = np.random.default_rng(3)
    px, py = rng.uniform(0, 1, 300), rng.uniform(-1, 2, 300)
    near = (np.min(np.abs(px[:, None] - xs), axis=1) < 1e-4) | (np.min(np.abs(py[:, None] - ys),
                                                                       axis=1) < 1e-4)
    px, py = px[~near], py[~near]
    _, (gx, gy) = tab._catmull_rom(padded, (xs, ys), (px, py), grad=True)
    h = 1e-6
    cr = lambda a, b: tab._catmull_rom(padded, (xs, ys), (a, b))  # noqa: E731
    np.testing.assert_allclose(gx, (cr(px + h, py) - cr(px - h, py)) / (2 * h), rtol=0, atol=1e-7)
    np.testing.assert_allclose(gy, (cr(px, py + h) - cr(px, py - h)) / (2 * h), rtol=0, atol=1e-7)


def test_lif_white_and_partials_equal_the_public_functions():
    rng = np.random.default_rng(4)
    sigma = rng.uniform(2.0, 50.0, 400)
    mu = LIF_AKIL.theta + rng.uniform(-8.0, 10.0, 400) * sigma
    w, d_mu, d_sig = _lif_white_and_partials(LIF_AKIL, mu, sigma)
    np.testing.assert_allclose(w, lif_rate(mu, sigma, LIF_AKIL), rtol=1e-13)
    np.testing.assert_allclose(d_mu, lif_rate_dmu(mu, sigma, LIF_AKIL), rtol=1e-13)
    np.testing.assert_allclose(d_sig, lif_rate_dsigma(mu, sigma, LIF_AKIL), rtol=1e-13)


# --------------------------------------------------------------------------- partials
# Kinks of the interpolant (C1 only in node-index space): x at the changes of node spacing
# (4, 5, 6) and at the ends of the x nodes where the extensions start (-4, 8); q at 0.2.
# A central difference straddling a kink mixes two one-sided derivatives, so random points
# keep a distance of a few steps from them (edge points are tested one-sided below).
X_KINKS = np.array([-4.0, 4.0, 5.0, 6.0, 8.0])
Q_KINKS = np.array([0.2])


def _central(neuron, mu, sigma, tau_s):
    """Central differences of colored_rate: steps 1e-5 sigma (mu, sigma), 1e-5 tau_s."""
    h, ht = 1e-5 * sigma, 1e-5 * tau_s
    f = lambda m, s, t: colored_rate(neuron, m, s, t)  # noqa: E731
    return ((f(mu + h, sigma, tau_s) - f(mu - h, sigma, tau_s)) / (2 * h),
            (f(mu, sigma + h, tau_s) - f(mu, sigma - h, tau_s)) / (2 * h),
            (f(mu, sigma, tau_s + ht) - f(mu, sigma, tau_s - ht)) / (2 * ht))


def _assert_partials(got, ref, r, sigma, tau_s, bar, mask=None):
    # relative error against the reference, with a floor of 1e-3 of the natural scale of
    # each partial (r/sigma, r/tau_s), so that a partial that crosses 0 does not divide by 0
    mask = mask or (np.ones(r.size, bool),) * 3
    for name, g, c, scale, ok in zip(("dr/dmu", "dr/dsigma", "dr/dtau_s"), got, ref,
                                     (r / sigma, r / sigma, r / tau_s), mask):
        err = np.where(ok, np.abs(g - c) / (np.abs(c) + 1e-3 * scale), 0.0)
        assert err.max() < bar, (name, float(err.max()), int(np.argmax(err)))


@pytest.mark.parametrize("name", ["eif", "lif"])
def test_partials_match_central_differences_inside_the_table(name):
    # 600 random points: x in [-6, 10] (both extensions included), sigma over the whole
    # table, tau_s/tau_m in [0.002, 0.98]. Central differences of a C1 piecewise cubic
    # with h = 1e-5 relative: O(h^2) inside a cell, O(h) where the step crosses a cell
    # boundary (the second derivative jumps there); measured max 1.8e-7 (sigma), 1e-8
    # (mu, tau_s), both neurons. Bar 1e-5: a wrong chain-rule factor (dt/dv, -x L_x,
    # 1/(2 q tau_m), the extensions in x, the white rate's partials) gives errors of 1e-2
    # to order 1 (checked by breaking each).
    neuron = NEURONS[name]
    t = tab.get_table(neuron)
    rng = np.random.default_rng(5)
    n = 600
    x = rng.uniform(-6.0, 10.0, n)
    sigma = np.exp(rng.uniform(t.log_sigma[0] + 1e-3, t.log_sigma[-1] - 1e-3, n))
    q = np.sqrt(rng.uniform(0.002, 0.98, n))
    keep = ((np.min(np.abs(x[:, None] - X_KINKS), axis=1) > 1e-3)
            & (np.min(np.abs(q[:, None] - Q_KINKS), axis=1) > 1e-3))
    x, sigma, q = x[keep], sigma[keep], q[keep]
    mu = tab.v_ref(neuron) + x * sigma
    tau_s = q * q * neuron.tau_m
    r, *got = _rate_and_partials(neuron, mu, sigma, tau_s)
    np.testing.assert_allclose(r, colored_rate(neuron, mu, sigma, tau_s), rtol=1e-12)
    _assert_partials(got, _central(neuron, mu, sigma, tau_s), r, sigma, tau_s, 1e-5)


@pytest.mark.parametrize("name", ["eif", "lif"])
def test_partials_at_the_edges_of_the_table(name):
    # points on the edges (first and last sigma node, q on its kink and at 1, x just inside
    # and outside the x nodes and on every kink), against one-sided differences taken on
    # the side whose derivative the interpolant reports: at a node the node-index map uses
    # the segment starting there (right-hand side), except at the last node (left-hand
    # side: x = 8, q = 1, the largest sigma). Step 1e-7 relative: truncation h f"/(2 f'),
    # measured max 1.6e-5 (sigma), 1.1e-5 (tau_s), 1e-6 (mu); bar 1e-4.
    neuron = NEURONS[name]
    t = tab.get_table(neuron)
    s_lo, s_hi = t.sigma_range
    xs = np.array([-7.0, -4.0 - 1e-3, -4.0, -3.9, 4.0, 5.0, 6.0, 7.9, 8.0, 8.0 + 1e-3, 9.0, 12.0])
    X, S, Q = (a.ravel() for a in np.meshgrid(xs, [s_lo, 16.0, s_hi], [0.05, 0.2, 0.5, 1.0],
                                              indexing="ij"))
    mu = tab.v_ref(neuron) + X * S
    tau_s = Q * Q * neuron.tau_m
    r, d_mu, d_sig, d_tau = _rate_and_partials(neuron, mu, S, tau_s)
    np.testing.assert_allclose(r, colored_rate(neuron, mu, S, tau_s), rtol=1e-12)
    f = lambda m, s, ts: colored_rate(neuron, m, s, ts)  # noqa: E731
    h, ht = 1e-7 * S, 1e-7 * tau_s
    x_side = np.where(X == 8.0, -1.0, 1.0)         # the side of x the derivative belongs to
    ref_mu = (f(mu + x_side * h, S, tau_s) - r) / (x_side * h)      # dx/dmu = 1/sigma > 0
    # sigma: dx/dsigma = -x/sigma, so the step that moves x to its side has the sign
    # -x_side sign(x); at the sigma edges the step must point inwards (and the reported
    # derivative is that of the inner segment); where both conflict on an x kink, skip
    s_step = -x_side * np.sign(X)
    edge = np.where(S == s_lo, 1.0, np.where(S == s_hi, -1.0, 0.0))
    conflict = np.isin(X, X_KINKS) & (edge != 0) & (edge != s_step)
    s_step = np.where(edge != 0, edge, s_step)
    ref_sig = (f(mu, S + s_step * h, tau_s) - r) / (s_step * h)
    q_side = np.where(Q >= 1.0, -1.0, 1.0)
    ref_tau = (f(mu, S, tau_s + q_side * ht) - r) / (q_side * ht)
    ok = ~conflict
    assert ok.sum() > 0.8 * ok.size
    _assert_partials((d_mu, d_sig, d_tau), (ref_mu, ref_sig, ref_tau),
                     r, S, tau_s, 1e-4, mask=(np.ones_like(ok), ok, np.ones_like(ok)))


def test_outside_the_table_and_at_tau_s_zero_fall_back_to_forward_differences():
    # tau_s = 0: the white rate and (forward-difference) white partials; the LIF's are
    # analytic: forward step 1e-6 sigma, truncation ~1e-6 relative; bar 1e-4
    mu = np.array([-55.0, -50.0, -45.0])
    sigma = np.array([5.0, 10.0, 20.0])
    r, d_mu, d_sig, _ = _rate_and_partials(LIF_AKIL, mu, sigma, np.zeros(3))
    np.testing.assert_allclose(r, lif_rate(mu, sigma, LIF_AKIL), rtol=1e-14)
    np.testing.assert_allclose(d_mu, lif_rate_dmu(mu, sigma, LIF_AKIL), rtol=1e-4)
    np.testing.assert_allclose(d_sig, lif_rate_dsigma(mu, sigma, LIF_AKIL), rtol=1e-4)
