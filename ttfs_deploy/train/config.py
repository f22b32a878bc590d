"""Training settings and the interface every training method implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Callable, Tuple

import torch
from torch import nn

#: ``step(model, net, optimizer, x, y, cfg) -> (loss, logits)``: one optimization step on a batch of
#: encoded inputs ``x`` and labels ``y``; ``net`` is ``model`` or its DDP wrapper; ``loss`` is the
#: detached scalar objective and ``logits`` the decoder's (B, n_classes) output for the train accuracy.
StepFn = Callable[[nn.Module, nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor, "TrainConfig"],
                  Tuple[torch.Tensor, torch.Tensor]]

METHODS = ("bptt", "ottt")
OTTT_LOSSES = ("running", "membrane")


@dataclass
class TrainConfig:
    """Optimization settings.

    ``method``: ``bptt`` (backprop through time) or ``ottt`` (online training through time);
    ``online_update``: with ``ottt``, an optimizer step at every time step (OTTT_O) instead of one
    per batch (OTTT_A); ``ottt_loss``: the per-step loss of ``ottt`` (docs/ottt.md).
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    augment_shift: int = 0
    augment_flip: bool = False  #: mirror a random half of the training images each epoch
    jitter: int = 0
    qat_epochs: int = 0
    qat_bits: int = 8
    average_last: int = 0  #: MODEL.pt holds the mean weights of the last N epochs' ends (0: the last epoch's)
    device: str = "cpu"
    progress: bool = True
    method: str = "bptt"
    online_update: bool = False
    ottt_loss: str = "running"
    stop_after: Optional[int] = None  #: end after this epoch (1-based); the schedule still spans ``epochs``


#: TrainConfig fields that may differ between a run and its resumption (they do not change the result)
RESUMABLE_CHANGES = ("device", "progress", "stop_after")


@dataclass(frozen=True)
class TrainMethod:
    """A training method: its batch step, and whether DDP wraps the model (else the step averages
    gradients across ranks itself)."""

    step: StepFn
    wrap_ddp: bool
