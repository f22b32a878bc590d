"""Spike encoders: float images in [0, 1] to first-spike times (steps, -1 = no spike).

* ``latency``: one input neuron per pixel, spiking at ``t = round((1 - x) * (T - 1))``; pixels
  with ``x <= 0`` stay silent. Brighter pixels fire earlier.
* ``onoff``: two channels per pixel: the ``latency`` (ON) channel, then an OFF channel spiking at
  ``t = round(x * (T - 1))`` for pixels with ``x < 1``, so dark pixels are seen early too.
  The encoded image has ``2 C`` channels (ON channels first).
* ``direct``: no spikes: the analog pixel ``x`` in [0, 1] is a current into the first layer at
  every step ``0..T-1``, so the first IF layer is the intensity-to-latency encoder. ``compile``
  keeps that layer in float on the host (:mod:`ttfs_deploy.backends.host`); its spike times
  are the chip's input.

Output shape ``(N, prod(encoded_shape))``, flattened in C-order: int64 spike steps (-1 silent)
for the spike codes, float32 intensities for ``direct``.
"""

from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.semantics import NEVER


def latency(x: np.ndarray, T: int) -> np.ndarray:
    """Latency code of images ``x`` (N, ...) over ``T`` steps; returns (N, n_pixels) int64."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    times = np.rint((1.0 - np.clip(flat, 0.0, 1.0)) * (T - 1)).astype(np.int64)
    return np.where(flat > 0, times, NEVER)


def onoff(x: np.ndarray, T: int) -> np.ndarray:
    """ON (latency) and OFF channels of images ``x`` (N, C, H, W); returns (N, 2 C H W) int64."""
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(len(x), -1)
    off = np.where(flat < 1, np.rint(np.clip(flat, 0.0, 1.0) * (T - 1)), NEVER).astype(np.int64)
    return np.concatenate([latency(x, T), off], axis=1)


def direct(x: np.ndarray, T: int) -> np.ndarray:
    """Analog input currents: the pixels of ``x`` (N, ...) clipped to [0, 1], (N, n_pixels) float32,
    applied at every step (``T`` is unused: the current is constant)."""
    return np.clip(np.asarray(x, dtype=np.float32).reshape(len(x), -1), 0.0, 1.0)


ENCODERS: Dict[str, Callable[[np.ndarray, int], np.ndarray]] = {"latency": latency, "onoff": onoff,
                                                                 "direct": direct}
CHANNELS = {"latency": 1, "onoff": 2, "direct": 1}  #: encoded channels per image channel
SPIKE_CODES = ("latency", "onoff")  #: encoders whose output is already the chip's input spikes


def encoded_shape(name: str, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
    """Shape of the spiking input layer for images of ``input_shape`` (C, H, W)."""
    if name not in ENCODERS:
        raise TTFSError(f"unknown input encoder {name!r}", f"use one of {sorted(ENCODERS)}")
    return (input_shape[0] * CHANNELS[name], *input_shape[1:])


def encode(name: str, x: np.ndarray, T: int) -> np.ndarray:
    """Encode ``x`` with the encoder ``name``."""
    if name not in ENCODERS:
        raise TTFSError(f"unknown input encoder {name!r}", f"use one of {sorted(ENCODERS)}")
    return ENCODERS[name](x, T)

