"""Settings for a whole `migrator` process, made once by its entry point."""

from __future__ import annotations

import ctypes
import gc

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_LARGE = 4 << 20


def settle() -> None:
    """Call once the imports are done, before any work."""
    # What the imports made lives as long as the process: keep it out of the
    # collector's passes, which otherwise rescan it again and again while a state
    # index or a forge listing of 30,000 entries is parsed (a third of `status`).
    gc.freeze()
    # Every token hash takes a 16 MiB work area. glibc's allocator raises its mmap
    # threshold after the first such area is freed, and from then on each thread keeps
    # its area (and fragments around it) for good: a 5,000-feedstock run ended at
    # twice the memory it needed. Blocks of 4 MiB and more always go back at once.
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _LARGE)


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # no C library to look into
        return None
