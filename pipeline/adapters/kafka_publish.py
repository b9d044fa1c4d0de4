"""What the event publisher needs of kafka-python besides its producer's own methods: the
error family that a send, a flush or a close raises, and the force close of a producer that
cannot finish closing.

:class:`~driftline.adapters.confluent_producer.ConfluentProducer` raises the same errors
(librdkafka's, translated), so one ``except ProducerError`` serves both clients.

>>> from kafka.errors import KafkaTimeoutError
>>> issubclass(KafkaTimeoutError, ProducerError)
True
"""

from __future__ import annotations

import logging
from typing import Any

from kafka.errors import KafkaError

__all__ = ["ProducerError", "abort_and_close"]

log = logging.getLogger(__name__)

#: The root of what a producer raises when Kafka refuses a record or does not answer.
ProducerError = KafkaError


def abort_and_close(producer: Any) -> None:
    """Abort kafka-python's pending batches, then close the producer for good.

    Its ``close`` gives up when its own flush times out, leaving the I/O thread running and
    ``__del__`` to try again at interpreter exit, with a traceback on standard error. A
    record can stay pending for ever: an idempotent producer whose producer id request
    cannot be answered (no controller quorum) never expires its batches. Force-closing the
    sender fails those batches, after which ``close`` completes. A producer without
    kafka-python's sender thread is left as it is.
    """
    sender = getattr(producer, "_sender", None)  # kafka-python's I/O thread
    if sender is None:
        return
    sender.force_close()
    sender.join(timeout=5)
    try:
        producer.close(timeout=0)
    except KafkaError as exc:
        log.debug("the Kafka producer could not be closed: %s", exc)
