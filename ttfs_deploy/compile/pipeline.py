"""The whole compile: checkpoint -> fold -> quantize -> time-step map -> split fan-in -> place -> report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ttfs_deploy.compile.fold import fold_model
from ttfs_deploy.compile.placement import LIMIT_KEYS, core_limits, core_usage, place
from ttfs_deploy.compile.quantize import quantize_network
from ttfs_deploy.compile.split import split_fan_in
from ttfs_deploy.data.encoders import SPIKE_CODES
from ttfs_deploy.errors import TTFSError
from ttfs_deploy.hw.profile import HardwareProfile
from ttfs_deploy.ir.network import FloatLayer, FloatNetwork, IntNetwork
from ttfs_deploy.model.network import TTFSNet
from ttfs_deploy.tables import RowTable


@dataclass
class CompileLayer:
    """One layer of the compile report: its placement (cores from ``first_core``, fan-in) and
    what quantization found (``layer.info``: weight bits used, relative RMS ``quant_error``,
    worst membrane ``max_abs_v`` against ``v_limit``, the constraint that set the scale)."""

    name: str
    kind: str
    neurons: int
    synapses: int
    cores: int
    first_core: int
    fan_in: int
    weight_bits: int
    weight_exp: int
    scale: float
    vth: int
    hop_delay: int
    quant_error: float
    binding_constraint: str
    max_abs_v: int
    v_limit: int
    max_step_input: int
    provenance: str = ""
    chips: List[int] = field(default_factory=list)
    grid: Optional[List[int]] = None
    tile_shape: Optional[List[int]] = None
    memory_bytes: Optional[int] = None
    neuron: str = "fire_once"

    def cells(self) -> List[str]:
        """The row of :meth:`CompileReport.table`."""
        return [self.name, f"{self.neurons:,}", f"{self.synapses:,}", str(self.cores),
                "x".join(str(d) for d in self.tile_shape or []), str(self.weight_bits),
                str(self.weight_exp), str(self.vth), str(self.hop_delay), f"{self.quant_error:.1%}",
                f"{self.max_abs_v / self.v_limit:.0%}", self.binding_constraint]


@dataclass
class CompileReport:
    """What ``ttfs-deploy compile --json`` writes (schema in docs/cli.md)."""

    target: str
    T: int
    total_steps: int
    cores_used: int
    chips_used: int
    layers: List[CompileLayer] = field(default_factory=list)
    accuracy: Dict[str, float] = field(default_factory=dict)
    chips_available: int = 1
    limits: Dict[str, int] = field(default_factory=dict)
    cores: List[Dict[str, Any]] = field(default_factory=list)
    interchip_routes: int = 0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def table(self, title: str = "") -> RowTable:
        """Per-layer placement and quantization, the ``compile`` command's table."""
        header = ["layer", "neurons", "synapses", "cores", "tile", "w bits", "w exp", "vth", "delay", "q err",
                  "worst |v|", "bound by"]
        note = ("worst |v|: largest membrane any input pattern can reach, as a share of the 24-bit limit; "
                "q err: relative RMS weight error; tile = largest block (C x H x W or N); "
                + ", ".join(f"{l.name} = {l.provenance}" for l in self.layers))
        if self.cores:
            note += ("\nper-core use, largest (mean) share of each limit: " + ", ".join(
                f"{key.replace('_', ' ')} {max(c['shares'][key] for c in self.cores):.0%} "
                f"({sum(c['shares'][key] for c in self.cores) / len(self.cores):.0%})" for key in self.cores[0]["shares"])
                + f"; {self.chips_used} of {self.chips_available} chip(s), {self.interchip_routes:,} routes between "
                "chips (at most that many spikes cross chips per inference)")
        return RowTable(title, header, [layer.cells() for layer in self.layers], left=(0, len(header) - 1), note=note)


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
    """Per-layer summary of a compiled network, with each core's utilization (``cores[]``: its
    figures and their ``shares`` of the per-core ``limits``)."""
    layers = []
    for layer, placed in zip(net.layers, net.placement):
        layers.append(CompileLayer(
            layer.name, layer.kind, layer.n_neurons, placed["synapses"], placed["cores"], placed["first_core"],
            placed["fan_in"], layer.info["weight_bits_used"], layer.weight_exp, layer.scale, layer.vth,
            layer.hop_delay, layer.info["quant_error"], layer.info["binding_constraint"], layer.info["max_abs_v"],
            layer.info["v_limit"], layer.info["max_step_input"], layer.info.get("provenance", ""),
            placed.get("chips", [placed["chip"]]), placed.get("grid"), placed.get("tile_shape"),
            placed.get("memory_bytes"), layer.neuron))
    limits = core_limits(net)
    usage = core_usage(net.placement)
    cores = len(usage) or sum(p["cores"] for p in net.placement)
    chips = 1 + max((p["chip"] for p in net.placement), default=0)
    per_core = [{"core": u.core, "chip": u.chip, "layers": u.layers,
                 **{k: getattr(u, k) for k in LIMIT_KEYS},
                 "shares": u.shares(limits) if limits else {}} for u in usage]
    return CompileReport(net.target, net.T, net.total_steps, cores, chips, layers, accuracy or {},
                         limits.get("chips", 1), limits, per_core, int(net.metadata.get("interchip_routes", 0)))
