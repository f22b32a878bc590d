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
  come from the host and are not counted.

The energy model (:mod:`.accounting`) takes these counts as optional terms: ``[energy] hop_ew`` /
``hop_ns`` per hop and ``chip_crossing`` per inter-chip message, and ``[timing] hop_ew_s`` /
``hop_ns_s`` / ``chip_crossing_s`` per hop or message (added serially to the time estimate, an
upper bound like the rest of it). A term whose price the profile lacks costs nothing. Traffic is
charged to the receiving layer (see ``docs/energy.md``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ttfs_deploy.compile.placement import input_mask, layer_reads, tiles_of
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


def count_traffic(net: IntNetwork, spike_times: Sequence[np.ndarray],
                  limits: Dict[str, Any]) -> Optional[List[Dict[str, np.ndarray]]]:
    """Per layer, ``(B,)`` messages received by kind (:data:`KINDS`, plus ``to_host`` on the last
    layer; zeros elsewhere), or None for a network without a tiled placement.
    ``spike_times[l]``: ``(B, n_l)`` first-spike steps, ``NEVER`` for no spike."""
    if not has_tiles(net):
        return None
    samples = len(spike_times[0]) if spike_times else 0
    out = [{k: np.zeros(samples) for k in (*KINDS, "to_host")} for _ in net.layers]
    for l in range(1, len(net.layers)):
        prev = net.layers[l - 1]
        src_core = np.empty(prev.n_neurons, np.int64)
        src_chip = {}
        index = np.arange(prev.n_neurons).reshape(prev.output_shape)
        for tile in tiles_of(net.placement[l - 1]):
            src_core[index[tuple(slice(a, b) for a, b in zip(tile.start, tile.stop))].ravel()] = tile.core
            src_chip[tile.core] = tile.chip
        fired = (np.asarray(spike_times[l - 1]) >= 0).astype(np.int64)   # (B, n_prev)
        reads = layer_reads(net.layers[l])
        for tile in tiles_of(net.placement[l]):
            mask = input_mask(net.layers[l], tile.start, tile.stop, reads)
            cores, which = np.unique(src_core[mask], return_inverse=True)
            per_core = fired[:, mask] @ (which[:, None] == np.arange(len(cores))[None, :])  # (B, cores)
            dx, dy = mesh_position(tile.core, limits)
            for j, core in enumerate(cores):
                n = per_core[:, j]
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
        out[-1]["to_host"] = (np.asarray(spike_times[-1]) >= 0).sum(axis=1).astype(float)
    return out


def traffic_limits(net: IntNetwork, profile: HardwareProfile) -> Dict[str, Any]:
    """The profile's ``[limits]`` with the overrides the compiler recorded (``limit_*`` metadata)."""
    return {**profile.limits, **{k[len("limit_"):]: v for k, v in net.metadata.items() if k.startswith("limit_")}}


def traffic_seconds(counts: Dict[str, float], timing: Dict[str, Any]) -> float:
    """Seconds of one layer's mean traffic counts on the profile's ``[timing]`` (missing keys cost 0)."""
    return (counts.get("hops_ew", 0.0) * float(timing.get("hop_ew_s", 0.0))
            + counts.get("hops_ns", 0.0) * float(timing.get("hop_ns_s", 0.0))
            + counts.get("between_chips", 0.0) * float(timing.get("chip_crossing_s", 0.0)))
