"""Pass 3: fan-in splitting. A layer whose neurons need more inputs than a core has input axons
becomes partial-sum relay layers plus the final layer (Loihi 2 graded spikes).

For a layer with fan-in ``F > A`` (``A = input_axons_per_core``):

* level 1 relays: each neuron's weight row, flattened (dense: its inputs; conv: its kernel taps
  ``(c_in, ky, kx)`` in C-order), is cut into ``G = ceil(F / A)`` runs of ``A`` consecutive
  entries (a conv whose kernel fits ``A``: runs of whole input channels, :func:`conv_group_size`),
  and relay ``(g, o)`` gets the layer's own weights (and ``weight_exp``) of run ``g``
  only (a conv relay keeps the layer's stride and padding); it sends, every step, this step's
  exact partial sum as a graded spike (:func:`ttfs_deploy.semantics.relay_step`).
  Relay outputs are laid out group-major: dense ``g * n_out + o``, conv channel ``g * C_out + c``.
* while ``G > A``: a further relay level adds groups of ``A`` relays with weight 1
  (``weight_exp = 0``), leaving ``ceil(G / A)`` groups;
* the final layer keeps the name, bias, threshold and scale of the original and adds its ``G``
  relays' payloads with weight 1 (a ``1 x 1`` convolution for conv layers), so its synaptic
  input, membrane and spike times are exactly the unsplit layer's in the reference frame.

Every layer made here carries ``info["split"]`` (:class:`~ttfs_deploy.ir.network.SplitInfo`). Each relay level is one more hop, so the pass
renumbers ``hop_delay`` (layer ``i`` of the new chain lags by ``i + 1`` steps) and
``IntNetwork.total_steps`` grows by one per relay level.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ttfs_deploy import semantics
from ttfs_deploy.compile.conv_reads import ConvGeometry, ConvReads, block_bounds, block_counts
from ttfs_deploy.compile.placement import conv_tiles, profile_limits
from ttfs_deploy.compile.quantize import membrane_bounds
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.network import MAX_LAYER_SYNAPSES, IntLayer, IntNetwork, SplitInfo


def split_fan_in(net: IntNetwork, profile: HardwareProfile) -> IntNetwork:
    """Split every layer of ``net`` whose fan-in exceeds the profile's input axons per core.

    Returns a new network (``net`` is not changed); raises a one-line :class:`TTFSError` when a
    split is needed but the profile has no graded spikes (Loihi 1).
    """
    axons = int(profile.limits["input_axons_per_core"])
    layers: List[IntLayer] = []
    for layer in net.layers:
        if layer.fan_in <= axons:
            layers.append(layer)
            continue
        if not profile.graded_spikes:
            raise TTFSError(f"layer {layer.name} has fan-in {layer.fan_in} > {axons} input axons per "
                            f"core on {profile.name}, and splitting it needs graded spikes, which "
                            f"{profile.name} lacks", "use --target loihi2 or reduce that layer's inputs")
        if axons < 2:
            raise TTFSError(f"layer {layer.name} has fan-in {layer.fan_in} but {profile.name} has "
                            f"{axons} input axon(s) per core: partial sums need at least 2",
                            "use a profile with more input axons")
        per = conv_group_size(layer, axons, profile_limits(profile)) if layer.kind == "conv" else axons
        layers.extend(split_layer(layer, axons, per))
    layers = [replace(layer, hop_delay=index + 1) for index, layer in enumerate(layers)]
    return replace(net, layers=layers)


def split_layer(layer: IntLayer, axons: int, per: Optional[int] = None) -> List[IntLayer]:
    """``layer`` as relay layers (one per level) followed by the final summing layer; level-1
    groups take ``per`` (default ``axons``) consecutive entries of a neuron's weight row."""
    relays = [_first_relays(layer, per or axons)]
    groups = relays[0].split.groups
    while groups > axons:
        relays.append(_summing(layer, relays[-1], groups, axons, level=len(relays) + 1))
        groups = relays[-1].split.groups
    final = _summing(layer, relays[-1], groups, axons, level=0)
    return relays + [final]


