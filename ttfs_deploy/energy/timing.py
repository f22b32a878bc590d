"""Time per inference from the profile's ``[timing]``, and the static energy it costs.

The time model: each layer's synaptic ops (``synaptic_op_s`` each) and neuron updates
(``neuron_update_s`` each) are spread over the cores the layer occupies, layers are summed as if
they ran one after the other (an upper bound), and every step the target runs ends with a
barrier sync (``barrier_sync_s``). Static energy = ``static_power_w`` x chips used x that time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping, Optional, Sequence

from ttfs_deploy.energy.figures import Joules, price

#: time-model term -> label
TIME_LABELS = {"synaptic_ops_s": "synaptic ops", "neuron_updates_s": "neuron updates",
               "barrier_sync_s": "barrier sync", "traffic_s": "spike traffic"}


@dataclass(frozen=True)
class TimeModel:
    """Seconds per inference by term; ``dominant`` names the largest."""

    synaptic_ops_s: float
    neuron_updates_s: float
    barrier_sync_s: float
    traffic_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.synaptic_ops_s + self.neuron_updates_s + self.barrier_sync_s + self.traffic_s

    @property
    def dominant(self) -> str:
        terms = asdict(self)
        return TIME_LABELS[max(terms, key=terms.get)] if self.total_s else "none"

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "total_s": self.total_s, "dominant": self.dominant}


def time_model(layers: Sequence[Mapping[str, float]], cores: Sequence[int], target_steps: float,
               timing: Mapping[str, Any]) -> TimeModel:
    """``layers``: per-layer mean ``syn_ops``, ``neuron_updates`` and (optional) ``traffic_s``, the
    seconds its spike messages spend on the mesh and between chips (added serially); ``cores``: per
    layer; ``target_steps``: steps the target runs (barriers)."""
    t_syn, t_upd = float(timing.get("synaptic_op_s", 0.0)), float(timing.get("neuron_update_s", 0.0))
    syn = sum(l["syn_ops"] * t_syn / max(1, c) for l, c in zip(layers, cores))
    upd = sum(l["neuron_updates"] * t_upd / max(1, c) for l, c in zip(layers, cores))
    return TimeModel(syn, upd, target_steps * float(timing.get("barrier_sync_s", 0.0)),
                     sum(l.get("traffic_s", 0.0) for l in layers))


@dataclass(frozen=True)
class StaticTerm:
    """Static (leakage) energy per inference: ``power_w`` per chip x ``chips`` x ``seconds``."""

    power: Joules          # watts, with the profile's range
    chips: int
    seconds: float
    source: str

    @property
    def energy(self) -> Joules:
        return self.power * (self.chips * self.seconds)

    def to_dict(self) -> Dict[str, Any]:
        return {"power_w": self.power.point, "power_w_range": self.power.range, "chips": self.chips,
                "seconds": self.seconds, "energy_j": self.energy.point, "energy_j_range": self.energy.range,
                "source": self.source}


def static_term(energy: Mapping[str, Any], chips: int, seconds: float) -> Optional[StaticTerm]:
    """The static term when the profile's ``[energy]`` gives ``static_power_w`` (else None)."""
    if "static_power_w" not in energy:
        return None
    return StaticTerm(price(energy, "static_power_w"), chips, seconds, str(energy.get("static_source", "")))
