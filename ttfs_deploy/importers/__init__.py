"""Importers: networks trained elsewhere, turned into ordinary ttfs-deploy checkpoints.

* :mod:`ttfs_deploy.importers.onnx_graph`: an ONNX file -> a plain chain of float layers (checked);
* :mod:`ttfs_deploy.importers.convert`: that chain (a ReLU ANN) -> TTFS weights, calibrated on data;
* :mod:`ttfs_deploy.importers.onnx`: the stage behind ``ttfs-deploy import`` (read, convert,
  measure, optionally fine-tune, save a checkpoint).
"""

#: fine-tuning defaults of ``ttfs-deploy import --finetune`` (Adam, cosine schedule over the epochs):
#: on four digits CNNs, lr 3e-3 with batches of 16 ended 0.9-1.6 points below the ANN after 5
#: epochs, lr 1e-3 with batches of 64 0.4-6.2 points (docs/BENCHMARKS.md, "ONNX import")
FINETUNE_LR = 3e-3
FINETUNE_BATCH_SIZE = 16
