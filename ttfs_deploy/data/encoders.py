"""Spike encoders: float images in [0, 1] to first-spike times (steps, -1 = no spike).

``latency``: one spike per pixel at ``t = round((1 - x) * (T - 1))``; pixels with ``x <= 0``
stay silent. Brighter pixels fire earlier. Output shape ``(N, prod(input_shape))``, int64.
"""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import NEVER


def latency(x: np.ndarray, T: int) -> np.ndarray:
    """Latency code of images ``x`` (N, ...) over ``T`` steps; returns (N, n_pixels) int64."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    times = np.rint((1.0 - np.clip(flat, 0.0, 1.0)) * (T - 1)).astype(np.int64)
    return np.where(flat > 0, times, NEVER)


ENCODERS: Dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"latency": latency}


def encode(name: str, x: np.ndarray, T: int) -> np.ndarray:
    """Encode ``x`` with the encoder ``name``."""
    if name not in ENCODERS:
        raise TTFSError(f"unknown input encoder {name!r}", f"use one of {sorted(ENCODERS)}")
    return ENCODERS[name](x, T)


def times_to_raster(times: np.ndarray, T: int) -> np.ndarray:
    """(N, n) spike times -> (N, T, n) binary raster (float32)."""
    n, k = times.shape
    raster = np.zeros((n, T, k), dtype=np.float32)
    rows, cols = np.nonzero((times >= 0) & (times < T))
    raster[rows, times[rows, cols], cols] = 1.0
    return raster
