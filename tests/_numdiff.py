"""Shared by the Jacobian checks (tests/test_spread.py, tests/test_renewal.py).

Not a test module (no ``test_`` prefix); imported by name since ``tests/`` is on the path
pytest gives test modules.
"""

import numpy as np


def central_jacobian(fun, x, rel: float = 1e-6, floor: float = 1e-3) -> np.ndarray:
    """Central differences of ``fun`` (array in, array out) at x, column by column.

    Step h = rel * max(|x_k|, floor): truncation ~h^2, round-off ~1e-16/rel.
    """
    x = np.asarray(x, float)
    f0 = np.asarray(fun(x), float)
    J = np.zeros((f0.size, x.size))
    for k in range(x.size):
        h = rel * max(abs(x[k]), floor)
        xp, xm = x.copy(), x.copy()
        xp[k] += h
        xm[k] -= h
        J[:, k] = (np.asarray(fun(xp)) - np.asarray(fun(xm))) / (2 * h)
    return J
