"""ReLU ANN -> TTFS network: the conversion rule and its calibration on training data.

The TTFS network (:mod:`ttfs_deploy.model.network`) has fire-once IF neurons (threshold 1) with
delta synapses: a spike adds its weight to the membrane once, at its own step; a bias ``b`` adds
``b`` at every step ``t = 0..T-1``; the first layer gets the analog image as a constant current
(``direct`` encoder). A neuron therefore ends the window with ``V = sum(w_j, spiking j) + T b``
and spikes at the first step its potential reaches 1; inputs that spike early are counted early.

The rule, per weight layer ``l`` with ANN pre-activation ``z_l = W_l a_{l-1} + b_l``:

* a calibrated level ``tau_l`` (in the ANN's units): the neuron should spike iff ``z_l >= tau_l``;
* a spike of neuron ``j`` of layer ``l`` stands for ``c_l[j]``, the mean ANN activation of that
  channel (conv) or neuron (fc) over the calibration samples where ``z_l >= tau_l``;
* first layer: ``W' = W / (T tau_1)``, ``b' = b / (T tau_1)``. The constant current
  ``z_1 / (T tau_1)`` reaches 1 by the last step iff ``z_1 >= tau_1``, at step
  ``ceil(T tau_1 / z_1) - 1``: larger activations spike earlier.
* later layers: ``W'_ij = W_ij c_{l-1}[j] / tau_l`` and ``b' = b / (T tau_l)``, so that by the last
  step ``V = (sum_j W_ij c_{l-1}[j] s_j + b_i) / tau_l``: the ANN pre-activation computed from
  the spiking inputs, in units of ``tau_l``. Inputs that carry large activations spike first, so
  the neurons (and output classes) with the largest pre-activation tend to spike first.

``tau_l`` is a quantile ``q_l`` of the layer's positive ANN pre-activations on the calibration
samples. The ``q_l`` are chosen greedily, first layer first, from :data:`QUANTILES`: each keeps
the choices before it, tries every candidate with the later layers at :data:`START_QUANTILE`,
and keeps the one with the highest TTFS accuracy on the calibration samples, ties among output
classes split (:func:`tie_split_accuracy`; a tie between candidates keeps the current choice):
``1 + 4 L`` evaluations for ``L`` weight layers. Why: with delta synapses a spike carries no
amplitude, so no fixed scale maps ReLU values to spike times exactly (that needs ramp synapses);
matching the firing level to data is the one free choice per layer, and a small search over it
is cheap next to fine-tuning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import encode
from ttfs_deploy.importers.onnx_graph import AnnGraph
from ttfs_deploy.model.network import ModelConfig, TTFSNet

QUANTILES = (0.1, 0.35, 0.5, 0.65, 0.9)  #: candidate q_l
START_QUANTILE = 0.5  #: q_l of the layers not yet searched


@dataclass
class Calibration:
    """The calibrated conversion: per weight layer, its quantile, level and spike values."""

    quantile: List[float]
    tau: List[float]
    spike_value: List[List[float]]  #: per channel (conv) or neuron (fc); the output layer's is unused
    accuracy: float  #: TTFS accuracy on the calibration samples

    def to_dict(self) -> dict:
        return {"quantile": self.quantile, "tau": self.tau, "accuracy": self.accuracy,
                "spike_value_mean": [float(np.mean(c)) for c in self.spike_value]}


@torch.no_grad()
def ann_forward(graph: AnnGraph, x: np.ndarray, batch_size: int = 512) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Run the imported float network on images ``x`` ((N, ...) reshaped to its input shape).

    Returns the logits (N, n_outputs) and each weight layer's pre-activation ``z_l`` (N, ...),
    in float32 (the ONNX file's precision).
    """
    logits, pre = [], [[] for _ in graph.weight_layers]
    for start in range(0, len(x), batch_size):
        h = torch.as_tensor(np.asarray(x[start:start + batch_size], np.float32)).reshape(-1, *graph.input_shape)
        index = 0
        for layer in graph.layers:
            if layer.kind == "avgpool":
                h = F.avg_pool2d(h, layer.kernel)
                continue
            w = torch.as_tensor(layer.weight, dtype=torch.float32)
            b = torch.as_tensor(layer.bias, dtype=torch.float32)
            h = (F.conv2d(h, w, b, stride=layer.stride, padding=layer.kernel // 2) if layer.kind == "conv"
                 else F.linear(h.flatten(1), w, b))
            pre[index].append(h.numpy().copy())
            index += 1
            if index < len(pre):
                h = F.relu(h)
        logits.append(h.numpy())
    return np.concatenate(logits), [np.concatenate(z) for z in pre]


def model_config(graph: AnnGraph, input_shape: Tuple[int, ...], T: int) -> ModelConfig:
    """The checkpoint's architecture: the ANN's layers, direct input, no weight normalization."""
    return ModelConfig(arch=graph.arch, input_shape=tuple(input_shape), n_classes=graph.n_outputs, T=T,
                       encoder="direct", init="kaiming", norm="none", decoder="twd", logit_scale=20.0,
                       dropout=0.0)


def _channel_values(z: np.ndarray, tau: float) -> np.ndarray:
    """Mean of ``z`` per channel (axis 1) over samples and positions where ``z >= tau``."""
    per_channel = np.moveaxis(z, 1, 0).reshape(z.shape[1], -1)
    above = per_channel >= tau
    counts = above.sum(1)
    fallback = float(per_channel[above].mean()) if above.any() else tau
    sums = np.where(above, per_channel, 0.0).sum(1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), fallback)


