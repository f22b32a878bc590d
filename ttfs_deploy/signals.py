"""Termination signals as exceptions, so that ``with`` blocks and ``finally`` clauses clean up
(temporary files, staged outputs) on SIGTERM and SIGHUP exactly as on Ctrl-C (SIGINT)."""

from __future__ import annotations

import signal
from typing import Any


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when the process receives a termination signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def _raise(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def raise_on_termination() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` (main thread only)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)
