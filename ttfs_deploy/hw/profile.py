"""Load hardware profiles from ``hardware_profiles/<name>.toml`` or a user's TOML path.

Schema (all sections optional except where a command needs them; units in the key names):
``name``, ``description``, ``extends`` (a profile whose tables are merged under this one),
``[bits]`` (optional: the bit widths are those of the integer semantics,
:data:`ttfs_deploy.semantics.BITS`; a table that disagrees is refused), ``[limits]`` (cores_per_chip, chips, neurons_per_core,
synaptic_memory_bytes_per_core, bytes_per_synapse, input_axons_per_core, output_axons_per_core,
conv_weight_sharing, graded_spikes), ``[timing]`` (seconds per event), ``[energy]`` (joules per event, ``source``).
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
#: [limits] keys that are switches; every other [limits] value is a count >= 1
LIMIT_SWITCHES = ("conv_weight_sharing", "graded_spikes")
TEXT_KEYS = ("source", "note", "notes", "includes")
LIST_KEYS = ("sram_bytes", "sram_read_64bit")  #: [energy.memory] tables of the ANN baseline
REQUIRED = {"limits": ["cores_per_chip", "chips", "neurons_per_core", "synaptic_memory_bytes_per_core",
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
    equal to :data:`ttfs_deploy.semantics.BITS` (the arithmetic is fixed), ``[limits]`` counts >= 1 (switches
    true/false), ``[timing]`` and ``[energy]`` finite numbers >= 0 (:func:`_check_figures`)."""
    where = f"profile {profile.path or profile.name}"
    if profile.kind not in ("neuromorphic", "ann"):
        raise TTFSError(f"{where}: kind {profile.kind!r} is neither neuromorphic nor ann", "fix kind")
    disagreement = semantics.check_profile_bits(profile.bits)
    if disagreement:
        raise TTFSError(f"{where}: {disagreement[:120]}",
                        "remove the [bits] table: the arithmetic is Lava's fixed_pt, see docs/semantics.md")
    for key, value in profile.limits.items():
        if key in LIMIT_SWITCHES:
            if type(value) is not bool:
                raise TTFSError(f"{where}: [limits] {key} must be true or false", "fix the value")
        elif type(value) is not int or value < 1:
            raise TTFSError(f"{where}: [limits] {key} = {str(value)[:40]} must be an integer >= 1", "fix the value")
    for table in ("timing", "energy"):
        _check_figures(getattr(profile, table), f"{where}: [{table}]")


def _check_figures(figures: Dict[str, Any], where: str) -> None:
    """``[timing]`` / ``[energy]`` values: text for the :data:`TEXT_KEYS`, true/false, a finite
    number >= 0, a list of them (``X_range = [low, high]`` with ``low <= high``), or a sub-table
    (``[energy.memory]``) of the same."""
    for key, value in figures.items():
        if (key in TEXT_KEYS or key.endswith("source")) and isinstance(value, str) or type(value) is bool:
            continue
        if isinstance(value, dict):
            _check_figures(value, f"{where[:-1]}.{key}]")
            continue
        if isinstance(value, list) != (key.endswith("_range") or key in LIST_KEYS):
            raise TTFSError(f"{where} {key} = {str(value)[:40]} must be "
                            + ("a list of numbers" if isinstance(value, list) is False else "a single number"),
                            "fix the value (see docs/profiles.md)")
        values = value if isinstance(value, list) else [value]
        ok = bool(values) and all(type(v) in (int, float) and math.isfinite(v) and v >= 0 for v in values)
        if ok and key.endswith("_range"):
            ok = len(values) == 2 and values[0] <= values[1]
        if not ok:
            raise TTFSError(f"{where} {key} = {str(value)[:40]} must be a finite number >= 0"
                            + (" pair [low, high]" if key.endswith("_range") else ""),
                            "fix the value (joules or seconds per event)")
