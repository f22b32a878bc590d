"""Time-major simulation of a :class:`~ttfs_deploy.model.network.TTFSNet`: one step at a time.

State per weight layer (shape ``(B, ...)`` each, detached between steps):

* ``trace``: the layer's summed input so far, ``a[t] = a[t-1] + x[t]`` (OTTT's presynaptic trace;
  for fire-once spikes the "has fired by t" indicator, for ``direct`` input ``(t + 1) x``);
* ``alive``: 1 until the neuron has fired (the fire-once latch).

Fire-once IF neurons are non-leaky and never reset, so the membrane is linear in the trace:

    V[t] = W a[t] + (t + 1) b            (exactly the running sum of BPTT's ``fire_once``)

Step ``t`` computes ``V[t]`` from the trace, so its graph reaches only step ``t``'s input spikes:
backward of a step gives OTTT's gradient ``dV[t]/dW = a[t]`` (trace), ``dV[t]/db = t + 1``, and the
input gradient goes to step ``t``'s spikes only. Memory is that of one step, whatever ``T``.
Spike dropout draws one mask per hidden layer at ``t = 0`` (same order as ``TTFSNet.run``) and
holds it for the sequence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import torch
import torch.nn.functional as F

from ttfs_deploy.model.neuron import SigmoidSurrogate

if TYPE_CHECKING:
    from ttfs_deploy.model.network import TTFSNet


class StepwiseRun:
    """One sequence of a batch, advanced with :meth:`step` for ``t = 0 .. T-1`` in order."""

    def __init__(self, model: "TTFSNet", times: torch.Tensor) -> None:
        self.model, self.times = model, times
        n = len(model.layers_weighted)
        self.trace: List[Optional[torch.Tensor]] = [None] * n
        self.alive: List[Optional[torch.Tensor]] = [None] * n
        self.keep: List[Optional[torch.Tensor]] = [None] * n
        self.v = self.v_spike = torch.zeros(0)  #: output layer: membrane after the last step, at the spike
        self.membrane = torch.zeros(0)  #: output layer: this step's membrane, attached to this step's graph
        self.t = 0

    def input_at(self, t: int) -> torch.Tensor:
        """Input of step ``t``: the spikes of step ``t`` (B, C, H, W), or the ``direct`` current."""
        model, times = self.model, self.times
        dtype = model.time_weights.dtype
        if model.config.encoder == "direct":
            return times.to(dtype).view(times.shape[0], *model.input_shape)
        return (times == t).to(dtype).view(times.shape[0], *model.input_shape)

    def step(self) -> torch.Tensor:
        """Run every layer for the next step; returns the output spikes ``(B, n_classes)``."""
        model, t = self.model, self.t
        x, k = self.input_at(t), 0
        for spec, layer in zip(model.specs, model.layers):
            if spec.kind == "avgpool":
                x = F.avg_pool2d(x, spec.size)
                continue
            if spec.kind == "maxpool":
                x = F.max_pool2d(x, spec.size)
                continue
            trace = x if self.trace[k] is None else self.trace[k] + x
            self.trace[k] = trace.detach()
            bias = layer.bias.view(1, -1, *([1] * (trace.dim() - 2 if layer.kind == "conv" else 0)))
            v = layer(trace) + t * bias
            alive = self.alive[k] if self.alive[k] is not None else torch.ones_like(v.detach())
            s = SigmoidSurrogate.apply(v - model.config.threshold, 4.0) * alive
            self.alive[k] = alive * (1 - s.detach())
            k += 1
            if k == len(self.trace):
                self.membrane, self.v = v, v.detach()
                before = self.v_spike if t else torch.zeros_like(self.v)
                self.v_spike = torch.where(s.detach() > 0, self.v, before)
            elif model.training and model.config.dropout > 0:
                if self.keep[k - 1] is None:
                    self.keep[k - 1] = (torch.rand_like(s.detach()) >= model.config.dropout).float()
                s = s * self.keep[k - 1] / (1 - model.config.dropout)
            x = s
        self.t += 1
        return x
