"""Pass 4: place each layer's neurons and synapses onto cores, within the profile's limits.

Layers are placed in order on consecutive cores; a layer needs
``max(ceil(neurons / neurons_per_core), ceil(synapse bytes / synaptic memory per core))`` cores.
Synapse bytes are ``bytes_per_synapse`` x stored synapses: every connection, or only the kernel
per core when the profile shares convolution weights. A neuron's fan-in must not exceed the
core's input axons. Too many cores for ``chips x cores_per_chip`` is an error.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List

from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.connectivity import connections
from ttfs_deploy.ir.network import IntNetwork


def layer_cores(layer, limits: Dict[str, Any]) -> Dict[str, Any]:
    """Resource needs of one layer: neurons, synapses, stored bytes, fan-in, cores."""
    synapses = connections(layer)
    kernel = int(layer.synapse_mask().sum())  # the weights stored: a split layer's zero blocks are not
    stored = kernel if (layer.kind == "conv" and limits.get("conv_weight_sharing")) else synapses
    fan_in = layer.fan_in
    by_neurons = math.ceil(layer.n_neurons / limits["neurons_per_core"])
    per_core_stored = stored if stored == kernel and layer.kind == "conv" and limits.get("conv_weight_sharing") else None
    if per_core_stored is not None:
        if per_core_stored * limits["bytes_per_synapse"] > limits["synaptic_memory_bytes_per_core"]:
            by_memory = math.inf
        else:
            by_memory = 1
    else:
        by_memory = math.ceil(stored * limits["bytes_per_synapse"] / limits["synaptic_memory_bytes_per_core"])
    return {"neurons": layer.n_neurons, "synapses": synapses, "stored_synapses": stored,
            "fan_in": fan_in, "cores": max(by_neurons, by_memory, 1)}


def place(net: IntNetwork, profile: HardwareProfile) -> List[Dict[str, Any]]:
    """Assign consecutive core ranges per layer; raises a one-line error when it cannot fit."""
    limits = profile.limits
    capacity = int(limits["cores_per_chip"]) * int(limits["chips"])
    placement, next_core = [], 0
    for layer in net.layers:
        need = layer_cores(layer, limits)
        if need["fan_in"] > limits["input_axons_per_core"]:
            raise TTFSError(f"layer {layer.name} has fan-in {need['fan_in']} > "
                            f"{limits['input_axons_per_core']} input axons per core on {profile.name}",
                            "reduce that layer's inputs or use a profile with more axons")
        if need["cores"] == math.inf:
            raise TTFSError(f"layer {layer.name}'s kernel does not fit one core's synaptic memory on {profile.name}",
                            "use fewer channels")
        cores = int(need["cores"])
        placement.append({"layer": layer.name, **need, "cores": cores,
                          "first_core": next_core, "chip": next_core // int(limits["cores_per_chip"])})
        next_core += cores
    if next_core > capacity:
        raise TTFSError(f"network needs {next_core} cores but {profile.name} has {capacity} "
                        f"({limits['chips']} chip(s) x {limits['cores_per_chip']})",
                        "use a profile with more chips or a smaller network")
    return placement
