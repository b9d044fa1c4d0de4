"""The flights demo's settings: how fast it replays the year, how late events come, and the
worker settings it runs with (``driftline demo``; the app wires them).

>>> options = DemoOptions(limit=1000)
>>> round(options.flight_day_s, 6), round(options.delay_max_s, 6)
(0.328767, 0.013699)
>>> settings = demo_settings(Settings(_env_file=None), options)
>>> settings.model.cost_false_negative, sorted(settings.model.challengers)
(5.0, ['fast'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from driftline.adapters.settings import Settings
from driftline.producers.flights.keys import KeyBy

__all__ = [
    "DEFAULT_SPEED",
    "DEMO_CHALLENGERS",
    "DEMO_KEY_BY",
    "INJECT_SPEED",
    "DemoOptions",
    "demo_settings",
]

#: A year of flights in about two minutes.
DEFAULT_SPEED = 365 * 24 * 3600 / 120
#: With faults injected, a year in four: the worker is the slower side either way (about
#: five minutes for the year), and a producer at half the pace leaves it more of the CPU.
INJECT_SPEED = DEFAULT_SPEED / 2

#: The demo keys its events by aircraft (tail number), so Redis holds each plane's latest
#: prediction.
DEMO_KEY_BY: KeyBy = "tailnum"

#: The demo's challenger: the default model, learning four times faster (it adapts
#: sooner to a change, at the price of noisier weights).
DEMO_CHALLENGERS = {
    "fast": (
        "(compose.SelectType(float, int) | preprocessing.StandardScaler())"
        " + (compose.SelectType(str) | preprocessing.OneHotEncoder())"
        " | linear_model.LogisticRegression(optimizer=optim.SGD(0.02))"
    )
}


@dataclass(frozen=True)
class DemoOptions:
    limit: int | None = None
    speed: float = DEFAULT_SPEED
    #: How late events reach Kafka, in flight time: a few minutes on average, at most an
    #: hour (on the warped clock: these divided by ``speed``). Delays of days would have the
    #: demo predict flights long after they landed.
    delay_mean_world_s: float = 10 * 60.0
    delay_max_world_s: float = 3600.0
    pending_ttl_world_s: float = 2 * 24 * 3600.0
    live: bool = True
    #: The data contract the worker applies (a file or a built-in name; ``None``: none).
    contract: str | None = "flights"
    #: Faults to inject (``"all=0.01"``, see :mod:`driftline.producers.faults`), their seed
    #: (default: the settings' seed) and where the ground truth goes.
    inject: str | None = None
    inject_seed: int | None = None
    ground_truth: Path | None = None

    @property
    def delay_mean_s(self) -> float:
        """The mean arrival delay on the warped clock (what the producer draws)."""
        return self.delay_mean_world_s / self.speed

    @property
    def delay_max_s(self) -> float:
        return self.delay_max_world_s / self.speed

    @property
    def flight_day_s(self) -> float:
        """A day of flight time on the warped clock, in whole microseconds (so a week is
        exactly seven of them, and the producer can start the clock on a week's edge)."""
        return round(24 * 3600 * 1_000_000 / self.speed) / 1_000_000


def demo_settings(settings: Settings, options: DemoOptions) -> Settings:
    """The worker settings the demo runs with, and why (each override is the replay's)."""
    return settings.with_overrides(
        # Event times are warped onto the wall clock, so their calendar is not the world's;
        # the flights carry their local schedule (hour, weekday, month) as features.
        calendar_features=False,
        # Keyed by aircraft: the plane's own recent outcomes (a late plane stays late), and
        # those of its origin, carrier, route and destination, each as learned so far.
        history_groups=("key", "origin", "carrier", "route", "dest"),
        # A prediction waits two days of flight time for its label, on the warped clock.
        pending_ttl_s=options.pending_ttl_world_s / options.speed,
        # A missed delay costs five times a false alarm (Machine Learning Design Patterns,
        # ch. 1): the decision follows the costs, with its threshold tuned as labels come.
        cost_false_negative=5.0,
        cost_false_positive=1.0,
        # A challenger learns the same stream; the better one over 5,000 labels serves.
        challengers=dict(DEMO_CHALLENGERS),
        promote_window=5000,
        promote_margin=0.05,
        # The late share compared between the same windows (a detector on the 0/1 stream
        # alarmed at every stormy day: 505 times in the year).
        drift_labels="PSI",
        # Feature shares compared over windows of 5,000 observations (two weeks of a
        # partition's flights): weekday and weather cycles shorter than that average out.
        drift_category_window=5000,
        # Scores per flight day and flight week, on the warped clock.
        metric_windows_s=(options.flight_day_s, 7 * options.flight_day_s),
        # Arrivals are up to delay_max late: the watermark waits that long (a contract
        # that says how late the stream may be overrides it).
        allowed_lateness_s=options.delay_max_s,
        # The flights' data contract (pipeline/contracts/flights.toml), its durations in
        # flight time on the warped clock (two hours of lateness are 27 ms of it): the
        # events topic keeps each record's scheduled arrival (kafka_timestamps="replay"),
        # so lateness is the replayed delay, exact however busy the machine is.
        contract=options.contract,
        contract_time_scale=options.speed,
        kafka_timestamps="replay",
        # With faults injected, the quality log keeps every finding for the report.
        quality_log_maxlen=2_000_000 if options.inject else None,
    )
