"""What every backend returns: one result type for the event simulator, torch and Lava."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, List, Optional

import numpy as np

from ttfs_deploy.decision import decision_step, decode_prediction


@dataclass
class BackendResult:
    """Outputs of one backend over B samples, in the reference frame.

    * ``spike_times[l]``: ``(B, n_l)`` first-spike step of every neuron of layer ``l`` (steps
      ``0..T-1``, hop delays removed; :data:`~ttfs_deploy.semantics.NEVER` = no spike), neurons in
      flat C-order ``(C, H, W)``.
    * ``v_final`` / ``v_spike``: ``(B, n_out)`` int64 output membrane after the last step / at its
      spike before the reset (membrane units, 1/64 weight unit; 0 where it did not fire).
    * ``stopped_at``: ``(B,)`` step at which a sample stopped early (early exit), ``NEVER`` when it
      ran the whole window; ``None`` when the backend always runs the whole window.
    * ``counts[l][key]``: ``(B,)`` int64 operation counts per layer, from backends that count
      as they run (the event simulator); empty otherwise.
    * ``seconds_per_sample``: wall time per sample, one-off build/compile excluded
      (``compile_seconds``).
    """

    backend: str
    spike_times: List[np.ndarray]
    v_final: np.ndarray
    v_spike: np.ndarray
    stopped_at: Optional[np.ndarray] = None
    counts: List[Dict[str, np.ndarray]] = field(default_factory=list)
    seconds_per_sample: float = 0.0
    compile_seconds: float = 0.0

    @cached_property
    def predictions(self) -> np.ndarray:
        """``(B,)`` class per sample (:func:`ttfs_deploy.decision.decode_prediction`)."""
        return decode_prediction(self.spike_times[-1], self.v_spike, self.v_final)

    @cached_property
    def decision(self) -> np.ndarray:
        """``(B,)`` step of the first output spike (the decision), ``NEVER`` when silent."""
        return decision_step(self.spike_times[-1])

    def __len__(self) -> int:
        return len(self.v_final)
