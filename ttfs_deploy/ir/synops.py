"""Synaptic operations implied by spike times, from layer geometry (the same for every backend).

One spike of input neuron ``i`` of a layer costs one synaptic operation per non-zero synapse
leaving ``i`` (its *fan-out*; NeuroBench's effective accumulates). Fan-outs come from the weights
and the convolution geometry, never from a materialized connectivity matrix, so the cost in memory
is that of the weights and the neurons.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

from ttfs_deploy.semantics import NEVER


def _tap_reach(n_in: int, n_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """``(kernel, n_in)`` 0/1: input position ``y`` is reached by tap ``k`` of some output
    position (``y = o * stride - padding + k`` for an ``o`` in ``0..n_out-1``)."""
    reach = np.zeros((kernel, n_in), np.int64)
    for k in range(kernel):
        y = np.arange(n_out) * stride - padding + k
        reach[k, y[(y >= 0) & (y < n_in)]] = 1
    return reach


def fan_out(layer) -> np.ndarray:
    """Non-zero synapses leaving each input neuron of a dense or conv layer, flat C-order (int64)."""
    weight = np.asarray(layer.weight)
    if layer.kind == "dense":
        return np.count_nonzero(weight, axis=0).astype(np.int64)
    _, h_out, w_out = layer.output_shape
    _, h_in, w_in = layer.input_shape
    _, _, kh, kw = weight.shape
    nonzero = np.count_nonzero(weight, axis=0).astype(np.int64)          # (C_in, kh, kw)
    rows = _tap_reach(h_in, h_out, kh, layer.stride[0], layer.padding[0])
    cols = _tap_reach(w_in, w_out, kw, layer.stride[1], layer.padding[1])
    return np.einsum("cab,ay,bx->cyx", nonzero, rows, cols).reshape(-1)


def synops_per_layer(net, input_times: np.ndarray, spike_times: List[np.ndarray],
                     stopped_at: Optional[np.ndarray] = None) -> List[np.ndarray]:
    """Per layer, ``(B,)`` synaptic ops: the spikes arriving at it (reference-frame steps
    ``0..T-1``) times their fan-outs. ``stopped_at`` ((B,) steps, ``NEVER`` = ran to the end)
    leaves out spikes after a sample stopped (early exit)."""
    input_times = np.asarray(input_times)
    limit = np.full(len(input_times), net.T - 1, np.int64)
    if stopped_at is not None:
        limit = np.where(np.asarray(stopped_at) == NEVER, limit, stopped_at)
    sources = [input_times, *spike_times[:-1]]
    out = []
    for src, layer in zip(sources, net.layers):
        src = np.asarray(src)
        arrived = (src != NEVER) & (src >= 0) & (src <= limit[:, None])
        out.append(arrived.astype(np.int64) @ fan_out(layer))
    return out


def synops_per_sample(net, input_times: np.ndarray, spike_times: List[np.ndarray],
                      stopped_at: Optional[np.ndarray] = None) -> np.ndarray:
    """``(B,)`` synaptic ops of the whole network (:func:`synops_per_layer` summed)."""
    layers = synops_per_layer(net, input_times, spike_times, stopped_at)
    return np.sum(layers, axis=0) if layers else np.zeros(len(input_times), np.int64)
