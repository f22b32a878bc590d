"""Fire-once, non-leaky integrate-and-fire neurons with delta synapses (float, trainable).

Reference frame, steps ``t = 0 .. T-1``, ``V[-1] = 0``:

    V[t] = V[t-1] + I[t]                 (I = W x[t] + b, x the input spikes of step t)
    s[t] = 1  iff  V[t] >= threshold  and the neuron has not fired before

The backward pass uses a sigmoid surrogate ``alpha * sig(alpha z) * (1 - sig(alpha z))`` with
``z = V - threshold``; the fired mask is detached.
"""

from __future__ import annotations

import torch


class SigmoidSurrogate(torch.autograd.Function):
    """Heaviside (``z >= 0``) forward, sigmoid-derivative backward."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(z)
        ctx.alpha = alpha
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (z,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.alpha * z)
        return grad * ctx.alpha * sig * (1 - sig), None


def fire_once(current: torch.Tensor, threshold: float = 1.0, alpha: float = 4.0) -> tuple:
    """Run fire-once IF neurons over time.

    Args:
        current: input current ``I``, shape ``(T, B, ...)`` (threshold units per step).
    Returns:
        ``(spikes, v, v_spike)``: spikes ``(T, B, ...)`` in {0, 1}; ``v`` the membrane potential
        after the last step and ``v_spike`` the potential at each neuron's spike (0 if silent),
        both ``(B, ...)``; the decoder uses them for silent samples and ties.
    """
    v = torch.zeros_like(current[0])
    alive = torch.ones_like(current[0])
    v_spike = torch.zeros_like(current[0])
    spikes = []
    for t in range(current.shape[0]):
        v = v + current[t]
        s = SigmoidSurrogate.apply(v - threshold, alpha) * alive
        v_spike = torch.where(s.detach() > 0, v.detach(), v_spike)
        alive = alive * (1 - s.detach())
        spikes.append(s)
    return torch.stack(spikes), v, v_spike
