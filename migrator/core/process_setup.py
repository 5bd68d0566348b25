"""Settings for a whole `migrator` process, made once by its entry point."""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once the imports are done, before any work."""
    # What the imports made lives as long as the process: keep it out of the
    # collector's passes, which otherwise rescan it again and again while a state
    # index or a forge listing of 30,000 entries is parsed (a third of `status`).
    gc.freeze()
