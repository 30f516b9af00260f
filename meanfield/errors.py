"""Exception and warning classes shared by every hetbalance package."""

from __future__ import annotations

__all__ = ["ConvergenceError", "RegimeWarning", "ParameterWarning"]


class ConvergenceError(RuntimeError):
    """A solver did not converge and was called with ``strict=True``.

    The unconverged result, when there is one, is attached as ``result``.
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class RegimeWarning(UserWarning):
    """The inputs leave the regime in which an approximation is valid."""


class ParameterWarning(UserWarning):
    """A parameter is legal but probably not what the user meant."""
