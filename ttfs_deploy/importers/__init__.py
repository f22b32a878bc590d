"""Importers: networks trained elsewhere, turned into ordinary ttfs-deploy checkpoints.

* :mod:`ttfs_deploy.importers.onnx_graph`: an ONNX file -> a plain chain of float layers (checked);
* :mod:`ttfs_deploy.importers.convert`: that chain (a ReLU ANN) -> TTFS weights, calibrated on data;
* :mod:`ttfs_deploy.importers.onnx`: the stage behind ``ttfs-deploy import`` (read, convert,
  measure, optionally fine-tune, save a checkpoint).
"""
