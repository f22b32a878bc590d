"""Tail weight averaging: the model a run ships is the mean of its weights at the ends of its last epochs.

Stochastic weight averaging (Izmailov et al., UAI 2018) on the tail of the cosine schedule: the
end-of-epoch weights of the last ``window`` epochs are summed in float64, in epoch order, and
divided by their count. The training trajectory is unchanged; only the weights written to
``MODEL.pt`` differ. Averaging needs no statistics pass afterwards because the network has no
batch normalization (weight standardization depends on the weights alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

import torch

from ttfs_deploy.errors import TTFSError


@dataclass
class WeightAverage:
    """Running sum of the floating-point tensors of a state_dict over the last ``window`` epochs of a
    run; ``window`` 0 averages nothing."""

    window: int
    total: Dict[str, torch.Tensor] = field(default_factory=dict)
    count: int = 0

    def covers(self, epoch: int, epochs: int) -> bool:
        """Whether ``epoch`` (1-based) of an ``epochs``-long run is one of the averaged ones."""
        return self.window > 0 and epoch > epochs - self.window

    def add(self, state_dict: Dict[str, torch.Tensor]) -> None:
        """Add one epoch's end-of-epoch weights."""
        for key, value in state_dict.items():
            if value.is_floating_point():
                value = value.detach().cpu().double()
                self.total[key] = self.total[key] + value if key in self.total else value.clone()
        self.count += 1

    def averaged(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``state_dict`` with every averaged tensor replaced by its mean (in the tensor's dtype)."""
        return {key: (self.total[key] / self.count).to(value.dtype).to(value.device) if key in self.total
                else value for key, value in state_dict.items()}

    def state(self) -> Dict[str, Any]:
        """What a resume state stores."""
        return {"window": self.window, "total": self.total, "count": self.count}

    def restore(self, saved: Any, path: str) -> None:
        """Continue from a resume state's :meth:`state` (absent in states written without averaging)."""
        if saved is None:
            if self.window:
                raise TTFSError(f"resume state {path} holds no weight average", "resume with the options of the "
                                "run that wrote it, or drop --resume to start again")
            return
        try:
            total, count = dict(saved["total"]), int(saved["count"])
            if saved["window"] != self.window or count < 0 or \
                    not all(isinstance(t, torch.Tensor) and t.dtype == torch.float64 for t in total.values()):
                raise ValueError("inconsistent")
        except (KeyError, TypeError, ValueError):
            raise TTFSError(f"resume state {path} has a damaged weight average", "drop --resume to start again") \
                from None
        self.total, self.count = total, count
