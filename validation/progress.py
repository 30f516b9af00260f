"""Progress reporting and graceful Ctrl-C for long loops.

``Progress`` prints one self-overwriting status line on a terminal once a run has taken
more than ``delay`` seconds of wall time, and stays quiet otherwise (output not a
terminal, or ``enabled=False``). ``interrupt_guard`` turns the first Ctrl-C into a flag the
loop polls between chunks, so the caller can return what it has; a second Ctrl-C raises
``KeyboardInterrupt`` as usual.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time

__all__ = ["Progress", "interrupt_guard"]


class Progress:
    """A one-line progress report for a loop over simulated time.

    Parameters
    ----------
    total : float
        Simulated time the loop will cover, s.
    enabled : bool or None
        None (default): report only when ``stream`` is a terminal. True: always report
        (still only after ``delay``). False: never.
    stream : file, optional
        Where to write (default ``sys.stderr``).
    delay : float
        Wall-time seconds before the first report, default 2.
    interval : float
        Minimum wall-time seconds between reports, default 0.5.
    label : str
        Prefix of the line.
    """

    def __init__(self, total: float, enabled=None, stream=None, delay: float = 2.0,
                 interval: float = 0.5, label: str = "simulate"):
        self.total = float(total)
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty()) if callable(isatty) else False
        self.enabled = bool(enabled)
        self.delay = float(delay)
        self.interval = float(interval)
        self.label = label
        self.t0 = time.perf_counter()
        self._last = -float("inf")
        self._printed = False

    def update(self, done: float, extra: str = "") -> None:
        """Report that ``done`` seconds of the ``total`` are simulated."""
        if not self.enabled:
            return
        now = time.perf_counter()
        wall = now - self.t0
        if wall < self.delay or now - self._last < self.interval:
            return
        self._last = now
        frac = done / self.total if self.total > 0 else 1.0
        eta = wall * (1.0 - frac) / frac if frac > 0 else float("nan")
        line = (f"{self.label}: {done:.3f}/{self.total:g} s ({100 * frac:5.1f}%), "
                f"wall {wall:.1f} s, ETA {eta:.1f} s")
        if extra:
            line += f", {extra}"
        self.stream.write("\r" + line.ljust(79))
        self.stream.flush()
        self._printed = True

    def close(self, message: str = "") -> None:
        """End the line (only if something was printed)."""
        if self.enabled and self._printed:
            wall = time.perf_counter() - self.t0
            self.stream.write(f"\r{self.label}: done in {wall:.1f} s {message}".ljust(79) + "\n")
            self.stream.flush()


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
