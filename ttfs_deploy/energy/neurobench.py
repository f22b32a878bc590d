"""NeuroBench's workload and static metrics, under their NeuroBench names (NeuroBench 2.3).

Computed from the event simulator's counts (per-sample means) and the network, not by running
the ``neurobench`` package (its torchaudio pin ties it to one torch build). Formulas in
``docs/energy.md``; :data:`DEFINITIONS` travels with the numbers into the JSON.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ttfs_deploy.ir.connectivity import connections, layer_matrix
from ttfs_deploy.ir.network import IntNetwork
from ttfs_deploy.semantics import BITS

DEFINITIONS = {
    "Effective_ACs": "accumulates of spiking-input layers: sum over input spikes of the non-zero synapses they reach "
                     "(= syn_ops, all chip layers)",
    "Effective_MACs": "multiply-accumulates of layers with non-spike input: non-zero inputs x their non-zero fan-out; "
                      "only a direct-input host layer, computed once per sample (0 for spike-coded input)",
    "Dense": "every connection at every step: chip connections x steps simulated, plus the host layer's "
             "connections once",
    "activation_sparsity": "fraction of zero outputs over all neurons and steps of the window: "
                           "1 - spikes / (neurons x T), host layer included",
    "membrane_updates": "neuron-steps whose membrane changed (synaptic input or bias) or that spiked "
                        "(= updates_active; NeuroBench also counts every neuron at the first step)",
    "footprint_bytes": "bytes of the parameters as deployed: 8-bit weights, 16-bit biases (13-bit mantissa + "
                       "3-bit exponent), one 17-bit threshold per layer; a host layer in float32",
    "connection_sparsity": "zero weights / all weights of the chip's weight arrays (conv: kernel entries)",
    "parameter_count": "weights and biases, chip and host layers",
}


def _bytes(values: int, bits: int) -> int:
    return math.ceil(values * bits / 8)


def footprint_bytes(net: IntNetwork) -> int:
    """Deployed parameter bytes (see :data:`DEFINITIONS`)."""
    total = 0
    for layer in net.layers:
        total += _bytes(layer.weight.size, BITS["weight_mantissa"])
        total += _bytes(layer.bias_mant.size, BITS["bias_mantissa"] + 3)
        total += _bytes(1, BITS["threshold"])
    if net.host is not None:
        total += 4 * (net.host.weight.size + np.asarray(net.host.bias).size)
    return int(total)


def parameter_count(net: IntNetwork) -> int:
    count = sum(layer.weight.size + layer.bias_mant.size for layer in net.layers)
    if net.host is not None:
        count += net.host.weight.size + np.asarray(net.host.bias).size
    return int(count)


def connection_sparsity(net: IntNetwork) -> float:
    sizes = sum(layer.weight.size for layer in net.layers)
    zeros = sum(int((np.asarray(layer.weight) == 0).sum()) for layer in net.layers)
    return zeros / sizes if sizes else 0.0


def host_effective_macs(net: IntNetwork, host_input: Optional[np.ndarray]) -> Optional[float]:
    """Mean over samples of Σ_j [x_j != 0] x (non-zero fan-out of input j) of the host layer;
    0 without a host layer, None when its analog input ``host_input`` ((B, n) or (B, C, H, W))
    is not given."""
    if net.host is None:
        return 0.0
    if host_input is None:
        return None
    x = np.asarray(host_input).reshape(len(host_input), -1)
    fan_out = np.diff(layer_matrix(net.host).tocsc().indptr)
    return float(((x != 0) @ fan_out).mean()) if len(x) else 0.0


def host_spikes(input_times: np.ndarray, T: int) -> float:
    """Mean spikes per sample of the host layer (its spike times are the chip's input)."""
    t = np.asarray(input_times)
    return float(((t >= 0) & (t < T)).sum(axis=1).mean()) if len(t) else 0.0


def metrics(net: IntNetwork, layers: Sequence[Dict[str, float]], input_times: np.ndarray,
            host_input: Optional[np.ndarray] = None) -> Dict[str, Any]:
    """NeuroBench metrics per sample (means over the samples of ``layers``, the per-layer
    full-window counts ``syn_ops``, ``dense_ops``, ``spikes``, ``updates_active``)."""
    spikes = sum(l["spikes"] for l in layers)
    neuron_steps = sum(layer.n_neurons for layer in net.layers) * net.T
    dense = sum(l["dense_ops"] for l in layers)
    if net.host is not None:
        spikes += host_spikes(input_times, net.T)
        neuron_steps += net.host.n_neurons * net.T
        dense += connections(net.host)
    out: Dict[str, Any] = {
        "synaptic_operations": {"Effective_MACs": host_effective_macs(net, host_input),
                                "Effective_ACs": sum(l["syn_ops"] for l in layers), "Dense": dense},
        "activation_sparsity": 1.0 - spikes / neuron_steps if neuron_steps else None,
        "membrane_updates": sum(l["updates_active"] for l in layers),
        "footprint_bytes": footprint_bytes(net),
        "connection_sparsity": connection_sparsity(net),
        "parameter_count": parameter_count(net),
        "definitions": dict(DEFINITIONS),
        "source": "NeuroBench 2.3 metric names (neurobench/metrics); definitions adapted to TTFS as stated",
    }
    return out


def rows(nb: Dict[str, Any]) -> List[List[Any]]:
    """``[name, value, definition]`` rows for the renderers."""
    ops = nb["synaptic_operations"]
    values = [("Effective_ACs", ops["Effective_ACs"]), ("Effective_MACs", ops["Effective_MACs"]),
              ("Dense", ops["Dense"])]
    values += [(k, nb[k]) for k in ("activation_sparsity", "membrane_updates", "footprint_bytes",
                                    "connection_sparsity", "parameter_count")]
    return [[name, value, DEFINITIONS[name]] for name, value in values]
