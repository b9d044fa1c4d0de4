"""Units by kind, their accepted spellings, and conversion between units of one kind.

A data contract names the unit of a numeric feature (``unit = "mi"``); a value tagged
with another unit of the same kind is converted into it. Each unit has one canonical
name (``"km"``, ``"F"``, ``"hPa"``) and a few spellings people send ("kilometres",
"°F", "millibar"); spellings are matched without regard to case or spacing.

>>> canonical_unit("Kilometres"), canonical_unit("°F"), unit_kind("knots")
('km', 'F', 'speed')
>>> convert(10, "km", "mi")
6.2137119223733395
>>> convert(212, "F", "C"), convert(0, "C", "K")
(100.0, 273.15)
>>> convert(29.92, "inHg", "hPa")
1013.2075888
>>> convert(1, "kg", "m")
Traceback (most recent call last):
...
driftline.core.errors.ConfigError: cannot convert kg (a mass) to m (a length)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

from driftline.core.errors import ConfigError

__all__ = ["UNITS", "UnitKind", "canonical_unit", "convert", "unit_kind", "units_of"]

UnitKind = Literal["length", "temperature", "speed", "pressure", "duration", "mass", "fraction"]


class _Unit(NamedTuple):
    """A unit as an affine map onto its kind's base unit: ``base = (value + shift) * scale``."""

    kind: UnitKind
    scale: float
    shift: float
    spellings: tuple[str, ...]


#: Every unit by canonical name. Bases: metre, degree Celsius, metre per second, pascal,
#: second, kilogram, ratio (0..1).
UNITS: Mapping[str, _Unit] = {
    # length
    "m": _Unit("length", 1.0, 0.0, ("meter", "meters", "metre", "metres")),
    "km": _Unit("length", 1000.0, 0.0, ("kilometer", "kilometers", "kilometre", "kilometres")),
    "mi": _Unit("length", 1609.344, 0.0, ("mile", "miles", "statute mile", "statute miles")),
    "ft": _Unit("length", 0.3048, 0.0, ("foot", "feet")),
    "nmi": _Unit("length", 1852.0, 0.0, ("nautical mile", "nautical miles")),
    # temperature (affine: the base is Celsius)
    "C": _Unit("temperature", 1.0, 0.0, ("°C", "degC", "deg C", "celsius", "degrees celsius")),
    "F": _Unit(
        "temperature", 5 / 9, -32.0, ("°F", "degF", "deg F", "fahrenheit", "degrees fahrenheit")
    ),
    "K": _Unit("temperature", 1.0, -273.15, ("kelvin", "kelvins")),
    # speed
    "m/s": _Unit("speed", 1.0, 0.0, ("mps", "meters per second", "metres per second")),
    "km/h": _Unit(
        "speed", 1 / 3.6, 0.0, ("kph", "kmh", "km/hr", "kilometers per hour", "kilometres per hour")
    ),
    "mph": _Unit("speed", 0.44704, 0.0, ("mi/h", "miles per hour")),
    "kn": _Unit("speed", 1852 / 3600, 0.0, ("kt", "kts", "knot", "knots")),
    # pressure
    "Pa": _Unit("pressure", 1.0, 0.0, ("pascal", "pascals")),
    "hPa": _Unit("pressure", 100.0, 0.0, ("hectopascal", "hectopascals")),
    "mbar": _Unit("pressure", 100.0, 0.0, ("mb", "millibar", "millibars")),
    "kPa": _Unit("pressure", 1000.0, 0.0, ("kilopascal", "kilopascals")),
    "inHg": _Unit("pressure", 3386.389, 0.0, ("in Hg", "inches of mercury")),
    # duration
    "ms": _Unit("duration", 0.001, 0.0, ("millisecond", "milliseconds")),
    "s": _Unit("duration", 1.0, 0.0, ("sec", "secs", "second", "seconds")),
    "min": _Unit("duration", 60.0, 0.0, ("mins", "minute", "minutes")),
    "h": _Unit("duration", 3600.0, 0.0, ("hr", "hrs", "hour", "hours")),
    # mass
    "kg": _Unit("mass", 1.0, 0.0, ("kilogram", "kilograms", "kilo", "kilos")),
    "lb": _Unit("mass", 0.45359237, 0.0, ("lbs", "pound", "pounds")),
    # fraction
    "ratio": _Unit("fraction", 1.0, 0.0, ("fraction",)),
    "percent": _Unit("fraction", 0.01, 0.0, ("%", "pct", "per cent")),
}


def _key(spelling: str) -> str:
    return " ".join(spelling.split()).casefold()


def _spellings() -> dict[str, str]:
    table: dict[str, str] = {}
    for name, unit in UNITS.items():
        for spelling in (name, *unit.spellings):
            key = _key(spelling)
            if table.setdefault(key, name) != name:  # pragma: no cover - a table mistake
                raise AssertionError(f"{spelling!r} spells both {table[key]} and {name}")
    return table


_SPELLINGS = _spellings()


def canonical_unit(name: str) -> str:
    """The canonical name of a unit given any accepted spelling (case and spacing ignored).

    >>> canonical_unit("miles"), canonical_unit(" Degrees  Celsius "), canonical_unit("%")
    ('mi', 'C', 'percent')
    >>> canonical_unit("furlong")
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: unknown unit 'furlong'; known units: length: m, km, \
mi, ft, nmi; temperature: C, F, K; speed: m/s, km/h, mph, kn; pressure: Pa, hPa, mbar, \
kPa, inHg; duration: ms, s, min, h; mass: kg, lb; fraction: ratio, percent
    """
    if name in UNITS:  # the usual case: already canonical
        return name
    found = _SPELLINGS.get(_key(name)) if isinstance(name, str) else None
    if found is None:
        raise ConfigError(f"unknown unit {name!r}; known units: {_known()}")
    return found


def unit_kind(name: str) -> UnitKind:
    """What a unit measures: ``"length"``, ``"temperature"``, ``"speed"``, ...

    >>> unit_kind("hPa"), unit_kind("percent")
    ('pressure', 'fraction')
    """
    return UNITS[canonical_unit(name)].kind


def units_of(kind: UnitKind) -> tuple[str, ...]:
    """The canonical names of the units of ``kind``.

    >>> units_of("mass")
    ('kg', 'lb')
    """
    return tuple(name for name, unit in UNITS.items() if unit.kind == kind)


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (affine for temperatures).

    >>> convert(1, "mi", "km"), convert(90, "min", "h"), convert(50, "percent", "ratio")
    (1.609344, 1.5, 0.5)
    >>> convert(-40, "C", "F")
    -40.0
    """
    source, target = canonical_unit(from_unit), canonical_unit(to_unit)
    a, b = UNITS[source], UNITS[target]
    if a.kind != b.kind:
        raise ConfigError(f"cannot convert {source} (a {a.kind}) to {target} (a {b.kind})")
    if source == target:
        return float(value)
    base = (value + a.shift) * a.scale
    return base / b.scale - b.shift


def _known() -> str:
    kinds: dict[str, list[str]] = {}
    for name, unit in UNITS.items():
        kinds.setdefault(unit.kind, []).append(name)
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
