"""driftline.adapters.kafka.acks: every record acknowledged, or a PublishError saying how many
were not."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from driftline.adapters.kafka.acks import send_acknowledged
from driftline.core.errors import PublishError


class Future:
    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.exception = None if ok else KafkaTimeoutError("no ack")

    def succeeded(self) -> bool:
        return self.ok


class Producer:
    def __init__(self, acks: list[bool], fail_on_flush: bool = False) -> None:
        self.acks = acks
        self.sent: list[dict[str, Any]] = []
        self.fail_on_flush = fail_on_flush

    def send(self, **record: Any) -> Future:
        self.sent.append(record)
        return Future(self.acks[len(self.sent) - 1])

    def flush(self, timeout: float) -> None:
        if self.fail_on_flush:
            raise KafkaTimeoutError("flush timed out")


def test_all_acknowledged_returns_the_futures_in_order() -> None:
    producer = Producer([True, True])
    futures = send_acknowledged(producer, [{"topic": "t", "value": b"a"}, {"topic": "t"}], "x")
    assert len(futures) == 2 and producer.sent[0] == {"topic": "t", "value": b"a"}


def test_a_missing_ack_or_a_failed_flush_is_a_publish_error() -> None:
    with pytest.raises(PublishError, match="1 alert\\(s\\) not acknowledged") as caught:
        send_acknowledged(Producer([True, False]), [{"topic": "t"}, {"topic": "t"}], "alert(s)")
    assert caught.value.failed == 1
    with pytest.raises(PublishError, match="dead letter\\(s\\) not published"):
        send_acknowledged(Producer([True], fail_on_flush=True), [{"topic": "t"}], "dead letter(s)")


def test_a_failed_publish_renews_a_renewing_producer_and_the_retry_uses_the_new_one() -> None:
    from driftline.adapters.kafka.renewing import RenewingProducer

    made = [Producer([False]), Producer([True])]  # the first never acknowledges
    renewing = RenewingProducer(lambda: made.pop(0))
    with pytest.raises(PublishError):
        send_acknowledged(renewing, [{"topic": "t"}], "alert(s)")
    assert renewing.renewals == 1
    assert len(send_acknowledged(renewing, [{"topic": "t"}], "alert(s)")) == 1
    assert renewing.renewals == 1  # a publish that succeeds keeps its producer
