"""Fingerprints of what the shipped models produce: spike times, counts and reports.

A fingerprint is computed from the library (compile for ``loihi2``, event simulator, torch integer
mode, energy report) on the first ``SAMPLES`` test images, and hashed so a refactor that changes
any spike time, count or reported figure changes it. ``tests/data/shipped_fingerprints.json`` holds
the fingerprints recorded before the issue-15 restructuring; ``python tests/golden.py`` rewrites it.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

SAMPLES = 64
MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
GOLDEN = Path(__file__).resolve().parent / "data" / "shipped_fingerprints.json"
SHIPPED = {"digits.pt": "digits", "fashion_mnist.pt": "fashion-mnist", "fashion_mnist_latency.pt": "fashion-mnist"}


def digest(*arrays: Any) -> str:
    """sha256 over the int64 bytes of ``arrays`` (shapes included)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, dtype=np.int64))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def fingerprint(model: str) -> Dict[str, Any]:
    """Spike-time, count and report fingerprints of ``examples/models/<model>``."""
    from ttfs_deploy.backends.host import chip_input_times
    from ttfs_deploy.compile.pipeline import compile_model, report
    from ttfs_deploy.data.datasets import load_dataset
    from ttfs_deploy.energy.report import energy_report
    from ttfs_deploy.hw.profile import load_profile
    from ttfs_deploy.ir.nir_io import int_to_nir, read_int, write_graph
    from ttfs_deploy.model.checkpoint import load_checkpoint

    data = load_dataset(SHIPPED[model], "test").head(SAMPLES)
    with tempfile.TemporaryDirectory() as tmp:
        _, net = compile_model(load_checkpoint(str(MODELS / model))[0], load_profile("loihi2"))
        compiled = report(net)
        write_graph(int_to_nir(net), f"{tmp}/m.nir")
        net = read_int(f"{tmp}/m.nir")
    times = chip_input_times(net, data.x)
    rep, sim, early = energy_report(net, times, data.y, "loihi")
    from ttfs_deploy.backends.torchsim import run_int
    dense = run_int(net, times)
    energy = rep.to_dict()
    return {
        "compile": {k: compiled.to_dict()[k] for k in ("total_steps", "cores_used")},
        "layers": [{k: layer[k] for k in ("name", "neurons", "synapses", "weight_bits", "weight_exp", "cores")}
                   for layer in compiled.to_dict()["layers"]],
        "input_times": digest(times),
        "eventsim_spike_times": digest(*sim.spike_times),
        "eventsim_membranes": digest(sim.v_final, sim.v_spike),
        "eventsim_predictions": digest(sim.predictions),
        "early_exit_spike_times": digest(*early.spike_times),
        "counts": {key: [int(c[key].sum()) for c in sim.counts] for key in sim.counts[0]},
        "torch_int": digest(*dense.spike_times, dense.v_final, dense.v_spike),
        "energy_per_sample": {k: round(float(energy["per_sample"][k]), 12)
                              for k in ("energy_j", "synops", "spikes", "neuron_updates")},
        "ann_macs": int(energy["ann_baseline"]["macs"]),
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    GOLDEN.write_text(json.dumps({m: fingerprint(m) for m in SHIPPED}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
