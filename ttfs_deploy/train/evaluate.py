"""Float-model evaluation: accuracy and the mean early-exit step."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch

from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import encode
from ttfs_deploy.decision import mean_decision_step
from ttfs_deploy.model.network import TTFSNet


@torch.no_grad()
def evaluate(model: TTFSNet, data: Dataset, batch_size: int = 256,
             device: str = "cpu") -> Dict[str, Optional[float]]:
    """Accuracy of ``model`` on ``data`` and the mean step of the first output spike.

    ``latency_steps_mean`` averages over samples whose output fired (reference frame, steps); it is
    None (JSON null) when no sample's output fired, so the per-epoch log stays strict JSON.
    """
    model.eval().to(device)
    times = encode(model.config.encoder, data.x, model.config.T)
    correct, decisions = 0, []
    for start in range(0, len(data), batch_size):
        batch = torch.as_tensor(times[start:start + batch_size], device=device)
        pred, decision = model.predict(batch)
        correct += int((pred.numpy() == data.y[start:start + batch_size]).sum())
        decisions.append(decision.numpy())
    decision = np.concatenate(decisions) if decisions else np.zeros(0)
    latency = mean_decision_step(decision)
    return {"accuracy": correct / max(1, len(data)),
            "latency_steps_mean": latency,
            "silent_fraction": float((decision < 0).mean()) if len(decision) else 0.0}
