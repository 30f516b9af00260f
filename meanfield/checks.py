"""Input checks that raise a ``ValueError`` naming the parameter, its value and the range.

Every public function and every parameter dataclass of hetbalance validates its input
with these helpers, so that bad input never turns into a NaN, a silent clip or a
traceback from deep inside numpy. The errors are ``ParameterError`` (a ``ValueError``) and
``ParameterTypeError`` (a ``TypeError``), whose ``field`` attribute is the ``name`` given
to the helper.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .errors import ParameterError, ParameterTypeError

__all__ = [
    "check_finite",
    "check_real",
    "check_in_range",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_int",
    "check_time_constant",
    "check_array",
    "renamed_keyword",
]


def check_real(name: str, value) -> float:
    """Return ``value`` as a float, raising ``TypeError`` for non-numbers (bool included)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ParameterTypeError(f"{name} must be a real number, got {type(value).__name__} "
                                 f"{value!r}", field=name)
    return float(value)


def check_finite(name: str, value) -> float:
    """Return ``value`` as a finite float or raise ``ValueError``."""
    v = check_real(name, value)
    if not math.isfinite(v):
        raise ParameterError(f"{name} = {value!r} is not finite; allowed: a finite real number",
                             field=name)
    return v


def check_in_range(name: str, value, lo=-math.inf, hi=math.inf, *, lo_open=False,
                   hi_open=False, unit: str = "", hint: str = "") -> float:
    """Check ``lo <= value <= hi`` (with optional open ends) and return it as a float."""
    v = check_finite(name, value)
    bad = (v < lo) or (v > hi) or (lo_open and v == lo) or (hi_open and v == hi)
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        u = f" {unit}" if unit else ""
        msg = f"{name} = {value!r}{u} is out of range; allowed: {left}{lo}, {hi}{right}{u}"
        if hint:
            msg += f" ({hint})"
        raise ParameterError(msg, field=name)
    return v


def check_positive(name: str, value, unit: str = "", hint: str = "") -> float:
    """Check ``value > 0``."""
    return check_in_range(name, value, 0.0, math.inf, lo_open=True, unit=unit, hint=hint)


def check_nonnegative(name: str, value, unit: str = "", hint: str = "") -> float:
    """Check ``value >= 0``."""
    return check_in_range(name, value, 0.0, math.inf, unit=unit, hint=hint)


def check_probability(name: str, value) -> float:
    """Check ``0 <= value <= 1``."""
    return check_in_range(name, value, 0.0, 1.0)


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Check that ``value`` is an integer (a float with an integral value is refused)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ParameterTypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}",
                                 field=name)
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise ParameterError(f"{name} = {v} is out of range; allowed: integers in {rng}",
                             field=name)
    return v


def check_time_constant(name: str, value, *, allow_zero: bool = False, max_s: float = 1.0) -> float:
    """Check a time constant given in seconds.

    Values above ``max_s`` (default 1 s) are refused as probably given in milliseconds.
    """
    v = check_finite(name, value)
    lo_ok = v >= 0 if allow_zero else v > 0
    if not lo_ok or v > max_s:
        left = "[" if allow_zero else "("
        hint = ""
        if v > max_s:
            hint = (f"; times are in seconds: {v:g} looks like milliseconds, "
                    f"did you mean {v / 1000:g} s?")
        raise ParameterError(
            f"{name} = {value!r} s is out of range; allowed: {left}0, {max_s:g}] s{hint}",
            field=name)
    return v


def check_array(name: str, value, *, finite: bool = True, lo=None, hi=None,
                lo_open: bool = False, dtype=float) -> np.ndarray:
    """Convert ``value`` to an array and check its entries lie in the allowed range."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ParameterTypeError(f"{name} must be numeric (array-like), got "
                                 f"{type(value).__name__}", field=name) from exc
    if finite and arr.size and not np.all(np.isfinite(arr)):
        idx = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
        raise ParameterError(f"{name} contains a non-finite value {arr.ravel()[idx].item()!r} at "
                             f"flat index {idx}; allowed: finite numbers", field=name)
    if lo is not None and arr.size:
        bad = arr <= lo if lo_open else arr < lo
        if np.any(bad):
            idx = np.flatnonzero(bad.ravel())[0]
            op = ">" if lo_open else ">="
            raise ParameterError(f"{name} contains {arr.ravel()[idx].item()!r} at flat index "
                                 f"{idx}; allowed: values {op} {lo}", field=name)
    if hi is not None and arr.size and np.any(arr > hi):
        idx = np.flatnonzero((arr > hi).ravel())[0]
        raise ParameterError(f"{name} contains {arr.ravel()[idx].item()!r} at flat index {idx}; "
                             f"allowed: values <= {hi}", field=name)
    return arr


def renamed_keyword(new_name: str, new_value, old_name: str, old_value, *, default=None,
                    stacklevel: int = 3):
    """Return the value of a keyword argument renamed from ``old_name`` to ``new_name``.

    Returns ``new_value`` unless only the old keyword was given (``old_value`` is not
    None), in which case ``old_value`` is returned with a ``DeprecationWarning``;
    ``default`` when neither was given. Both given raise ``TypeError``.
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise TypeError(f"got both {new_name}= and its deprecated old name {old_name}=; "
                        f"give {new_name}= only")
    warnings.warn(f"the keyword {old_name}= is deprecated; use {new_name}=",
                  DeprecationWarning, stacklevel=stacklevel)
    return old_value


def check_solver_options(tol, maxiter, silent_rate, saturated_rate, time_budget):
    """Check the options every mean-field solver takes; return the normalised values.

    Parameters
    ----------
    tol : float
        Relative residual tolerance, > 0.
    maxiter : int or None
        Iteration ceiling, >= 1 (None: each method's own default).
    silent_rate : float
        Hz, >= 0: labels or neurons below it count as silent.
    saturated_rate : float or None
        Hz, > 0 (None: a fraction of 1/tau_ref).
    time_budget : float
        Seconds, > 0.

    Returns
    -------
    tuple
        ``(maxiter, silent_rate, saturated_rate)``, checked and converted.
    """
    check_positive("tol", tol)
    if maxiter is not None:
        maxiter = check_int("maxiter", maxiter, lo=1)
    silent_rate = check_nonnegative("silent_rate", silent_rate, unit="Hz")
    if saturated_rate is not None:
        saturated_rate = check_positive("saturated_rate", saturated_rate, unit="Hz")
    check_positive("time_budget", time_budget, unit="s")
    return maxiter, silent_rate, saturated_rate
