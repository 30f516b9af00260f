"""Exception and warning classes shared by every hetbalance package."""

from __future__ import annotations

__all__ = ["ParameterError", "ParameterTypeError", "ConvergenceError", "RegimeWarning",
           "ParameterWarning"]


class ParameterError(ValueError):
    """A parameter value outside its allowed range; ``field`` names the parameter.

    A ``ValueError``, so ``except ValueError`` catches it. The message names the
    parameter, its value and the allowed range; ``field`` carries the name as data, so a
    caller (e.g. the model-file reader, which points at the offending line) never has to
    parse the message.

    Attributes
    ----------
    field : str or None
        The parameter as named in the message: ``"dt"``, ``"LIF.tau_m"``,
        ``"NetworkParams.p_EE"`` (``Owner.name`` for a field of a parameter object).
        None when the error concerns no single parameter.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class ParameterTypeError(TypeError):
    """A parameter of the wrong type (a ``TypeError``); ``field`` as in ``ParameterError``."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


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
