"""Dense time-stepped simulation in torch: every neuron, every step (the baseline).

* :func:`run_float` runs a folded :class:`FloatNetwork` (trainer rule ``V >= threshold``), to check
  folding and the NIR float graph against the trained model.
* :func:`run_int` is torch's *integer mode*: the deployable :class:`IntNetwork` with the integer
  semantics of :mod:`ttfs_deploy.semantics` (the same functions the event simulator calls),
  synaptic sums computed densely (float64 convolutions, exact for these integer ranges); relay
  layers (fan-in splitting) pass their input on as graded values (:func:`semantics.relay_step`)
  and have no first-spike times (their rows stay -1).

Both use the reference frame (zero delay) and return first-spike times (-1 = never).
"""

from __future__ import annotations

import time
from typing import List

import numpy as np
import torch
import torch.nn.functional as F

from ttfs_deploy import semantics
from ttfs_deploy.backends.result import BackendResult
from ttfs_deploy.ir.network import FloatNetwork, IntNetwork
from ttfs_deploy.semantics import NEVER


def _synaptic(layer, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Dense synaptic sum of one step: x (B, n_in) flat -> (B, n_out) flat."""
    if layer.kind == "dense":
        return x @ weight.T
    out = F.conv2d(x.view(len(x), *layer.input_shape), weight, stride=tuple(layer.stride),
                   padding=tuple(layer.padding))
    return out.flatten(1)


def _record(times: torch.Tensor, spikes: torch.Tensor, t: int) -> None:
    times[spikes] = t


@torch.no_grad()
def run_float(net: FloatNetwork, input_times: np.ndarray) -> List[np.ndarray]:
    """First-spike times of every layer of the float network."""
    x_times = torch.as_tensor(np.asarray(input_times), dtype=torch.long)
    B = len(x_times)
    weights = [torch.as_tensor(layer.weight, dtype=torch.float64) for layer in net.layers]
    biases = [torch.as_tensor(layer.bias, dtype=torch.float64) for layer in net.layers]
    sizes = [int(np.prod(layer.output_shape)) for layer in net.layers]
    v = [torch.zeros(B, n, dtype=torch.float64) for n in sizes]
    fired = [torch.zeros(B, n, dtype=torch.bool) for n in sizes]
    times = [torch.full((B, n), NEVER, dtype=torch.long) for n in sizes]
    for t in range(net.T):
        x = (x_times == t).double()
        for i, layer in enumerate(net.layers):
            bias = biases[i] if layer.kind == "dense" else biases[i].repeat_interleave(sizes[i] // len(biases[i]))
            v[i] = v[i] + _synaptic(layer, x, weights[i]) + bias
            spikes = (v[i] >= layer.threshold) & ~fired[i]
            fired[i] |= spikes
            _record(times[i], spikes, t)
            x = spikes.double()
    return [t.numpy() for t in times]


@torch.no_grad()
def run_int(net: IntNetwork, input_times: np.ndarray) -> BackendResult:
    """Integer mode: spike times of every layer and the output membranes (backend ``torch``)."""
    start = time.perf_counter()
    x_times = torch.as_tensor(net.check_input_times(input_times), dtype=torch.long)
    B = len(x_times)
    weights = [torch.as_tensor(semantics.effective_weight(layer.weight.astype(np.int64), layer.weight_exp)
                               .astype(np.float64))
               for layer in net.layers]
    biases = [torch.as_tensor(layer.bias_per_neuron()) for layer in net.layers]
    vths = [semantics.threshold(torch.tensor(layer.vth, dtype=torch.long)) for layer in net.layers]
    sizes = [layer.n_neurons for layer in net.layers]
    v = [torch.zeros(B, n, dtype=torch.long) for n in sizes]
    fired = [torch.zeros(B, n, dtype=torch.bool) for n in sizes]
    times = [torch.full((B, n), NEVER, dtype=torch.long) for n in sizes]
    v_spike = torch.zeros(B, sizes[-1], dtype=torch.long)
    for t in range(net.T):
        x = (x_times == t).double()
        for i, layer in enumerate(net.layers):
            a_in = torch.round(_synaptic(layer, x, weights[i])).long()
            if layer.neuron == "relay":
                x = semantics.relay_step(a_in)[0].double()
                continue
            v_pre = semantics.integrate(v[i], a_in, biases[i])
            v[i], fired[i], spikes = semantics.fire(v_pre, fired[i], vths[i])
            _record(times[i], spikes, t)
            if i == len(sizes) - 1:
                v_spike[spikes] = v_pre[spikes]
            x = spikes.double()
    return BackendResult("torch", [t.numpy() for t in times], v[-1].numpy(), v_spike.numpy(),
                         seconds_per_sample=(time.perf_counter() - start) / max(1, B))
