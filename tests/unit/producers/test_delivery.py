"""DeliveryBounds are valid kafka-python producer settings."""

from __future__ import annotations

import pytest

from driftline.producers.publisher import DeliveryBounds, EventPublisher
from tests.unit.producers.fake_producer import TOPIC, FakeProducer


# -- delivery bounds ------------------------------------------------------------------------------
@pytest.mark.parametrize("request_timeout_ms", [1_000, 5_000, 30_000])
def test_delivery_bounds_are_valid_kafka_python_settings(request_timeout_ms: int) -> None:
    from kafka import KafkaProducer

    bounds = DeliveryBounds(request_timeout_ms)
    options = bounds.producer_options()
    assert set(options) <= set(KafkaProducer.DEFAULT_CONFIG)
    # kafka-python refuses a delivery timeout below linger + request timeout
    assert options["delivery_timeout_ms"] >= request_timeout_ms + bounds.linger_ms
    assert options["max_block_ms"] == request_timeout_ms
    # a flush outlasts the delivery timeout: by then every record has settled
    assert bounds.flush_timeout_s * 1000 > options["delivery_timeout_ms"]
    # and the publisher takes its share of the bounds
    publisher = EventPublisher(FakeProducer(), TOPIC, **bounds.publisher_options())  # type: ignore[arg-type]
    assert publisher.flush().total == 0
