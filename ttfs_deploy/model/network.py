"""``TTFSNet``: a step-by-step TTFS network built from an architecture spec.

Input: first-spike times from an encoder (``(B, n_inputs)``, -1 = silent), or with the ``direct``
encoder the analog intensities ``(B, n_inputs)`` applied as a current at every step. Each weight layer is followed by fire-once IF neurons (threshold 1);
pooling acts on spikes. Zero synaptic delay: layer l sees layer l-1's spikes of the same step.

Output decoders turn output spikes ``s[t, b, c]`` into logits ``scale * sum_t w_t s[t, b, c]``:

* ``twd`` (temporal weighting, ETTFS): ``w_t = (T - t) / T``;
* ``count``: ``w_t = 1``;
* ``first``: ``w_t = 2 ** -t``.

With fire-once outputs all three rank classes by first-spike time, so inference picks the
earliest output spike (see :func:`ttfs_deploy.decision.decode_prediction`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ttfs_deploy.data.encoders import encoded_shape
from ttfs_deploy.decision import decode_prediction, decision_step
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.model.arch import MAX_WIDTH, LayerSpec, parse_spec
from ttfs_deploy.model.layers import TTFSWeightLayer
from ttfs_deploy.model.neuron import fire_once
from ttfs_deploy.model.stepwise import StepwiseRun

DECODERS = ("twd", "count", "first")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a :class:`TTFSNet` (JSON-able; stored in checkpoints)."""

    arch: str
    input_shape: Tuple[int, int, int]
    n_classes: int
    T: int = 16
    encoder: str = "latency"
    init: str = "ettfs"
    norm: str = "ws"
    decoder: str = "twd"
    init_gain: float = 1.0
    logit_scale: float = 10.0
    threshold: float = 1.0
    dropout: float = 0.0
    weight_bits: int = 0
    extra: Dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise a one-line :class:`TTFSError` for a configuration no model can be built from (a
        crafted checkpoint, an option out of range): kinds by name, sizes and numbers in range."""
        from ttfs_deploy.data.encoders import ENCODERS
        from ttfs_deploy.semantics import T_MAX

        shape = self.input_shape
        checks = [
            (isinstance(self.arch, str), f"arch must be a spec string, got {self.arch!r}"),
            (isinstance(shape, (tuple, list)) and len(shape) == 3
             and all(isinstance(v, int) and 1 <= v <= 4096 for v in shape) and np.prod(shape) <= 2 ** 22,
             f"input_shape must be (C, H, W) of positive sizes, got {shape!r}"),
            (isinstance(self.n_classes, int) and 1 <= self.n_classes <= MAX_WIDTH,
             f"n_classes must be 1..{MAX_WIDTH}, got {self.n_classes!r}"),
            (isinstance(self.T, int) and 1 <= self.T <= T_MAX, f"T must be 1..{T_MAX}, got {self.T!r}"),
            (self.encoder in ENCODERS, f"unknown encoder {self.encoder!r}"),
            (self.init in ("ettfs", "kaiming"), f"unknown init {self.init!r}"),
            (self.norm in ("ws", "none"), f"unknown norm {self.norm!r}"),
            (self.decoder in DECODERS, f"unknown decoder {self.decoder!r}"),
            (isinstance(self.weight_bits, int) and 0 <= self.weight_bits <= 16, f"weight_bits {self.weight_bits!r}"),
        ]
        for name in ("init_gain", "logit_scale", "threshold"):
            value = getattr(self, name)
            checks.append((isinstance(value, (int, float)) and np.isfinite(value) and value > 0,
                           f"{name} must be a finite number > 0, got {value!r}"))
        checks.append((isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1,
                       f"dropout must be in [0, 1), got {self.dropout!r}"))
        for ok, problem in checks:
            if not ok:
                raise TTFSError(f"invalid model configuration: {problem}", "train the model with `ttfs-deploy train`")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d["input_shape"] = tuple(int(v) for v in d["input_shape"])
        return cls(**d)


class TTFSNet(nn.Module):
    """The trainable TTFS network; ``forward`` returns logits, ``run`` every layer's spikes."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        if config.decoder not in DECODERS:
            raise ValueError(f"unknown decoder {config.decoder!r}")
        self.specs: List[LayerSpec] = parse_spec(config.arch, config.n_classes)
        self.layers = nn.ModuleList()
        self.input_shape = encoded_shape(config.encoder, tuple(config.input_shape))
        shape = self.input_shape
        for spec in self.specs:
            if spec.kind == "conv":
                layer = TTFSWeightLayer("conv", shape[0], spec.size, config.T, spec.kernel, spec.stride,
                                        config.init, config.norm, config.init_gain)
                self.layers.append(layer)
                pad = spec.kernel // 2
                shape = (spec.size, (shape[1] + 2 * pad - spec.kernel) // spec.stride + 1,
                         (shape[2] + 2 * pad - spec.kernel) // spec.stride + 1)
            elif spec.kind == "fc":
                self.layers.append(TTFSWeightLayer("fc", int(np.prod(shape)), spec.size, config.T,
                                                   init=config.init, norm=config.norm,
                                                   gain=config.init_gain))
                shape = (spec.size,)
            else:
                self.layers.append(nn.Identity())
                shape = (shape[0], shape[1] // spec.size, shape[2] // spec.size)
        self.layers_weighted = [s for s in self.specs if s.kind in ("conv", "fc")]
        self.set_weight_bits(config.weight_bits)
        T = config.T
        weights = {"twd": (T - torch.arange(T)) / T, "count": torch.ones(T),
                   "first": 2.0 ** -torch.arange(T, dtype=torch.float32)}[config.decoder]
        self.register_buffer("time_weights", weights.float())

    def set_weight_bits(self, bits: int) -> None:
        """Turn quantization-aware weights on (``bits`` > 0, e.g. 8) or off (0)."""
        self.config.weight_bits = bits
        for layer in self.layers:
            if hasattr(layer, "weight_bits"):
                layer.weight_bits = bits

    def raster(self, times: torch.Tensor) -> torch.Tensor:
        """(B, n_inputs) first-spike times -> (T, B, C, H, W) binary raster; with the ``direct``
        encoder, (B, n_inputs) intensities -> the same current at every step."""
        if self.config.encoder == "direct":
            x = times.to(self.time_weights.dtype).view(1, times.shape[0], *self.input_shape)
            return x.expand(self.config.T, *x.shape[1:])
        steps = torch.arange(self.config.T, device=times.device).view(-1, 1, 1)
        r = (times.unsqueeze(0) == steps).to(self.time_weights.dtype)
        return r.view(self.config.T, times.shape[0], *self.input_shape)

    def run(self, times: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor, torch.Tensor]:
        """Simulate; returns the spike rasters of every spiking layer ((T, B, ...) each), and the
        output layer's final membrane potential and potential at its spike (B, n_classes)."""
        x = self.raster(times)
        T, B = x.shape[:2]
        spikes: List[torch.Tensor] = []
        v = v_spike = torch.zeros(0)
        for spec, layer in zip(self.specs, self.layers):
            flat = x.reshape(T * B, *x.shape[2:])
            if spec.kind == "avgpool":
                x = F.avg_pool2d(flat, spec.size).view(T, B, *F.avg_pool2d(flat[:1], spec.size).shape[1:])
                continue
            if spec.kind == "maxpool":
                x = F.max_pool2d(flat, spec.size).view(T, B, *F.max_pool2d(flat[:1], spec.size).shape[1:])
                continue
            current = layer(flat)
            current = current.view(T, B, *current.shape[1:])
            x, v, v_spike = fire_once(current, self.config.threshold)
            spikes.append(x)
            if self.training and self.config.dropout > 0 and len(spikes) < len(self.layers_weighted):
                keep = (torch.rand_like(x[0]) >= self.config.dropout).float()
                x = x * keep / (1 - self.config.dropout)
        return spikes, v, v_spike

    def logits(self, out_spikes: torch.Tensor) -> torch.Tensor:
        """Decoder: (T, B, n_classes) output spikes -> (B, n_classes) logits."""
        return self.config.logit_scale * torch.einsum("tbc,t->bc", out_spikes, self.time_weights)

    def forward(self, times: torch.Tensor) -> torch.Tensor:
        spikes, _, _ = self.run(times)
        return self.logits(spikes[-1])

    @torch.no_grad()
    def predict(self, times: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Predicted classes and the step of the first output spike (-1 if silent).

        Runs time-major (:class:`~ttfs_deploy.model.stepwise.StepwiseRun`), so memory does not grow with T.
        """
        run = StepwiseRun(self, times)
        first = torch.full((times.shape[0], self.specs[-1].size), -1, dtype=torch.long, device=times.device)
        for t in range(self.config.T):
            fired = run.step() > 0
            first = torch.where((first < 0) & fired, torch.full_like(first, t), first)
        first_np = first.cpu().numpy()
        pred = decode_prediction(first_np, run.v_spike.cpu().numpy(), run.v.cpu().numpy())
        return torch.as_tensor(pred), torch.as_tensor(decision_step(first_np))


def first_spike_times(raster: torch.Tensor) -> torch.Tensor:
    """(T, B, ...) spike raster -> (B, n) int64 first-spike steps, -1 where silent (flattened)."""
    flat = raster.flatten(2)
    return torch.where(flat.any(0), flat.argmax(0), torch.full_like(flat[0], -1, dtype=torch.long))
