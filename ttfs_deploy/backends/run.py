"""Run a deployable network on a data set with one backend and summarize (``run --json``)."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import numpy as np

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.host import chip_input_times
from ttfs_deploy.data.datasets import Dataset
from ttfs_deploy.data.encoders import encoded_shape
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.model.decoder import decision_step, mean_decision_step

BACKENDS = ("eventsim", "lava")


def synops_from_times(sim: EventSim, input_times: np.ndarray, spike_times: List[np.ndarray]) -> np.ndarray:
    """Synaptic ops per sample implied by spike times: each spike x its non-zero fan-out."""
    total = np.zeros(len(input_times), np.int64)
    sources = [input_times, *spike_times[:-1]]
    for src, fan_out in zip(sources, sim.fan_out):
        total += np.where((src >= 0) & (src < sim.net.T), fan_out[None, :], 0).sum(1)
    return total


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
    """Accuracy, latency and synaptic ops of ``backend`` on ``data`` (the ``run --json`` schema)."""
    if backend not in BACKENDS:
        raise TTFSError(f"unknown backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    check_compatible(net, data)
    times = chip_input_times(net, data.x)
    sim = EventSim(net)
    start = time.perf_counter()
    if backend == "eventsim":
        result = sim.run(times, early_exit=early_exit, progress=progress)
        preds, decision, spike_times = result.predictions, result.decision, result.spike_times
        synops = sum(c["syn_ops"] for c in result.counts)
    else:
        from ttfs_deploy.backends.lava import LavaNetwork

        result = LavaNetwork(net).run(times, progress=progress)
        preds, spike_times = result.predictions, result.spike_times
        decision = decision_step(spike_times[-1])
        synops = synops_from_times(sim, times, spike_times)
    seconds = time.perf_counter() - start
    return {"backend": backend, "samples": len(data), "dataset": data.name,
            "accuracy": float((preds == data.y).mean()) if len(data) else float("nan"),
            "latency_steps_mean": mean_decision_step(decision),
            "silent_fraction": float((decision < 0).mean()) if len(data) else 0.0,
            "synops_per_sample": float(np.mean(synops)) if len(data) else 0.0,
            "seconds": seconds, "seconds_per_sample": seconds / max(1, len(data)),
            "early_exit": early_exit, "total_steps": net.total_steps, "T": net.T}
