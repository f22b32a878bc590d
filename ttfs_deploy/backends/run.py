"""Run a deployable network on a data set with one backend and summarize (``run --json``)."""

from __future__ import annotations

import time
from typing import Any, Dict

import numpy as np

from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.backends.registry import get_backend, run_network
from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import encoded_shape
from ttfs_deploy.decision import mean_decision_step
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.ir.synops import synops_per_sample


def check_compatible(net: IntNetwork, data: Dataset) -> None:
    """Raise unless ``data``'s images, encoded with the network's encoder (or fed to its host
    layer), fit its input."""
    if net.host is not None:
        fits = int(np.prod(data.input_shape)) == net.host.n_inputs and (
            net.host.kind == "dense" or tuple(data.input_shape) == tuple(net.host.input_shape))
        expected = f"{net.host.input_shape} (its host layer's input)"
    else:
        fits = encoded_shape(net.encoder, tuple(data.input_shape)) == tuple(net.input_shape)
        expected = f"{net.input_shape} after {net.encoder} encoding"
    if not fits:
        raise TTFSError(f"data set {data.name} has images of shape {data.input_shape}, the network expects {expected}",
                        "pass the data set the model was trained on with --data")
    if len(data) and int(data.y.max()) >= net.n_classes:
        raise TTFSError(f"data set {data.name} has label {int(data.y.max())}, the network has {net.n_classes} classes",
                        "pass the data set the model was trained on with --data")


def run_backend(net: IntNetwork, backend: str, data: Dataset, progress: bool = False,
                early_exit: bool = False) -> Dict[str, Any]:
    """Accuracy, latency and synaptic ops of ``backend`` on ``data`` (the ``run --json`` schema).

    Synaptic ops are counted from the spike times (:func:`ttfs_deploy.ir.synops.synops_per_sample`),
    the same way for every backend."""
    get_backend(backend)
    check_compatible(net, data)
    times = chip_input_times(net, data.x)
    start = time.perf_counter()
    result = run_network(net, times, backend, early_exit=early_exit, progress=progress)
    seconds = time.perf_counter() - start - result.compile_seconds  # one-off build/compile reported apart
    synops = synops_per_sample(net, times, result.spike_times, result.stopped_at)
    n = len(data)
    return {"backend": backend, "samples": n, "dataset": data.name,
            "accuracy": float((result.predictions == data.y).mean()) if n else float("nan"),
            "latency_steps_mean": mean_decision_step(result.decision),
            "silent_fraction": float((result.decision < 0).mean()) if n else 0.0,
            "synops_per_sample": float(np.mean(synops)) if n else 0.0,
            "seconds": seconds, "seconds_per_sample": seconds / max(1, n),
            "compile_seconds": result.compile_seconds,
            "early_exit": early_exit, "total_steps": net.total_steps, "T": net.T}
