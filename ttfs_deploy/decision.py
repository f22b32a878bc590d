"""The class decision every backend uses: first output spike wins.

Matches the temporal-weighting decoder on fire-once outputs (earlier spike = larger weight).
Spike times are reference-frame steps, :data:`~ttfs_deploy.semantics.NEVER` for no spike. It lives on
the ground floor beside :mod:`ttfs_deploy.semantics` because the backends, ``verify``, ``energy``
and the torch model all decide the same way.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ttfs_deploy.semantics import NEVER


def decode_prediction(first_spike: np.ndarray, v_spike: np.ndarray, v_final: np.ndarray,
                      never: int = NEVER) -> np.ndarray:
    """Class decision from the output layer: ``(..., n_classes)`` arrays in, ``(...)`` classes out.

    * the earliest output spike wins (temporal weighting = first-spike-wins on fire-once outputs);
    * among classes spiking at that same step, the largest membrane potential at the spike
      (``v_spike``, before reset) wins, then the lowest class index;
    * a sample with no output spike takes the largest final membrane potential ``v_final``.
    """
    first_spike = np.asarray(first_spike)
    big = np.iinfo(np.int64).max
    times = np.where(first_spike == never, big, first_spike).astype(np.int64)
    earliest = times.min(axis=-1, keepdims=True)
    v_at = np.where(times == earliest, np.asarray(v_spike, dtype=np.float64), -np.inf)
    by_time = v_at.argmax(axis=-1)
    silent = (earliest[..., 0] == big)
    by_v = np.asarray(v_final).argmax(axis=-1)
    return np.where(silent, by_v, by_time)


def decision_step(first_spike: np.ndarray, never: int = NEVER) -> np.ndarray:
    """Step of the earliest output spike per sample (early-exit latency), ``never`` if silent."""
    first_spike = np.asarray(first_spike)
    big = np.iinfo(np.int64).max
    earliest = np.where(first_spike == never, big, first_spike).min(axis=-1)
    return np.where(earliest == big, never, earliest)


def mean_decision_step(decision: np.ndarray, never: int = NEVER) -> Optional[float]:
    """Mean decision step over the samples whose output fired (None when none fired)."""
    decision = np.asarray(decision)
    fired = decision[decision != never]
    return float(fired.mean()) if len(fired) else None


def format_decision_step(mean_step: Optional[float]) -> str:
    """A mean decision step for people: two decimals, or 'none fired' when no output spiked."""
    return "none fired" if mean_step is None else f"{mean_step:.2f}"
