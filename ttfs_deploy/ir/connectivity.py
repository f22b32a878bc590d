"""Layer connectivity as sparse matrices ``(n_out, n_in)`` over flattened C-order neurons."""

from __future__ import annotations

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


def axis_taps(n_in: int, n_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """``(n_out, kernel)`` bool: tap ``j`` of output ``o`` lands on input ``o * stride - padding + j``
    inside ``[0, n_in)`` (one axis of a convolution; taps in the zero padding are False)."""
    pos = np.arange(n_out)[:, None] * stride - padding + np.arange(kernel)[None, :]
    return (pos >= 0) & (pos < n_in)


def tap_counts(input_hw: Tuple[int, int], output_hw: Tuple[int, int], kernel: Tuple[int, int],
               stride: Tuple[int, int], padding: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)``: for each kernel row and column of a 2-D convolution, the number of output
    rows / columns whose tap lands inside the input (taps in the zero padding left out). A
    ``(c_out, c_in)`` kernel pair makes ``rows.sum() * cols.sum()`` connections."""
    rows = axis_taps(input_hw[0], output_hw[0], kernel[0], stride[0], padding[0]).sum(0)
    cols = axis_taps(input_hw[1], output_hw[1], kernel[1], stride[1], padding[1]).sum(0)
    return rows, cols


def connections(layer) -> int:
    """All synapses of the layer, zero weights included (NeuroBench's dense count per step).

    A convolution's count comes from its geometry, summed over output positions without building
    its matrix; a layer made by the fan-in split counts its block structure
    (``IntLayer.synapse_mask``)."""
    split = getattr(layer, "split", None)
    if split and split.level == 1:  # level-1 relays partition the split layer's own synapses
        mask = np.ones((len(layer.weight) // split.groups,) + layer.weight.shape[1:], np.int64)
    elif split:
        mask = layer.synapse_mask().astype(np.int64)
    else:
        mask = None
    if layer.kind == "dense":
        return int(mask.sum()) if mask is not None else int(np.prod(layer.weight.shape))
    c_out, c_in, kh, kw = layer.weight.shape
    rows, cols = tap_counts(layer.input_shape[1:], layer.output_shape[1:], (kh, kw), layer.stride, layer.padding)
    if mask is None:
        return int(c_out) * int(c_in) * int(rows.sum()) * int(cols.sum())
    return int(np.einsum("oiab,a,b->", mask, rows, cols))
