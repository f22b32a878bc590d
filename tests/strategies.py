"""Hypothesis strategies for random small deployable networks."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ttfs_deploy.ir.network import IntLayer, IntNetwork


@st.composite
def int_networks(draw, conv: bool = False, max_T: int = 32):
    """A random 2-3 layer network on Lava's grids: even mixed-sign weights, signed biases."""
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    T = draw(st.integers(2, max_T))
    layers = []
    if conv:
        c_in, h = draw(st.integers(1, 2)), draw(st.integers(4, 7))
        shape = (c_in, h, h)
        c_out, k = draw(st.integers(1, 3)), draw(st.sampled_from([1, 2, 3]))
        stride, pad = draw(st.integers(1, 2)), draw(st.integers(0, 1))
        w = rng.integers(-64, 64, size=(c_out, c_in, k, k)) * 2
        layer = IntLayer("conv1", "conv", w, 0, rng.integers(-300, 300, c_out), rng.integers(0, 3, c_out),
                         int(rng.integers(20, 200)), shape, 1, stride=(stride, stride), padding=(pad, pad))
        layers.append(layer)
        n_in = layer.n_neurons
        input_shape = shape
    else:
        n_in = draw(st.integers(2, 24))
        input_shape = (n_in,)
    for i in range(draw(st.integers(1, 2))):
        n_out = draw(st.integers(1, 12))
        w = rng.integers(-127, 128, size=(n_out, n_in)) * 2   # -256 alone is not single-sign representable
        layers.append(IntLayer(f"fc{len(layers) + 1}", "dense", w, int(rng.integers(0, 3)),
                               rng.integers(-400, 400, n_out), rng.integers(0, 4, n_out),
                               int(rng.integers(50, 400)), (n_in,), len(layers) + 1))
        n_in = n_out
    net = IntNetwork(input_shape, T, "latency", layers)
    n = int(np.prod(input_shape))
    batch = draw(st.integers(1, 4))
    times = rng.integers(-1, T, size=(batch, n))
    return net, times
