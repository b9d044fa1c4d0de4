"""Send records and wait until Kafka acknowledged every one, or say how many it did not."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka.errors import KafkaError

from driftline.core.errors import PublishError

__all__ = ["send_acknowledged"]


def send_acknowledged(producer: Any, sends: Iterable[dict[str, Any]], what: str) -> list[Any]:
    """``producer.send(**each)``, one flush, then the futures, every one acknowledged.

    Raises :class:`PublishError` naming ``what`` if sending failed or any record was not
    acknowledged (a retry may send some twice). A producer that can be renewed
    (:class:`~driftline.adapters.kafka.renewing.RenewingProducer`) is, before the error is
    raised: the retry goes out on a new one.
    """
    futures = []
    try:
        for send in sends:
            futures.append(producer.send(**send))
        producer.flush(timeout=60)
    except KafkaError as exc:
        _renew(producer)
        raise PublishError(f"{what} not published: {exc}", len(futures), exc) from exc
    failed = [f for f in futures if not f.succeeded()]
    if failed:
        _renew(producer)
        raise PublishError(
            f"{len(failed)} {what} not acknowledged", len(failed), failed[0].exception
        )
    return futures


def _renew(producer: Any) -> None:
    renew = getattr(producer, "renew", None)
    if renew is not None:
        renew()
