"""Progress bars and graceful Ctrl-C for long loops.

``progress_bar`` is the one progress bar of hetbalance (``simulate`` and ``sweep``): a
``tqdm`` bar on stderr when tqdm is installed (extras ``test``, ``figures``, ``fast`` and
``cli``) and the output is a terminal, and a silent stand-in otherwise, so ``progress=``
never fails. ``interrupt_guard`` turns the first Ctrl-C into a flag the loop polls between
chunks, so the caller can return what it has; a second Ctrl-C raises
``KeyboardInterrupt`` as usual.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

__all__ = ["progress_bar", "interrupt_guard"]


class _NoBar:
    """What ``progress_bar`` returns when there is no bar: the tqdm calls we use, silent."""

    n = 0

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s="", refresh=True):
        pass

    def close(self):
        pass


def progress_bar(total: float, *, enabled=None, desc: str = "", unit: str = "it",
                 stream=None, delay: float = 2.0, interval: float = 0.5):
    """Return a ``tqdm`` progress bar, or a silent stand-in with the same methods.

    Parameters
    ----------
    total : float
        Amount of work: simulated seconds for ``simulate``, points for ``sweep``.
    enabled : bool or None
        None (default): a bar only when ``stream`` is a terminal. True: always (when tqdm
        is installed). False: never.
    desc, unit : str
        Label of the bar and unit of ``total``.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    delay : float
        Wall-time seconds before the bar first appears (default 2: short runs stay quiet).
    interval : float
        Minimum wall-time seconds between redraws (default 0.5).

    Returns
    -------
    tqdm.tqdm or a silent stand-in
        Use ``update(n)``, ``set_postfix_str(text)``, ``close()``, ``n``.

    Notes
    -----
    tqdm is optional: without it (``pip install tqdm``) there is no bar and no error.
    """
    stream = sys.stderr if stream is None else stream
    if enabled is None:
        isatty = getattr(stream, "isatty", None)
        enabled = bool(isatty()) if callable(isatty) else False
    if not enabled:
        return _NoBar()
    try:   # imported here: optional, and only needed when a bar is shown
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit, file=stream, delay=delay,
                mininterval=interval, leave=True, dynamic_ncols=True,
                bar_format="{desc}: {percentage:5.1f}%|{bar}| {n:.4g}/{total:.4g} " + unit
                           + " [{elapsed}<{remaining}{postfix}]")


class _Flag:
    requested = False


@contextlib.contextmanager
def interrupt_guard():
    """Context manager yielding a flag whose ``requested`` turns True on the first Ctrl-C.

    Only effective in the main thread (signal handlers cannot be installed elsewhere);
    in other threads Ctrl-C behaves as usual. The previous SIGINT handler is restored on
    exit. A second Ctrl-C raises ``KeyboardInterrupt`` immediately.
    """
    flag = _Flag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    try:
        previous = signal.getsignal(signal.SIGINT)
    except (ValueError, OSError):  # pragma: no cover - exotic embedding
        yield flag
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True

    try:
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # pragma: no cover
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
