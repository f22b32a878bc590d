"""Compare first-spike times neuron by neuron, layer by layer (reference frame).

Lava results arrive with the documented per-layer hop delay already removed (the Lava runner
subtracts ``IntLayer.hop_delay``); the event simulator is the reference. A mismatch is one
(sample, neuron) whose first-spike time (or "never") differs from the reference. Relay layers
(fan-in splitting) are not neurons of the trained network and have no first-spike times: they
are skipped; the layers they feed are compared as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np

from ttfs_deploy.backends.eventsim.simulator import EventSim
from ttfs_deploy.backends.torchsim import run_int
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.model.decoder import decode_prediction


def compare_layers(names: List[str], reference: List[np.ndarray], other: List[np.ndarray]) -> List[Dict[str, Any]]:
    """Per layer: neurons, compared (samples x neurons), mismatches, max |time difference|."""
    rows = []
    for name, ref, oth in zip(names, reference, other):
        diff = ref != oth
        both = (ref >= 0) & (oth >= 0)
        rows.append({"name": name, "neurons": int(ref.shape[1]), "compared": int(ref.size),
                     "mismatches": int(diff.sum()),
                     "max_abs_dt": int(np.abs(ref - oth)[both].max(initial=0))})
    return rows


@dataclass
class VerifyReport:
    """``verify --json`` schema: ``samples``, ``neurons_compared``, ``mismatches``, ``layers[]``."""

    samples: int
    backends: List[str]
    layers: List[Dict[str, Any]] = field(default_factory=list)
    predictions_agree: bool = True
    lava_seconds_per_sample: Optional[float] = None
    predictions: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def mismatches(self) -> int:
        return sum(layer["mismatches"] for layer in self.layers)

    @property
    def neurons_compared(self) -> int:
        return sum(layer["compared"] for layer in self.layers)

    def to_dict(self) -> Dict[str, Any]:
        return {"samples": self.samples, "backends": self.backends, "reference": "eventsim",
                "neurons_compared": self.neurons_compared, "mismatches": self.mismatches,
                "predictions_agree": self.predictions_agree, "layers": self.layers,
                "lava_seconds_per_sample": self.lava_seconds_per_sample}


def verify_network(net: IntNetwork, input_times: np.ndarray, backends: tuple = ("torch", "lava"),
                   progress: bool = False) -> VerifyReport:
    """Run the event simulator and each of ``backends`` on the same inputs and compare.

    Per layer, ``mismatches`` sums over the compared backends; ``compared`` counts
    samples x neurons for each backend.
    """
    compared = [index for index, layer in enumerate(net.layers) if layer.neuron != "relay"]
    names = [net.layers[index].name for index in compared]
    ref = EventSim(net).run(input_times)
    per_layer = {name: {"name": name, "neurons": layer.n_neurons, "compared": 0, "mismatches": 0}
                 for name, layer in zip(names, (net.layers[index] for index in compared))}
    agree, lava_seconds = True, None
    predictions = {"eventsim": ref.predictions}
    for backend in backends:
        if backend == "torch":
            times, v_final, v_spike = run_int(net, input_times)
            preds = decode_prediction(times[-1], v_spike, v_final)
        elif backend == "lava":
            from ttfs_deploy.backends.lava import LavaNetwork

            result = LavaNetwork(net).run(input_times, progress=progress)
            times, preds, lava_seconds = result.spike_times, result.predictions, result.seconds_per_sample
        else:
            raise ValueError(f"unknown backend {backend!r}")
        agree &= bool(np.array_equal(preds, ref.predictions))
        predictions[backend] = preds
        for row in compare_layers(names, [ref.spike_times[i] for i in compared], [times[i] for i in compared]):
            entry = per_layer[row["name"]]
            entry["compared"] += row["compared"]
            entry["mismatches"] += row["mismatches"]
            entry[f"mismatches_{backend}"] = row["mismatches"]
            entry[f"max_abs_dt_{backend}"] = row["max_abs_dt"]
    return VerifyReport(len(input_times), ["eventsim", *backends], list(per_layer.values()), agree,
                        lava_seconds, predictions)
