"""Energy figures with a low-high range, and the per-event prices a profile gives.

A profile's ``[energy]`` table gives each figure as a point value (``synaptic_op = 23.6e-12``)
and, optionally, the spread of its sources as ``<key>_range = [low, high]`` (Loihi 2's assumed
figures do). :class:`Joules` carries the three numbers through sums and products, so every total
has its range; without a ``_range`` key low = high = point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping

from ttfs_deploy.errors import TTFSError


@dataclass(frozen=True)
class Joules:
    """An energy (or per-event price) in joules: ``point`` and its ``low``-``high`` range."""

    point: float
    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> "Joules":
        return cls(float(value), float(value), float(value))

    def __add__(self, other: "Joules") -> "Joules":
        return Joules(self.point + other.point, self.low + other.low, self.high + other.high)

    def __mul__(self, count: float) -> "Joules":
        """``count`` events (a non-negative number) at this price."""
        return Joules(self.point * count, self.low * count, self.high * count)

    __rmul__ = __mul__

    @property
    def range(self) -> List[float]:
        return [self.low, self.high]

    @property
    def spread(self) -> bool:
        """True when low and high differ (the figure is uncertain)."""
        return self.low != self.high


def total(items: Iterable[Joules]) -> Joules:
    """Sum of ``items`` (zero for none)."""
    out = Joules.exact(0.0)
    for item in items:
        out = out + item
    return out


def price(table: Mapping[str, Any], key: str, where: str = "[energy]") -> Joules:
    """``table[key]`` with its ``<key>_range`` (one-line error if the range is malformed)."""
    point = float(table[key])
    pair = table.get(f"{key}_range")
    if pair is None:
        return Joules.exact(point)
    if not (isinstance(pair, list) and len(pair) == 2 and float(pair[0]) <= point <= float(pair[1])):
        raise TTFSError(f"{where} {key}_range must be [low, high] around {key} = {point}, got {pair!r}",
                        "fix the profile (see docs/profiles.md)")
    return Joules(point, float(pair[0]), float(pair[1]))


def as_dict(j: Joules) -> Dict[str, Any]:
    """``{"energy_j": point, "energy_j_range": [low, high]}``."""
    return {"energy_j": j.point, "energy_j_range": j.range}
