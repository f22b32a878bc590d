"""Spike traffic by where it travels, from the network, its placement and per-layer spike times.

A neuron's spike is sent once to every core that holds a tile reading it (one message per
destination core). Each message of layer ``l - 1``'s neurons to a tile of layer ``l`` is
classified by the pair (source core, destination core):

* ``within_core``: both tiles on one core;
* ``between_cores``: different cores of one chip; its ``hops_ew`` / ``hops_ns`` are the
  east-west / north-south steps of the mesh route, cores placed ``cores_per_tile`` to a mesh tile
  and ``mesh_tiles_x`` tiles to a row (the profile's ``[limits]``; Loihi: 4 cores per tile, 8 x 4
  tiles, SANA-FE's ``arch/loihi.yaml``), dimension-order routing;
* ``between_chips``: different chips (chip-to-chip links; the hops inside each chip are not
  counted);
* ``to_host``: the last layer's spikes, read by the host (uncharged). The input layer's spikes
  come from the host and are not in a :class:`SimResult`; they are not counted.

The profile charges ``[energy] hop_ew`` / ``hop_ns`` per hop and ``chip_crossing`` per
inter-chip message, and ``[timing] hop_ew_s`` / ``hop_ns_s`` / ``chip_crossing_s`` per hop or
message (added serially to the time estimate, an upper bound like the rest of it). Missing keys
cost 0. Traffic is charged to the receiving layer (see ``docs/energy.md``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import numpy as np

from ttfs_deploy.compile.placement import input_mask, tiles_of
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.network import IntNetwork

KINDS = ("within_core", "between_cores", "hops_ew", "hops_ns", "between_chips")


def mesh_position(core: int, limits: Dict[str, Any]) -> tuple:
    """(x, y) of a core's mesh tile inside its chip."""
    local = core % int(limits.get("cores_per_chip", 128))
    tile = local // int(limits.get("cores_per_tile", 4))
    width = int(limits.get("mesh_tiles_x", 8))
    return tile % width, tile // width


def has_tiles(net: IntNetwork) -> bool:
    """Whether ``net`` carries a tiled placement (compiled by this version)."""
    return bool(net.placement) and all("tiles" in entry for entry in net.placement)


def count_traffic(net: IntNetwork, spike_times: Sequence[np.ndarray], limits: Dict[str, Any]) -> List[Dict[str, float]]:
    """Mean messages per sample received by each layer, by kind (:data:`KINDS`), plus ``to_host``
    on the last layer. ``spike_times[l]``: (B, n_l) first-spike steps, -1 never."""
    out = [dict.fromkeys(KINDS, 0.0) for _ in net.layers]
    if not has_tiles(net):
        return out
    samples = max(1, len(spike_times[0]) if spike_times else 1)
    for l in range(1, len(net.layers)):
        src_core = np.empty(net.layers[l - 1].n_neurons, np.int64)
        src_chip = {}
        index = np.arange(net.layers[l - 1].n_neurons).reshape(net.layers[l - 1].output_shape)
        for tile in tiles_of(net.placement[l - 1]):
            src_core[index[tuple(slice(a, b) for a, b in zip(tile.start, tile.stop))].ravel()] = tile.core
            src_chip[tile.core] = tile.chip
        fired = (np.asarray(spike_times[l - 1]) >= 0).sum(axis=0)  # spikes per source neuron, all samples
        for tile in tiles_of(net.placement[l]):
            mask = input_mask(net.layers[l], tile.start, tile.stop)
            per_core = np.bincount(src_core[mask], weights=fired[mask])
            dx, dy = mesh_position(tile.core, limits)
            for core in np.flatnonzero(per_core):
                n = per_core[core] / samples
                if core == tile.core:
                    out[l]["within_core"] += n
                elif src_chip[core] == tile.chip:
                    sx, sy = mesh_position(int(core), limits)
                    out[l]["between_cores"] += n
                    out[l]["hops_ew"] += n * abs(sx - dx)
                    out[l]["hops_ns"] += n * abs(sy - dy)
                else:
                    out[l]["between_chips"] += n
    if spike_times:
        out[-1]["to_host"] = float((np.asarray(spike_times[-1]) >= 0).sum()) / samples
    return out


def traffic_cost(counts: Dict[str, float], profile: HardwareProfile) -> Dict[str, float]:
    """``energy_j`` and ``seconds`` of one layer's traffic counts on ``profile``."""
    e, t = profile.energy, profile.timing
    return {"energy_j": counts["hops_ew"] * float(e.get("hop_ew", 0.0)) + counts["hops_ns"] * float(e.get("hop_ns", 0.0))
            + counts["between_chips"] * float(e.get("chip_crossing", 0.0)),
            "seconds": counts["hops_ew"] * float(t.get("hop_ew_s", 0.0)) + counts["hops_ns"] * float(t.get("hop_ns_s", 0.0))
            + counts["between_chips"] * float(t.get("chip_crossing_s", 0.0))}


def add_traffic(net: IntNetwork, spike_times: Sequence[np.ndarray], profile: HardwareProfile,
                layers: List[Dict[str, Any]], totals: Dict[str, Any], latency: Dict[str, Any]) -> None:
    """Charge the traffic of a run to an energy report's ``layers`` and ``totals`` (``per_sample``)
    and its time to ``latency``, in place. Does nothing for a network without tiles."""
    if not has_tiles(net):
        return
    limits = {**profile.limits, **{k[len("limit_"):]: v for k, v in net.metadata.items() if k.startswith("limit_")}}
    counts = count_traffic(net, spike_times, limits)
    total = {k: 0.0 for k in (*KINDS, "to_host", "energy_j", "seconds")}
    for layer, c in zip(layers, counts):
        cost = traffic_cost(c, profile)
        layer["traffic"] = {**c, **cost}
        layer["energy_j"] += cost["energy_j"]
        layer["energy_by_kind_j"]["traffic"] = cost["energy_j"]
        for k in total:
            total[k] += layer["traffic"].get(k, 0.0)
    totals["traffic"] = total
    totals["energy_j"] += total["energy_j"]
    totals["energy_by_kind_j"]["traffic"] = total["energy_j"]
    latency["seconds_breakdown"]["traffic_s"] = total["seconds"]
    latency["seconds_per_inference_estimate"] += total["seconds"]
