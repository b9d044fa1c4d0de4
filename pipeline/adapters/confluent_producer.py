"""A confluent-kafka producer with the face of a kafka-python one.

:class:`~driftline.producers.publisher.EventPublisher`, the dead-letter publisher and the tick
publisher speak kafka-python: ``send`` returns a future of the record's metadata,
``flush(timeout)`` and ``close(timeout)`` raise a timeout when records stay unanswered,
and a refusal is a :class:`kafka.errors.KafkaError`. :class:`ConfluentProducer` gives
them that on a ``confluent_kafka.Producer``, so both edges reuse them unchanged (it sits
in the adapters because both edges use it). Each record's delivery report (served by
``poll(0)`` after every send, and by ``flush``) settles its :class:`DeliveryFuture`;
librdkafka's errors become the kafka-python error of the same Kafka error code, so a
report counts a failure under the same reason whichever client sent the record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kafka import errors as kafka_errors

__all__ = ["ConfluentProducer", "DeliveryFuture", "RecordMetadata", "kafka_error"]

log = logging.getLogger(__name__)

#: librdkafka's local errors (negative codes) as kafka-python's errors; broker errors
#: (positive codes) are Kafka's own codes, which kafka-python maps itself.
_LOCAL_ERRORS: dict[str, type[kafka_errors.KafkaError]] = {
    "_MSG_TIMED_OUT": kafka_errors.KafkaTimeoutError,
    "_TIMED_OUT": kafka_errors.KafkaTimeoutError,
    "_QUEUE_FULL": kafka_errors.KafkaTimeoutError,
    "_PURGE_QUEUE": kafka_errors.KafkaTimeoutError,
    "_PURGE_INFLIGHT": kafka_errors.KafkaTimeoutError,
    "_UNKNOWN_TOPIC": kafka_errors.UnknownTopicOrPartitionError,
    "_UNKNOWN_PARTITION": kafka_errors.UnknownTopicOrPartitionError,
    "_TRANSPORT": kafka_errors.KafkaConnectionError,
    "_ALL_BROKERS_DOWN": kafka_errors.KafkaConnectionError,
    "_AUTHENTICATION": kafka_errors.SaslAuthenticationFailedError,
}


class LibrdkafkaError(kafka_errors.KafkaError):
    """A librdkafka error with no kafka-python counterpart (its name leads the message)."""


def kafka_error(error: Any) -> kafka_errors.KafkaError:
    """The kafka-python error for a ``confluent_kafka.KafkaError``.

    >>> class Err:  # the three methods of confluent_kafka.KafkaError used here
    ...     def __init__(self, code, name, text):
    ...         self.code, self.name, self.str = lambda: code, lambda: name, lambda: text
    >>> repr(kafka_error(Err(-192, "_MSG_TIMED_OUT", "Local: Message timed out")))
    "KafkaTimeoutError('Local: Message timed out')"
    >>> type(kafka_error(Err(3, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic"))).__name__
    'UnknownTopicOrPartitionError'
    >>> str(kafka_error(Err(-170, "_INVALID_ARG", "Local: Invalid argument")))
    'LibrdkafkaError: _INVALID_ARG: Local: Invalid argument'
    """
    code, name, text = error.code(), error.name(), error.str()
    if code > 0:
        return kafka_errors.for_code(code)(text)
    local = _LOCAL_ERRORS.get(name)
    if local is not None:
        return local(text)
    return LibrdkafkaError(f"{name}: {text}")


class RecordMetadata(NamedTuple):
    """Where an acknowledged record landed (kafka-python's field names)."""

    topic: str
    partition: int
    offset: int
    timestamp: int


class DeliveryFuture:
    """One record's delivery, settled by librdkafka's delivery report (kafka-python's
    ``FutureRecordMetadata`` surface: ``is_done``, ``succeeded()``, ``value``,
    ``exception``, ``add_callback``, ``add_errback``).

    >>> future = DeliveryFuture()
    >>> seen = []
    >>> _ = future.add_callback(seen.append)
    >>> future.is_done, future.succeeded()
    (False, False)
    """

    __slots__ = ("_callbacks", "_errbacks", "exception", "is_done", "value")

    def __init__(self) -> None:
        self.is_done = False
        self.value: RecordMetadata | None = None
        self.exception: kafka_errors.KafkaError | None = None
        self._callbacks: list[Callable[[Any], Any]] = []
        self._errbacks: list[Callable[[Any], Any]] = []

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def add_callback(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> DeliveryFuture:
        """Call ``fn(*args, metadata, **kwargs)`` on success (now, if it already succeeded)."""
        call = (lambda value: fn(*args, value, **kwargs)) if args or kwargs else fn
        if self.is_done:
            if self.exception is None:
                call(self.value)
        else:
            self._callbacks.append(call)
        return self

    def add_errback(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> DeliveryFuture:
        """Call ``fn(*args, error, **kwargs)`` on failure (now, if it already failed)."""
        call = (lambda error: fn(*args, error, **kwargs)) if args or kwargs else fn
        if self.is_done:
            if self.exception is not None:
                call(self.exception)
        else:
            self._errbacks.append(call)
        return self

    def __call__(self, error: Any, message: Any) -> None:
        """confluent-kafka's ``on_delivery(err, msg)``."""
        if error is None:
            self.value = RecordMetadata(
                message.topic(), message.partition(), message.offset(), message.timestamp()[1]
            )
            self.is_done = True
            for callback in self._callbacks:
                callback(self.value)
        else:
            self.exception = kafka_error(error)
            self.is_done = True
            for errback in self._errbacks:
                errback(self.exception)
        self._callbacks = self._errbacks = []


class ConfluentProducer:
    """A ``confluent_kafka.Producer`` behind kafka-python's ``send``/``flush``/``close``.

    ``max_block_ms`` bounds how long :meth:`send` waits for room in librdkafka's local
    queue (kafka-python's ``max_block_ms``), serving delivery reports meanwhile.
    """

    def __init__(self, producer: Any, max_block_ms: int = 60_000) -> None:
        from confluent_kafka import KafkaException

        self._producer = producer
        self._max_block_s = max_block_ms / 1000
        self._kafka_exception = KafkaException
        self._closed = False

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
    ) -> DeliveryFuture:
        """Queue one record; its future settles when Kafka answers (or the delivery
        timeout passes). Raises a :class:`kafka.errors.KafkaError` when refused at once."""
        if self._closed:
            raise kafka_errors.IllegalStateError("cannot send: the producer is closed")
        future = DeliveryFuture()
        deadline: float | None = None
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    partition=-1 if partition is None else partition,
                    on_delivery=future,
                    timestamp=timestamp_ms or 0,
                    headers=headers,
                )
                break
            except BufferError:  # the local queue is full: wait for deliveries
                now = time.monotonic()
                deadline = now + self._max_block_s if deadline is None else deadline
                if now >= deadline:
                    raise kafka_errors.KafkaTimeoutError(
                        f"no room in the producer's queue within {self._max_block_s:g} s"
                    ) from None
                self._producer.poll(0.05)
            except self._kafka_exception as exc:
                raise kafka_error(exc.args[0]) from exc
        self._producer.poll(0)  # serve the delivery reports that arrived meanwhile
        return future

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued record's answer; a timeout if some are still unanswered."""
        remaining = self._producer.flush() if timeout is None else self._producer.flush(timeout)
        if remaining:
            raise kafka_errors.KafkaTimeoutError(
                f"{remaining} record(s) still unanswered after {timeout:g} s"
            )

    def close(self, timeout: float | None = None) -> None:
        """Flush for at most ``timeout`` seconds, then drop what is still unanswered (its
        futures fail) and close; a timeout is raised when records were dropped."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush(timeout)
        except kafka_errors.KafkaTimeoutError:
            self._producer.purge(in_queue=True, in_flight=True)
            self._producer.poll(0)  # the purged records' futures fail now
            raise
        finally:
            self._producer.close()

    def __len__(self) -> int:
        """Records not answered yet."""
        return len(self._producer)
