"""Lava backend: fire-once IF processes, graph builder and runner (Python 3.11 shim included).

Importing this package does not import ``lava``; the names below are loaded on first use, so
``ensure_lava`` can report a missing lava-nc as a one-line :class:`~ttfs_deploy.errors.TTFSError`.
"""

from __future__ import annotations

import importlib
from typing import Any

from ttfs_deploy.backends.lava.py311 import ensure_lava, lava_available

_LAZY = {
    "LavaNetwork": "ttfs_deploy.backends.lava.runner",
    "run_lava": "ttfs_deploy.backends.lava.runner",
    "FireOnceIF": "ttfs_deploy.backends.lava.process",
    "build_graph": "ttfs_deploy.backends.lava.network",
}

__all__ = ["ensure_lava", "lava_available", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
