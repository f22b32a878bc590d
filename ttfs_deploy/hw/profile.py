"""Load hardware profiles from ``hardware_profiles/<name>.toml`` or a user's TOML path.

Schema (all sections optional except where a command needs them; units in the key names):
``name``, ``description``, ``extends`` (a profile whose tables are merged under this one),
``[bits]`` (weight_mantissa, weight_exp_min/max, threshold, bias_mantissa, bias_exp_max, state,
synaptic_input), ``[limits]`` (cores_per_chip, chips, neurons_per_core,
synaptic_memory_bytes_per_core, bytes_per_synapse, input_axons_per_core, output_axons_per_core,
conv_weight_sharing, graded_spikes), ``[timing]`` (seconds per event), ``[energy]`` (joules per event, ``source``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from ttfs_deploy.errors import TTFSError

PROFILE_DIR = Path(__file__).resolve().parents[2] / "hardware_profiles"
REQUIRED = {"bits": ["weight_mantissa", "threshold", "bias_mantissa", "bias_exp_max", "state",
                     "synaptic_input"],
            "limits": ["cores_per_chip", "chips", "neurons_per_core", "synaptic_memory_bytes_per_core",
                       "bytes_per_synapse", "input_axons_per_core"]}


@dataclass
class HardwareProfile:
    """A parsed profile; ``bits``, ``limits``, ``timing`` and ``energy`` are the TOML tables."""

    name: str
    description: str = ""
    kind: str = "neuromorphic"
    bits: Dict[str, Any] = field(default_factory=dict)
    limits: Dict[str, Any] = field(default_factory=dict)
    timing: Dict[str, Any] = field(default_factory=dict)
    energy: Dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def graded_spikes(self) -> bool:
        """True when spikes can carry an integer payload (Loihi 2), which fan-in splitting needs;
        ``[limits] graded_spikes``, false when absent."""
        return bool(self.limits.get("graded_spikes", False))

    def require_target(self) -> None:
        """Raise unless this profile has what the compiler needs."""
        for table, keys in REQUIRED.items():
            missing = [k for k in keys if k not in getattr(self, table)]
            if missing:
                raise TTFSError(f"profile {self.name!r} lacks [{table}] {', '.join(missing)}",
                                "add them (see docs/profiles.md) or use --target loihi2")


def list_profiles() -> List[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def _read(path: Path) -> Dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise TTFSError(f"profile {path} is not valid TOML ({err})", "fix the file") from None


def load_profile(name_or_path: str) -> HardwareProfile:
    """Load a shipped profile by name, or a user's profile by path (``*.toml``)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        if not candidate.is_file():
            raise TTFSError(f"profile file {name_or_path} not found", "check the path")
        path = candidate
    else:
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            raise TTFSError(f"unknown target {name_or_path!r}",
                            f"use one of {', '.join(list_profiles())} or a PROFILE.toml path")
    data = _read(path)
    if "extends" in data:
        base = load_profile(data["extends"])
        for table in ("bits", "limits", "timing", "energy"):
            merged = dict(getattr(base, table))
            merged.update(data.get(table, {}))
            data[table] = merged
    unknown = set(data) - {"name", "description", "kind", "extends", "bits", "limits", "timing", "energy"}
    if unknown:
        raise TTFSError(f"profile {path} has unknown keys {sorted(unknown)}", "see docs/profiles.md for the schema")
    return HardwareProfile(name=data.get("name", path.stem), description=data.get("description", ""),
                           kind=data.get("kind", "neuromorphic"), bits=data.get("bits", {}),
                           limits=data.get("limits", {}), timing=data.get("timing", {}),
                           energy=data.get("energy", {}), path=str(path))
