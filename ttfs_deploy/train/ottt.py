"""OTTT (Xiao et al., NeurIPS 2022) for fire-once TTFS networks: online training through time.

The batch runs time-major (:class:`~ttfs_deploy.model.stepwise.StepwiseRun`): step ``t`` runs all
layers with the state of step ``t-1`` detached, its loss ``L[t]`` is backpropagated through space
only, and the weight gradient ``g[t] a[t]^T`` is built from the presynaptic trace (for fire-once
neurons, the "has fired by t" indicator). No graph spans two steps, so memory is constant in T.

* OTTT_A (``online_update=False``): gradients of the T steps accumulate; one optimizer step per batch.
* OTTT_O (``online_update=True``): an optimizer step after every time step.

Per-step losses (``ottt_loss``; docs/ottt.md has the measurement behind the default):

* ``running``: cross-entropy on the running decoder output
  ``y[t] = logit_scale * sum_{tau <= t} w_tau s[tau]`` (past terms detached), divided by T;
  its sum over steps is the objective;
* ``membrane``: cross-entropy on the output membranes ``logit_scale * V[t]``, divided by T.

Under torchrun the step averages gradients across ranks itself (``all_reduce``) before each
optimizer step, since the time-major loop does not go through DDP's forward.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ttfs_deploy.model.stepwise import StepwiseRun
from ttfs_deploy.train.config import TrainConfig, TrainMethod


def average_gradients(model: nn.Module) -> None:
    """Mean of every parameter's gradient over the ranks of a process group (no-op without one)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


def _apply(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    average_gradients(model)
    optimizer.step()


def ottt_step(model: nn.Module, net: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
              y: torch.Tensor, cfg: TrainConfig) -> Tuple[torch.Tensor, torch.Tensor]:
    """One batch of OTTT_A (one optimizer step) or OTTT_O (T optimizer steps).

    Returns the summed per-step loss and the decoder's logits of the whole sequence (detached).
    """
    T, scale = model.config.T, model.config.logit_scale
    run = StepwiseRun(model, x)
    running = torch.zeros((), device=x.device)  # decoded output of steps < t (detached)
    total = torch.zeros((), device=x.device)
    optimizer.zero_grad(set_to_none=True)
    for t in range(T):
        current = running + scale * model.time_weights[t] * run.step()
        target = scale * run.membrane if cfg.ottt_loss == "membrane" else current
        loss = F.cross_entropy(target, y) / T
        loss.backward()
        total, running = total + loss.detach(), current.detach()
        if cfg.online_update:
            _apply(model, optimizer)
            optimizer.zero_grad(set_to_none=True)
    if not cfg.online_update:
        _apply(model, optimizer)
    return total, running


OTTT = TrainMethod(step=ottt_step, wrap_ddp=False)
