"""Private helpers of ``graphs``: memory estimates and memory checks."""

from __future__ import annotations

import os


__all__ = ["available_memory", "check_memory"]


def available_memory() -> int:
    """Bytes of memory the OS reports as available (``MemAvailable``), or a fallback."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 1 << 62


def check_memory(needed: float, what: str, max_memory=None) -> None:
    """Raise ``ValueError`` if ``needed`` bytes exceed ``max_memory`` (default: free memory)."""
    if max_memory is not None:
        if isinstance(max_memory, bool) or not isinstance(max_memory, (int, float)) or max_memory <= 0:
            raise ValueError(f"max_memory = {max_memory!r} is out of range; allowed: a number "
                             "of bytes > 0, or None for the machine's available memory")
        limit, source = float(max_memory), "max_memory"
    else:
        limit, source = float(available_memory()), "the machine's available memory"
    if needed > limit:
        raise ValueError(f"{what} needs an estimated {needed / 1e9:.3g} GB, more than "
                         f"{source} ({limit / 1e9:.3g} GB); reduce N or the connection "
                         "probabilities (nothing has been allocated)")


