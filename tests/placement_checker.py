"""An independent check of a placement: recompute every per-tile and per-core figure from the
compiled network by materializing each layer's connectivity (small networks only) and confirm
that no per-core limit is exceeded. Shares nothing with the placer but the tile boundaries and
core numbers it reads from ``IntNetwork.placement``."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import scipy.sparse as sp

from ttfs_deploy.ir.connectivity import conv_matrix
from ttfs_deploy.ir.network import IntNetwork


def connectivity(layer) -> sp.csr_matrix:
    """Bool ``(n_out, n_in)``: conv structural (every in-bounds tap of its synapse mask: the whole
    kernel, or a split layer's blocks), dense non-zero weights."""
    if layer.kind == "dense":
        return sp.csr_matrix(np.asarray(layer.weight) != 0)
    return conv_matrix(layer.synapse_mask(), tuple(layer.input_shape), tuple(layer.stride),
                       tuple(layer.padding)).astype(bool)


def kernel_entries(layer, rows: np.ndarray) -> int:
    """Stored kernel entries of the output channels of neurons ``rows`` (conv weight sharing)."""
    channels = np.unique(rows // (layer.n_neurons // layer.output_shape[0]))
    return int(layer.synapse_mask()[channels].sum())


def tile_neurons(layer, tile: Dict[str, Any]) -> np.ndarray:
    index = np.arange(layer.n_neurons).reshape(layer.output_shape)
    return index[tuple(slice(a, b) for a, b in zip(tile["start"], tile["stop"]))].ravel()


def check_placement(net: IntNetwork, limits: Dict[str, Any]) -> List[Dict[str, int]]:
    """Assert the placement of ``net`` is exact and within ``limits``; returns per-core sums."""
    mats = [connectivity(layer) for layer in net.layers]
    assert len(net.placement) == len(net.layers)
    cores: Dict[int, Dict[str, Any]] = {}
    for l, (layer, entry) in enumerate(zip(net.layers, net.placement)):
        seen = np.zeros(layer.n_neurons, int)
        nxt = net.placement[l + 1]["tiles"] if l + 1 < len(net.layers) else []
        nxt_cols = [np.unique(mats[l + 1][tile_neurons(net.layers[l + 1], t)].indices) for t in nxt]
        for tile in entry["tiles"]:
            rows = tile_neurons(layer, tile)
            seen[rows] += 1
            sub = mats[l][rows]
            inputs = np.unique(sub.indices)
            feeds = [i for i, cols in enumerate(nxt_cols) if np.isin(rows, cols).any()]
            routes = sum(int(np.isin(rows, cols).sum()) for cols in nxt_cols)
            if layer.kind == "conv" and limits.get("conv_weight_sharing"):
                memory = kernel_entries(layer, rows) * int(limits["bytes_per_synapse"])
            else:
                memory = int(sub.nnz) * int(limits["bytes_per_synapse"])
            dests = {nxt[i]["core"] for i in feeds}
            got = {"neurons": len(rows), "input_axons": len(inputs), "synapses": int(sub.nnz),
                   "memory_bytes": memory, "output_axons": len(dests), "output_routes": routes}
            assert {k: tile[k] for k in got} == got, (layer.name, tile["start"], tile["stop"])
            assert tile["chip"] == tile["core"] // int(limits["cores_per_chip"])
            core = cores.setdefault(tile["core"], {"layers": [], "neurons": 0, "inputs": set(), "dests": set(),
                                                   "memory_bytes": 0, "output_axons_reported": 0})
            assert layer.name not in core["layers"], "two tiles of one layer share a core"
            core["layers"].append(layer.name)
            core["neurons"] += len(rows)
            core["inputs"] |= {(l, int(i)) for i in inputs}  # presynaptic neuron i of layer l's input
            core["dests"] |= dests
            core["memory_bytes"] += memory
            core["output_axons_reported"] += tile["output_axons"]
        assert (seen == 1).all(), f"{layer.name}: tiles do not partition the neurons"
    sums = []
    for number, core in sorted(cores.items()):
        figures = {"core": number, "neurons": core["neurons"], "input_axons": len(core["inputs"]),
                   "output_axons": len(core["dests"]), "memory_bytes": core["memory_bytes"]}
        assert figures["neurons"] <= limits["neurons_per_core"]
        assert figures["input_axons"] <= limits["input_axons_per_core"]
        assert figures["output_axons"] <= core["output_axons_reported"] <= limits["output_axons_per_core"]
        assert figures["memory_bytes"] <= limits["synaptic_memory_bytes_per_core"]
        sums.append(figures)
    assert max(cores) < int(limits["chips"]) * int(limits["cores_per_chip"])
    assert net.metadata["interchip_routes"] == crossing_routes(net)
    return sums


def crossing_routes(net: IntNetwork) -> int:
    """(neuron, destination tile) pairs whose tiles sit on different chips."""
    total = 0
    for l in range(len(net.layers) - 1):
        mat = connectivity(net.layers[l + 1])
        for b in net.placement[l + 1]["tiles"]:
            reads = np.unique(mat[tile_neurons(net.layers[l + 1], b)].indices)
            for a in net.placement[l]["tiles"]:
                if a["chip"] != b["chip"]:
                    total += int(np.isin(tile_neurons(net.layers[l], a), reads).sum())
    return total
