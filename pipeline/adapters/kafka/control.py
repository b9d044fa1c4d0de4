"""Control commands written into the events topic (:mod:`driftline.core.events.control`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka.errors import KafkaError

from driftline.core.errors import PublishError
from driftline.core.events.codec import KIND_HEADER, EventCodec
from driftline.core.events.control import ControlCommand

__all__ = ["send_control"]


def send_control(
    producer: Any,
    topic: str,
    command: ControlCommand,
    partitions: Iterable[int],
    codec: EventCodec | None = None,
) -> dict[int, int]:
    """Append ``command`` to each of ``partitions``; return the offset it got in each.

    The tasks obey it when they read it, in offset order with the events: whichever
    worker holds a partition, and again at the same point on a replay. ``codec`` gives the
    schema ids (the registry's, when one is configured).
    """
    value = (codec or EventCodec()).encode_control(command)
    futures = {}
    try:
        for partition in partitions:
            futures[partition] = producer.send(
                topic, value=value, partition=partition, headers=[(KIND_HEADER, b"control")]
            )
        producer.flush(timeout=30)
    except KafkaError as exc:
        raise PublishError(f"control command not written: {exc}", len(futures), exc) from exc
    offsets = {}
    for partition, future in futures.items():
        if not future.succeeded():
            raise PublishError(
                f"control command not acknowledged by partition {partition}",
                1,
                future.exception,
            )
        offsets[partition] = future.value.offset
    return offsets
