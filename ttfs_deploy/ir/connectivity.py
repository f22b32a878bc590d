"""Layer connectivity as sparse matrices ``(n_out, n_in)`` over flattened C-order neurons."""

from __future__ import annotations

from dataclasses import replace
from typing import Tuple

import numpy as np
import scipy.sparse as sp


def conv_matrix(weight: np.ndarray, input_shape: Tuple[int, int, int], stride: Tuple[int, int],
                padding: Tuple[int, int]) -> sp.csr_matrix:
    """The 2-D convolution (cross-correlation, zero padding) as a CSR matrix.

    Entry ``[o, i]`` is the weight from input neuron ``i = (ci, y, x)`` to output neuron
    ``o = (co, oy, ox)``; positions falling in the padding are left out.
    """
    c_out, c_in, kh, kw = weight.shape
    _, h, w = input_shape
    h_out = (h + 2 * padding[0] - kh) // stride[0] + 1
    w_out = (w + 2 * padding[1] - kw) // stride[1] + 1
    co, oy, ox, ci, ky, kx = np.meshgrid(np.arange(c_out), np.arange(h_out), np.arange(w_out),
                                         np.arange(c_in), np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy * stride[0] - padding[0] + ky
    ix = ox * stride[1] - padding[1] + kx
    keep = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    values = weight[co[keep], ci[keep], ky[keep], kx[keep]]
    nonzero = values != 0
    rows = ((co * h_out + oy) * w_out + ox)[keep][nonzero]
    cols = ((ci * h + iy) * w + ix)[keep][nonzero]
    return sp.csr_matrix((values[nonzero], (rows, cols)), shape=(c_out * h_out * w_out, c_in * h * w))


def layer_matrix(layer) -> sp.csr_matrix:
    """Sparse ``(n_out, n_in)`` matrix of a dense or conv layer's weights (zeros dropped)."""
    if layer.kind == "dense":
        m = sp.csr_matrix(np.asarray(layer.weight))
        m.eliminate_zeros()
        return m
    return conv_matrix(np.asarray(layer.weight), tuple(layer.input_shape), tuple(layer.stride),
                       tuple(layer.padding))


def connections(layer) -> int:
    """All synapses of the layer, zero weights included (NeuroBench's dense count per step);
    a layer made by the fan-in split counts its block structure (``IntLayer.synapse_mask``)."""
    split = getattr(layer, "info", {}).get("split")
    if split and split["level"] == 1:  # level-1 relays partition the split layer's own synapses
        mask = np.ones((len(layer.weight) // int(split["groups"]),) + layer.weight.shape[1:], np.int8)
    elif split:
        mask = layer.synapse_mask()
    else:
        mask = np.ones_like(np.asarray(layer.weight), dtype=np.int8)
    if layer.kind == "dense":
        return int(mask.sum())
    return int(conv_matrix(mask, tuple(layer.input_shape), tuple(layer.stride), tuple(layer.padding)).nnz)


def input_fan_out(layer) -> np.ndarray:
    """Non-zero synapses leaving each input of the layer (int64, flat C-order inputs): what one
    input spike costs in synaptic ops. The level-1 relays of a split layer hold its weights in
    disjoint blocks, so their fan-out is the split layer's, computed on the blocks added up
    (without materializing the zero blocks)."""
    split = getattr(layer, "info", {}).get("split")
    weight = np.asarray(layer.weight)
    if split and split["level"] == 1:
        groups = int(split["groups"])
        collapsed = weight.reshape((groups, len(weight) // groups) + weight.shape[1:]).sum(0)
        layer = replace(layer, weight=collapsed)
    return np.diff(layer_matrix(layer).tocsc().indptr).astype(np.int64)
