"""Weight layers with the ETTFS initialization and training normalization.

``norm="ws"``: per-output-channel weight standardization rescaled to the init statistics, then a
learnable affine:  ``W_hat = (W - mean) / (std + eps) * sqrt(gain * T / fan_in)``,
``I = gamma * (W_hat x) + beta``. No batch statistics, so it folds exactly:
``W_eff = gamma * W_hat``, ``b = beta`` (a bias current applied every step).

``norm="none"``: ``I = W x + b``.

``weight_bits > 0`` (quantization-aware fine-tuning): the effective weight is rounded, in the
forward pass only (straight-through gradient), to the grid the compiler will use at full scale
(:func:`fake_quantize`). The compiled integer weights then equal the trained ones exactly.

``init="ettfs"``: ``W ~ U(+-sqrt(3 * gain * T / fan_in))`` (``Var(W) = gain * T / fan_in``);
``init="kaiming"``: torch's default Kaiming-uniform.
"""

from __future__ import annotations

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ttfs_deploy import semantics

EPS = 1e-5


def fake_quantize(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Round ``w`` to the grid the compiler uses at full scale; identity gradient.

    The grid is :func:`ttfs_deploy.semantics.weight_grid`: mixed signs scale to
    ``alpha = min(hi / max(w), -lo / max(-w))`` on even integers (Lava drops the LSB); a single
    sign to ``alpha = hi / max|w|`` on integers.
    This is :func:`ttfs_deploy.compile.quantize.quantize_layer`'s full-scale choice, so a model
    trained with it compiles with zero weight error.
    """
    wd = w.detach()
    top, bottom = wd.max().clamp_min(0), (-wd).max().clamp_min(0)
    if top > 0 and bottom > 0:
        lo, hi, step = semantics.weight_grid(True, bits)
        alpha = torch.minimum(hi / top, -lo / bottom)
    else:
        _, hi, step = semantics.weight_grid(False, bits)
        alpha = hi / torch.maximum(top, bottom).clamp_min(1e-12)
    return w + (torch.round(alpha * wd / step) * step / alpha - wd)


class TTFSWeightLayer(nn.Module):
    """A conv or dense weight layer; ``forward`` maps input spikes to current (B, ...)."""

    def __init__(self, kind: str, in_features: int, out_features: int, T: int, kernel: int = 1,
                 stride: int = 1, init: str = "ettfs", norm: str = "ws", gain: float = 1.0) -> None:
        super().__init__()
        self.kind, self.stride, self.padding = kind, stride, kernel // 2 if kind == "conv" else 0
        self.norm = norm
        shape: Tuple[int, ...] = ((out_features, in_features, kernel, kernel) if kind == "conv"
                                  else (out_features, in_features))
        self.fan_in = in_features * (kernel * kernel if kind == "conv" else 1)
        self.target_std = math.sqrt(gain * T / self.fan_in)
        self.weight = nn.Parameter(torch.empty(shape))
        if init == "ettfs":
            bound = math.sqrt(3.0) * self.target_std
            nn.init.uniform_(self.weight, -bound, bound)
        elif init == "kaiming":
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        else:
            raise ValueError(f"unknown init {init!r}")
        self.bias = nn.Parameter(torch.zeros(out_features))
        if norm == "ws":
            self.gamma = nn.Parameter(torch.ones(out_features))
        elif norm != "none":
            raise ValueError(f"unknown norm {norm!r}")

    weight_bits: int = 0

    def effective_weight(self) -> torch.Tensor:
        """The weight actually applied (standardization, affine gain, optional fake quantization)."""
        if self.norm == "none":
            w_eff = self.weight
        else:
            w = self.weight.flatten(1)
            w_hat = (w - w.mean(1, keepdim=True)) / (w.std(1, keepdim=True) + EPS) * self.target_std
            w_eff = (self.gamma[:, None] * w_hat).view_as(self.weight)
        return fake_quantize(w_eff, self.weight_bits) if self.weight_bits else w_eff

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.effective_weight()
        if self.kind == "conv":
            return F.conv2d(x, w, self.bias, stride=self.stride, padding=self.padding)
        return F.linear(x.flatten(1), w, self.bias)
