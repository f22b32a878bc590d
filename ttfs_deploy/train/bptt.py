"""BPTT, the ETTFS recipe: cross-entropy on the decoded logits of the whole sequence, one backward
through all T steps (memory grows linearly with T). The epoch loop is :mod:`ttfs_deploy.train.loop`."""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ttfs_deploy.train.config import TrainConfig, TrainMethod


def bptt_step(model: nn.Module, net: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
              y: torch.Tensor, cfg: TrainConfig) -> Tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on the batch; ``net`` (the DDP wrapper under torchrun) averages gradients."""
    logits = net(x)
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits


BPTT = TrainMethod(step=bptt_step, wrap_ddp=True)
