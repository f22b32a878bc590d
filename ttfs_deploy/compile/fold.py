"""Pass 1: fold a trained :class:`TTFSNet` into a :class:`FloatNetwork` (exact).

* Weight standardization and its affine gain fold into the weights (``W_eff = gamma * W_hat``);
  the affine shift stays a per-step bias current.
* ``AvgPool2d(k)`` followed by ``Conv2d(K, stride s, padding p)`` becomes one ``Conv2d`` with
  kernel ``K k``, weights ``W (x) ones(k, k) / k**2``, stride ``k s`` and padding ``p k``
  (needs H, W divisible by k). Followed by a dense layer, each pooled input's weight is spread
  over its k x k window (rows and columns the pool drops get weight 0).
* Max pooling has no fire-once equivalent and is refused.
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import FloatLayer, FloatNetwork
from ttfs_deploy.model.network import TTFSNet


def _spread(weight: np.ndarray, k: int) -> np.ndarray:
    """Repeat each of the last two axes k times and divide by k**2."""
    return np.kron(weight, np.ones((k, k), dtype=weight.dtype)) / float(k * k)


def fold_model(model: TTFSNet) -> FloatNetwork:
    """Fold normalization and average pooling; returns the float network that deploys."""
    cfg = model.config
    layers: List[FloatLayer] = []
    shape = tuple(model.input_shape)  # the encoded (spiking) input
    pool: Optional[int] = None
    index = 0
    for spec, module in zip(model.specs, model.layers):
        if spec.kind == "maxpool":
            raise TTFSError(f"layer {spec.kind} (MP{spec.size}) cannot be deployed: max pooling breaks "
                            "the single-spike property", "retrain with average pooling (AP instead of MP)")
        if spec.kind == "avgpool":
            pool = spec.size
            continue
        index += 1
        with torch.no_grad():
            w = module.effective_weight().double().cpu().numpy()
            b = module.bias.double().cpu().numpy()
        if spec.kind == "conv":
            stride, padding = (spec.stride, spec.stride), (module.padding, module.padding)
            provenance = f"conv{spec.kernel}x{spec.kernel}"
            if pool:
                if shape[1] % pool or shape[2] % pool:
                    raise TTFSError(f"AP{pool} before layer {index} sees a {shape[1]}x{shape[2]} map that "
                                    f"{pool} does not divide", "choose sizes the pool divides")
                w = _spread(w, pool)
                stride = (stride[0] * pool, stride[1] * pool)
                padding = (padding[0] * pool, padding[1] * pool)
                provenance = f"avgpool{pool}+{provenance}"
            layer = FloatLayer(f"conv{index}", "conv", w, b, cfg.threshold, shape, stride, padding, provenance)
        else:
            provenance = "dense"
            if pool:
                c, h, wd = shape
                hp, wp = h // pool, wd // pool
                full = _spread(w.reshape(len(w), c, hp, wp), pool)
                padded = np.zeros((len(w), c, h, wd))
                padded[:, :, :hp * pool, :wp * pool] = full
                w = padded.reshape(len(w), -1)
                provenance = f"avgpool{pool}+dense"
            layer = FloatLayer(f"fc{index}", "dense", w.reshape(len(w), -1), b, cfg.threshold,
                               (int(np.prod(shape)),), provenance=provenance)
        layers.append(layer)
        shape = layer.output_shape
        pool = None
    return FloatNetwork(tuple(model.input_shape), cfg.T, cfg.encoder, layers,
                        metadata={"arch": cfg.arch, "n_classes": cfg.n_classes})
