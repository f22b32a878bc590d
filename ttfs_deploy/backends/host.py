"""The host side of a deployment: images to the chip's input spike times.

For spike codes (``latency``, ``onoff``) that is the encoder. With ``direct`` analog input the
trained first layer runs here, in float32 as in training: the image is a constant current
``I = W x + b`` into fire-once IF neurons, ``V[t] = V[t-1] + I`` for ``t = 0..T-1``, and a neuron
spikes at the first step with ``V[t] >= threshold`` (the trainer's rule). Its spike times, in
reference-frame steps, are what the chip receives.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ttfs_deploy.data.encoders import encode
from ttfs_deploy.ir.network import FloatLayer, IntNetwork
from ttfs_deploy.semantics import NEVER


@torch.no_grad()
def host_layer_times(layer: FloatLayer, x: np.ndarray, T: int, batch_size: int = 1024) -> np.ndarray:
    """First-spike steps ((N, n_out) int64, -1 never) of ``layer`` driven by analog ``x``
    ((N, n_pixels) currents, see :func:`ttfs_deploy.data.encoders.direct`) for ``T`` steps."""
    weight = torch.as_tensor(layer.weight, dtype=torch.float32)
    bias = torch.as_tensor(layer.bias, dtype=torch.float32)
    out = []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(np.asarray(x[start:start + batch_size]), dtype=torch.float32)
        # the same calls as TTFSWeightLayer.forward, so the float32 rounding matches training
        if layer.kind == "dense":
            current = F.linear(xb.reshape(len(xb), -1), weight, bias)
        else:
            current = F.conv2d(xb.view(len(xb), *layer.input_shape), weight, bias,
                               stride=tuple(layer.stride), padding=tuple(layer.padding)).flatten(1)
        v = torch.zeros_like(current)
        times = torch.full(current.shape, NEVER, dtype=torch.long)
        for t in range(T):
            v = v + current
            times[(v >= layer.threshold) & (times == NEVER)] = t
        out.append(times.numpy())
    return np.concatenate(out) if out else np.zeros((0, int(np.prod(layer.output_shape))), np.int64)


def chip_input_times(net: IntNetwork, images: np.ndarray) -> np.ndarray:
    """What the chip receives for ``images`` (N, C, H, W) in [0, 1]: (N, net.n_inputs) steps."""
    if net.host is not None:
        return host_layer_times(net.host, encode("direct", images, net.T), net.T)
    return encode(net.encoder, images, net.T)