def conv_group_size(layer: IntLayer, axons: int, limits: Dict[str, Any]) -> int:
    """Kernel entries per level-1 group of a conv: whole input channels, ``cg x kh x kw``, with
    the ``cg`` for which the placer cuts the relays and the summing layer into the fewest tiles
    (ties: fewer groups). A core's input axons hold ``cg`` channels of a tile's receptive field,
    so fewer channels per group allow larger spatial tiles, which share each kernel entry
    among more neurons. Candidates: for every spatial cut, the most channels whose receptive
    fields fit the axons; the relays, which store the kernel once per group, stay within
    ``MAX_LAYER_SYNAPSES``. Runs of ``axons`` entries when one channel's kernel exceeds them."""
    g = ConvGeometry.of(layer)
    taps = g.kh * g.kw
    if taps > axons:
        return axons
    candidates = {min(g.c_in, axons // taps)}
    for kr in block_counts(g.h_out):
        rows = g.rows(block_bounds(g.h_out, kr)).reads.sum(1).max()
        for kk in block_counts(g.w_out):
            candidates.add(min(g.c_in, axons // int(rows * g.cols(block_bounds(g.w_out, kk)).reads.sum(1).max())))
    best = None
    for groups in sorted({math.ceil(g.c_in / cg) for cg in candidates if cg >= 1}):
        cg = math.ceil(g.c_in / groups)
        groups = math.ceil(g.c_in / cg)
        if groups > axons or groups * layer.weight.size > MAX_LAYER_SYNAPSES:  # relays store G kernels
            continue
        relays = replace(g, c_out=groups * g.c_out)
        summing = ConvGeometry(groups * g.c_out, g.h_out, g.w_out, g.c_out, 1, 1, (1, 1), (0, 0))
        tiles = [conv_tiles(ConvReads.channel_groups(relays, groups, cg), limits),
                 conv_tiles(ConvReads.summing(summing, groups, axons), limits)]
        if None not in tiles and (best is None or (sum(tiles), groups) < best[0]):
            best = ((sum(tiles), groups), cg * taps)
    return axons if best is None else best[1]


def _first_relays(layer: IntLayer, axons: int) -> IntLayer:
    """Level-1 relays: the layer's weights, one block of output neurons (channels) per group of
    ``axons`` consecutive entries of a neuron's flattened weight row (dense: inputs; conv:
    ``(c_in, ky, kx)`` kernel taps in C-order)."""
    w = np.asarray(layer.weight, dtype=np.int64)
    rows = w.reshape(len(w), -1)
    groups = math.ceil(rows.shape[1] / axons)
    blocks = np.zeros((groups,) + rows.shape, dtype=np.int64)
    for g in range(groups):
        blocks[g, :, g * axons:(g + 1) * axons] = rows[:, g * axons:(g + 1) * axons]
    relay = _relay(layer, blocks.reshape((groups * len(w),) + w.shape[1:]), layer.weight_exp,
                   layer.input_shape, layer.stride, layer.padding, level=1, groups=groups,
                   group_size=axons)
    relay.info.update(weight_bits_used=layer.info.get("weight_bits_used", 8),
                      quant_error=layer.info.get("quant_error", 0.0))
    return relay


def _summing_weight(kind: str, n: int, groups: int, axons: int) -> Tuple[np.ndarray, int]:
    """Weight 1 from relay ``(g, o)`` to neuron ``(g // axons, o)``: dense ``(G' n, G n)``,
    conv ``(G' n, G n, 1, 1)``; returns it with ``G' = ceil(G / axons)``."""
    out_groups = math.ceil(groups / axons)
    w = np.zeros((out_groups, n, groups, n), dtype=np.int64)
    for g in range(groups):
        w[g // axons, :, g, :] = np.eye(n, dtype=np.int64)
    w = w.reshape(out_groups * n, groups * n)
    return (w if kind == "dense" else w[:, :, None, None]), out_groups


def _summing(layer: IntLayer, relays: IntLayer, groups: int, axons: int, level: int) -> IntLayer:
    """A layer adding groups of ``axons`` relay payloads with weight 1: another relay level
    (``level >= 2``) or, for ``level == 0``, the final layer (``layer``'s neurons)."""
    n = int(layer.output_shape[0])                    # neurons (dense) or channels (conv) per group
    weight, out_groups = _summing_weight(layer.kind, n, groups, axons)
    in_shape = tuple(relays.output_shape)
    if level == 0:
        info = dict(layer.info, split=SplitInfo(layer.name, 0, groups, min(groups, axons)).to_dict())
        return replace(layer, weight=weight, weight_exp=0, input_shape=in_shape, stride=(1, 1),
                       padding=(0, 0), info=info)
    # a sum over some groups is bounded by the whole layer's worst-case input
    payload = membrane_bounds(layer, 0)["max_step_input"]
    relay = _relay(layer, weight, 0, in_shape, (1, 1), (0, 0), level=level, groups=out_groups,
                   group_size=axons, payload=payload)
    relay.info.update(weight_bits_used=1, quant_error=0.0)
    return relay


def _relay(layer: IntLayer, weight: np.ndarray, weight_exp: int, input_shape, stride, padding,
           level: int, groups: int, group_size: int, payload: Optional[int] = None) -> IntLayer:
    """A relay layer of ``layer`` (no bias, no threshold); ``payload`` is the largest |partial
    sum| it can send (integer weight units; default: its own weights' worst case), checked
    against the graded payload width."""
    channels = int(weight.shape[0])
    relay = IntLayer(f"{layer.name}_relay{level}", layer.kind, weight, int(weight_exp),
                     np.zeros(channels, np.int64), np.zeros(channels, np.int64), 0, tuple(input_shape),
                     0, layer.scale, tuple(stride), tuple(padding), neuron="relay")
    if payload is None:
        payload = membrane_bounds(relay, 0)["max_step_input"]
    if payload > semantics.PAYLOAD_MAX:
        raise TTFSError(f"layer {relay.name}'s partial sums reach {payload}, beyond the "
                        f"{semantics.GRADED_BITS}-bit graded payload", "recompile with fewer weight bits")
    relay.info = {"provenance": f"fan-in split of {layer.name}", "binding_constraint": "input axons",
                  "max_step_input": payload, "max_abs_v": payload, "v_limit": semantics.PAYLOAD_MAX,
                  "split": SplitInfo(layer.name, level, groups, group_size).to_dict()}
    return relay
