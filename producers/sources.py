"""What a source gives the publisher: observations, each with its outcome when one exists.

A source is any iterable of :class:`LabelledEvent`; it says *what* happened and *when*
(event times). *When it reaches Kafka* (arrival delay, order, pace) is the replay's job
(:mod:`driftline.producers.replay`), so every source gets the same timeliness treatment.

>>> from driftline.core.events.model import Observation
>>> obs = Observation(event_id="1", key="k", event_time="2024-01-01T00:00:00Z", features={})
>>> LabelledEvent(obs, None).outcome is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

from driftline.core.events.model import Observation, Outcome

__all__ = ["LabelledEvent"]


@dataclass(frozen=True, slots=True)
class LabelledEvent:
    """An observation and the outcome that resolves it (``None``: never resolved)."""

    observation: Observation
    outcome: Outcome | None
