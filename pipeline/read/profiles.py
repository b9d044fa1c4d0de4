"""Profiles of event-time windows of a topic's observations, for ``driftline validate``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from driftline.adapters.kafka_reads import KafkaConsumer
from driftline.core.events.model import Observation
from driftline.core.quality.validation import Profile
from driftline.read.tail import read_events

__all__ = ["window_profiles"]


def window_profiles(
    consumer: KafkaConsumer, topic: str, windows: Sequence[tuple[datetime, datetime]]
) -> list[Profile]:
    """One :class:`Profile` per ``[start, end)`` window of event time, from every
    observation in ``topic`` (read from the beginning to the end, once). Outcomes, ticks,
    control commands and undecodable records are not features: they are passed over."""
    profiles = [Profile() for _ in windows]
    for record in read_events(consumer, topic, last=None):
        event = record.event
        if not isinstance(event, Observation):
            continue
        for (start, end), profile in zip(windows, profiles, strict=True):
            if start <= event.event_time < end:
                profile.add(event.features)
    return profiles
