"""Compare first-spike times neuron by neuron, layer by layer (reference frame).

Every backend answers in the reference frame (the Lava runner subtracts ``IntLayer.hop_delay``);
the event simulator (:data:`~ttfs_deploy.backends.registry.REFERENCE`) is the reference. A mismatch is one
(sample, neuron) whose first-spike time (or "never") differs from the reference.
Relay layers (fan-in splitting) are not neurons of the trained network and have no first-spike
times: they are skipped; the layers they feed are compared as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ttfs_deploy.backends.registry import BACKENDS, REFERENCE, get_backend, run_network
from ttfs_deploy.ir.network import IntNetwork


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
    seconds_per_sample: Dict[str, float] = field(default_factory=dict)
    predictions: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def mismatches(self) -> int:
        return sum(layer["mismatches"] for layer in self.layers)

    @property
    def neurons_compared(self) -> int:
        return sum(layer["compared"] for layer in self.layers)

    def to_dict(self) -> Dict[str, Any]:
        return {"samples": self.samples, "backends": self.backends, "reference": self.backends[0],
                "neurons_compared": self.neurons_compared, "mismatches": self.mismatches,
                "predictions_agree": self.predictions_agree, "layers": self.layers,
                "seconds_per_sample": self.seconds_per_sample,
                "lava_seconds_per_sample": self.lava_seconds_per_sample}

    @property
    def lava_seconds_per_sample(self) -> Optional[float]:
        """Lava's wall time per sample (compile excluded), None when Lava did not run."""
        return self.seconds_per_sample.get("lava")


def verify_network(net: IntNetwork, input_times: np.ndarray, backends: Optional[Sequence[str]] = None,
                   progress: bool = False) -> VerifyReport:
    """Run the reference backend and each of ``backends`` (default: every other registered
    backend) on the same inputs and compare.

    Per layer, ``mismatches`` sums over the compared backends; ``compared`` counts
    samples x neurons for each backend.
    """
    backends = tuple(b for b in BACKENDS if b != REFERENCE) if backends is None else tuple(backends)
    for name in backends:
        get_backend(name)  # an unknown name fails before anything runs
    compared = [index for index, layer in enumerate(net.layers) if layer.neuron != "relay"]
    names = [net.layers[index].name for index in compared]
    ref = run_network(net, input_times, REFERENCE)
    per_layer = {name: {"name": name, "neurons": layer.n_neurons, "compared": 0, "mismatches": 0}
                 for name, layer in zip(names, (net.layers[index] for index in compared))}
    agree, seconds = True, {}
    predictions = {REFERENCE: ref.predictions}
    for backend in backends:
        result = run_network(net, input_times, backend, progress=progress)
        seconds[backend] = result.seconds_per_sample
        agree &= bool(np.array_equal(result.predictions, ref.predictions))
        predictions[backend] = result.predictions
        for row in compare_layers(names, [ref.spike_times[i] for i in compared],
                                  [result.spike_times[i] for i in compared]):
            entry = per_layer[row["name"]]
            entry["compared"] += row["compared"]
            entry["mismatches"] += row["mismatches"]
            entry[f"mismatches_{backend}"] = row["mismatches"]
            entry[f"max_abs_dt_{backend}"] = row["max_abs_dt"]
    return VerifyReport(len(input_times), [REFERENCE, *backends], list(per_layer.values()), agree,
                        seconds, predictions)