def ttfs_state(graph: AnnGraph, tau: List[float], values: List[np.ndarray], T: int) -> Dict[str, torch.Tensor]:
    """The TTFS weights of the rule above, keyed like :class:`TTFSNet`'s state_dict (float32)."""
    state: Dict[str, torch.Tensor] = {}
    previous = None  # spike values of the previous weight layer, per channel / neuron
    index = 0
    for position, layer in enumerate(graph.layers):
        if layer.kind == "avgpool":
            continue
        w = layer.weight.copy()
        if previous is None:  # the analog image is a current at every step: reach tau_1 by the end of the window
            w = w / T
        else:
            if layer.kind == "conv":
                w = w * previous[None, :, None, None]
            else:  # each input of the flattened map belongs to channel j // (H W)
                w = w * np.repeat(previous, w.shape[1] // len(previous))[None, :]
        state[f"layers.{position}.weight"] = torch.as_tensor(w / tau[index], dtype=torch.float32)
        state[f"layers.{position}.bias"] = torch.as_tensor(layer.bias / (T * tau[index]), dtype=torch.float32)
        previous = values[index]
        index += 1
    return state


def build_model(config: ModelConfig, state: Dict[str, torch.Tensor]) -> TTFSNet:
    model = TTFSNet(config)
    full = model.state_dict()
    full.update(state)
    model.load_state_dict(full)
    return model.eval()


@torch.no_grad()
def tie_split_accuracy(model: TTFSNet, data: Dataset, batch_size: int = 128) -> float:
    """Accuracy of the decoder's logits with ties split: a sample whose true class shares the
    earliest output spike with ``k - 1`` others counts ``1 / k`` (a silent output, ``1 / n_classes``).

    This is what the fine-tuning loss sees (the temporal-weighting logits cannot tell classes
    spiking at the same step apart); the deployed decision breaks such ties by membrane potential.
    """
    model.eval()
    times = encode(model.config.encoder, data.x, model.config.T)
    score = 0.0
    for start in range(0, len(data), batch_size):
        logits = model(torch.as_tensor(times[start:start + batch_size]))
        top = logits == logits.max(1, keepdim=True).values
        label = torch.as_tensor(data.y[start:start + batch_size]).long()
        score += float((top.gather(1, label[:, None])[:, 0] / top.sum(1)).sum())
    return score / max(1, len(data))


def calibrate(graph: AnnGraph, config: ModelConfig, data: Dataset) -> Tuple[Calibration, TTFSNet]:
    """Choose each layer's quantile greedily on ``data`` (training samples); see the module doc."""
    _, pre = ann_forward(graph, data.x)
    positive = [z[z > 0] for z in pre]
    levels = [np.quantile(p, QUANTILES) if p.size else np.ones(len(QUANTILES)) for p in positive]

    def candidate(quantiles: List[float]) -> Tuple[float, TTFSNet, List[float], List[np.ndarray]]:
        tau = [float(levels[i][QUANTILES.index(q)]) for i, q in enumerate(quantiles)]
        values = [_channel_values(z, t) for z, t in zip(pre, tau)]
        model = build_model(config, ttfs_state(graph, tau, values, config.T))
        return tie_split_accuracy(model, data), model, tau, values

    chosen = [START_QUANTILE] * len(pre)
    best = candidate(chosen)
    for index in range(len(pre)):
        for q in QUANTILES:
            trial = chosen[:index] + [q] + chosen[index + 1:]
            if q == chosen[index]:
                continue
            result = candidate(trial)
            if result[0] > best[0]:
                best, chosen = result, trial
    accuracy, model, tau, values = best
    return Calibration(list(chosen), tau, [v.tolist() for v in values], accuracy), model
