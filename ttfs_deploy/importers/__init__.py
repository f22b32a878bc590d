"""Importers: networks trained elsewhere, turned into ordinary ttfs-deploy checkpoints.

* :mod:`ttfs_deploy.importers.onnx_graph`: an ONNX file -> a plain chain of float layers (checked);
* :mod:`ttfs_deploy.importers.convert`: that chain (a ReLU ANN) -> TTFS weights, calibrated on data;
* :mod:`ttfs_deploy.importers.onnx`: the stage behind ``ttfs-deploy import`` (read, convert,
  measure, optionally fine-tune, save a checkpoint).
"""

from typing import Dict, Tuple

#: fine-tuning defaults of ``ttfs-deploy import --finetune`` per data set, ``(lr, batch size)``
#: (Adam, cosine schedule over the epochs; docs/BENCHMARKS.md, "ONNX import"). Digits (1,347
#: training images): lr 3e-3 with batches of 16 ended 0.4-1.8 points below the ANN after 5 epochs
#: on four CNNs, lr 1e-3 with batches of 64 0.4-6.2 points. Larger sets: one Fashion-MNIST epoch
#: on 10,000 images at lr 3e-3, batches of 16, lost 1.2 points against the converted network.
FINETUNE_DEFAULTS: Dict[str, Tuple[float, int]] = {"digits": (3e-3, 16)}
FINETUNE_OTHERWISE: Tuple[float, int] = (1e-3, 64)


def finetune_defaults(data_name: str) -> Tuple[float, int]:
    """``(lr, batch size)`` that ``import --finetune`` uses on ``data_name`` unless told otherwise."""
    return FINETUNE_DEFAULTS.get(data_name, FINETUNE_OTHERWISE)
