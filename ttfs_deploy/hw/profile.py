"""Load hardware profiles from ``hardware_profiles/<name>.toml`` or a user's TOML path.

Schema (all sections optional except where a command needs them; units in the key names):
``name``, ``description``, ``extends`` (a profile whose tables are merged under this one),
``[bits]`` (weight_mantissa, weight_exp_min/max, threshold, bias_mantissa, bias_exp_max, state,
synaptic_input), ``[limits]`` (cores_per_chip, chips, neurons_per_core,
synaptic_memory_bytes_per_core, bytes_per_synapse, input_axons_per_core, output_axons_per_core,
conv_weight_sharing), ``[timing]`` (seconds per event), ``[energy]`` (joules per event, ``source``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ttfs_deploy import semantics
from ttfs_deploy.errors import TTFSError

PROFILE_DIR = Path(__file__).resolve().parents[2] / "hardware_profiles"
#: [bits] key -> (smallest, largest) value the integer arithmetic of :mod:`ttfs_deploy.semantics` supports
BITS_RANGE: Dict[str, Tuple[int, int]] = {
    "weight_mantissa": (1, 8),
    "weight_exp_min": (-8, 0),
    "weight_exp_max": (0, semantics.WEIGHT_EXP_MAX),
    "threshold": (1, semantics.VTH_MAX.bit_length()),
    "bias_mantissa": (2, (semantics.BIAS_MANT_MAX + 1).bit_length()),
    "bias_exp_max": (0, semantics.BIAS_EXP_MAX),
    "state": (2, semantics.STATE_BITS),
    "synaptic_input": (2, semantics.INPUT_MAX.bit_length() + 1),
}
#: [limits] keys that are switches; every other [limits] value is a count >= 1
LIMIT_SWITCHES = ("conv_weight_sharing",)
TEXT_KEYS = ("source", "note", "notes")
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise TTFSError(f"profile {path} is not valid TOML ({str(err)[:100]})", "fix the file") from None


def load_profile(name_or_path: str) -> HardwareProfile:
    """Load a shipped profile by name, or a user's profile by path (``*.toml``), merged over the
    profile it ``extends`` and checked (:func:`check_profile`)."""
    return _load(name_or_path, ())


def _locate(name_or_path: str) -> Path:
    if not isinstance(name_or_path, str) or not name_or_path:
        raise TTFSError(f"profile name must be a string, got {name_or_path!r}", "use a profile name or a .toml path")
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.is_file():
        if not candidate.is_file():
            raise TTFSError(f"profile file {name_or_path} not found", "check the path")
        return candidate
    path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise TTFSError(f"unknown target {name_or_path!r}",
                        f"use one of {', '.join(list_profiles())} or a PROFILE.toml path")
    return path


def _load(name_or_path: str, chain: Tuple[Path, ...]) -> HardwareProfile:
    path = _locate(name_or_path)
    if path.resolve() in chain:
        raise TTFSError(f"profile {path} extends itself (through {' -> '.join(p.name for p in chain)})",
                        "remove the loop of `extends`")
    data = _read(path)
    unknown = set(data) - {"name", "description", "kind", "extends", "bits", "limits", "timing", "energy"}
    if unknown:
        raise TTFSError(f"profile {path} has unknown keys {sorted(unknown)}", "see docs/profiles.md for the schema")
    for table in ("bits", "limits", "timing", "energy"):
        if not isinstance(data.get(table, {}), dict):
            raise TTFSError(f"profile {path}: {table} must be a table [{table}]", "see docs/profiles.md")
    for key in ("name", "description", "kind", "extends"):
        if key in data and not isinstance(data[key], str):
            raise TTFSError(f"profile {path}: {key} must be a string", "quote it")
    if "extends" in data:
        base = _load(data["extends"], chain + (path.resolve(),))
        for table in ("bits", "limits", "timing", "energy"):
            merged = dict(getattr(base, table))
            merged.update(data.get(table, {}))
            data[table] = merged
    profile = HardwareProfile(name=data.get("name", path.stem), description=data.get("description", ""),
                              kind=data.get("kind", "neuromorphic"), bits=data.get("bits", {}),
                              limits=data.get("limits", {}), timing=data.get("timing", {}),
                              energy=data.get("energy", {}), path=str(path))
    check_profile(profile)
    return profile


def check_profile(profile: HardwareProfile) -> None:
    """Raise a one-line :class:`TTFSError` unless every value has its type and range: ``[bits]``
    integers the arithmetic supports (:data:`BITS_RANGE`), ``[limits]`` counts >= 1 (switches
    true/false), ``[timing]`` and ``[energy]`` finite numbers >= 0 (text only for ``source``)."""
    where = f"profile {profile.path or profile.name}"
    if profile.kind not in ("neuromorphic", "ann"):
        raise TTFSError(f"{where}: kind {profile.kind!r} is neither neuromorphic nor ann", "fix kind")
    for key, value in profile.bits.items():
        lo, hi = BITS_RANGE.get(key, (0, 64))
        if type(value) is not int or not lo <= value <= hi:
            raise TTFSError(f"{where}: [bits] {key} = {str(value)[:40]} must be an integer in {lo}..{hi} "
                            "(what the integer arithmetic supports)", "fix the value (see docs/profiles.md)")
    for key, value in profile.limits.items():
        if key in LIMIT_SWITCHES:
            if type(value) is not bool:
                raise TTFSError(f"{where}: [limits] {key} must be true or false", "fix the value")
        elif type(value) is not int or value < 1:
            raise TTFSError(f"{where}: [limits] {key} = {str(value)[:40]} must be an integer >= 1", "fix the value")
    for table in ("timing", "energy"):
        for key, value in getattr(profile, table).items():
            if key in TEXT_KEYS and isinstance(value, str) or type(value) is bool:
                continue
            if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
                raise TTFSError(f"{where}: [{table}] {key} = {str(value)[:40]} must be a finite number >= 0",
                                "fix the value (joules or seconds per event)")
