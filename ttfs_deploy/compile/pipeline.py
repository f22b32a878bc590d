"""The whole compile: checkpoint -> fold -> quantize -> time-step map -> split fan-in -> place -> report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ttfs_deploy.compile.fold import fold_model
from ttfs_deploy.compile.placement import place
from ttfs_deploy.compile.quantize import quantize_network
from ttfs_deploy.compile.split import split_fan_in
from ttfs_deploy.data.encoders import SPIKE_CODES
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.network import FloatLayer, FloatNetwork, IntNetwork
from ttfs_deploy.model.network import TTFSNet


@dataclass
class CompileReport:
    """What ``ttfs-deploy compile --json`` writes (schema in docs/cli.md)."""

    target: str
    T: int
    total_steps: int
    cores_used: int
    chips_used: int
    layers: List[Dict[str, Any]] = field(default_factory=list)
    accuracy: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def compile_float(floatnet: FloatNetwork, profile: HardwareProfile) -> IntNetwork:
    """Quantize, map time, split fan-ins larger than a core's input axons and place a folded network."""
    net = split_fan_in(quantize_network(floatnet, profile), profile)
    net.placement = place(net, profile)
    return net


def split_host_layer(floatnet: FloatNetwork) -> tuple[FloatLayer, FloatNetwork]:
    """With analog (``direct``) input the first layer stays in float on the host; the rest,
    fed by its spikes, goes to the chip. Returns (host layer, chip part)."""
    if len(floatnet.layers) < 2:
        raise TTFSError("a direct-input network needs at least two weight layers: the first runs on the host",
                        "add a layer to --arch or train with --encoder latency")
    host, rest = floatnet.layers[0], floatnet.layers[1:]
    return host, FloatNetwork(host.output_shape, floatnet.T, floatnet.encoder, rest, dict(floatnet.metadata))


def compile_model(model: TTFSNet, profile: HardwareProfile) -> tuple[FloatNetwork, IntNetwork]:
    """Fold ``model`` and compile it for ``profile``; returns (float graph, deployable network).

    A ``direct``-input model keeps its first layer on the host (``IntNetwork.host``)."""
    floatnet = fold_model(model)
    if floatnet.encoder in SPIKE_CODES:
        return floatnet, compile_float(floatnet, profile)
    host, chip = split_host_layer(floatnet)
    net = compile_float(chip, profile)
    net.host = host
    return floatnet, net


def report(net: IntNetwork, accuracy: Optional[Dict[str, float]] = None) -> CompileReport:
    """Per-layer summary of a compiled network."""
    layers = []
    for layer, placed in zip(net.layers, net.placement):
        layers.append({"name": layer.name, "kind": layer.kind, "neuron": layer.neuron, "neurons": layer.n_neurons,
                       "synapses": placed["synapses"], "cores": placed["cores"],
                       "first_core": placed["first_core"], "fan_in": placed["fan_in"],
                       "weight_bits": layer.info["weight_bits_used"], "weight_exp": layer.weight_exp,
                       "scale": layer.scale, "vth": layer.vth, "hop_delay": layer.hop_delay,
                       "quant_error": layer.info["quant_error"],
                       "binding_constraint": layer.info["binding_constraint"],
                       "max_abs_v": layer.info["max_abs_v"], "v_limit": layer.info["v_limit"],
                       "max_step_input": layer.info["max_step_input"],
                       "provenance": layer.info.get("provenance", "")})
    cores = sum(p["cores"] for p in net.placement)
    chips = 1 + max((p["chip"] for p in net.placement), default=0)
    return CompileReport(net.target, net.T, net.total_steps, cores, chips, layers, accuracy or {})
