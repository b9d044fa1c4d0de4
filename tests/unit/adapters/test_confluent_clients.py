"""confluent-kafka clients: KafkaSettings as librdkafka properties (TLS, SASL, no secret
shown), the one-line error without the package, and the kafka-python face of the producer
over a fake librdkafka producer (deliveries, refusals, timeouts, purges on close)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from kafka import errors as kafka_errors

from driftline.adapters import confluent_clients
from driftline.adapters.confluent_clients import (
    client_config,
    make_client_producer,
)
from driftline.adapters.confluent_producer import ConfluentProducer, DeliveryFuture, kafka_error
from driftline.adapters.settings import KafkaSettings, Settings
from driftline.consumers import clients
from driftline.core.errors import ConfigError, PublishError, ServiceUnavailable
from driftline.core.events.model import Observation
from driftline.producers.publisher import DeliveryBounds, EventPublisher

SASL_PASSWORD = "Sp4ss-c0nfluent-71"
KEY_PASSWORD = "Kp4ss-c0nfluent-29"
T0 = datetime(2024, 3, 10, 6, 0, tzinfo=UTC)


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


# -- the properties ----------------------------------------------------------------------------
def test_plaintext_properties() -> None:
    properties = client_config(
        KafkaSettings(bootstrap="k1:9092,k2:9092", client_id="me", request_timeout_ms=7_000)
    )
    assert {k: v for k, v in properties.items() if k not in ("logger", "error_cb")} == {
        "bootstrap.servers": "k1:9092,k2:9092",
        "client.id": "me",
        "security.protocol": "PLAINTEXT",
        "socket.timeout.ms": 7_000,
        "socket.connection.setup.timeout.ms": 7_000,
    }
    assert properties["logger"].name == "kafka.librdkafka"


def test_sasl_ssl_properties(tmp_path: Path) -> None:
    ca = private_file(tmp_path / "ca.crt", "ca")
    cert = private_file(tmp_path / "client.crt", "cert")
    key = private_file(tmp_path / "client.key", "key")
    properties = client_config(
        KafkaSettings(
            bootstrap="k1:9093",
            security_protocol="SASL_SSL",
            sasl_mechanism="scram-sha-256",
            sasl_username="app",
            sasl_password=SASL_PASSWORD,
            ssl_cafile=ca,
            ssl_certfile=cert,
            ssl_keyfile=key,
            ssl_password=KEY_PASSWORD,
        )
    )
    assert properties["security.protocol"] == "SASL_SSL"
    assert properties["sasl.mechanism"] == "SCRAM-SHA-256"
    assert (properties["sasl.username"], properties["sasl.password"]) == ("app", SASL_PASSWORD)
    assert properties["ssl.ca.location"] == str(ca)
    assert properties["ssl.certificate.location"] == str(cert)
    assert properties["ssl.key.location"] == str(key)
    assert properties["ssl.key.password"] == KEY_PASSWORD


def test_the_sasl_password_file_is_read_at_use(tmp_path: Path) -> None:
    password = private_file(tmp_path / "kafka.pw", SASL_PASSWORD + "\n")
    kafka = KafkaSettings(
        bootstrap="k:9093",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="app",
        sasl_password_file=password,
    )
    assert client_config(kafka)["sasl.password"] == SASL_PASSWORD
    password.chmod(0o644)
    with pytest.raises(ConfigError, match="may be read by others"):
        client_config(kafka)


def test_no_tls_property_without_tls() -> None:
    properties = client_config(KafkaSettings(bootstrap="k:9092"))
    assert not [name for name in properties if name.startswith(("ssl.", "sasl."))]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bootstrap": None}, "no Kafka bootstrap servers"),
        ({"ssl_cafile": "ca.crt"}, "SECURITY_PROTOCOL is PLAINTEXT"),
        ({"security_protocol": "SSL", "ssl_cafile": "missing.crt"}, "no such file"),
    ],
)
def test_settings_are_checked_as_for_kafka_python(changes: dict[str, Any], message: str) -> None:
    kafka = KafkaSettings(**({"bootstrap": "k:9092"} | changes))
    with pytest.raises((ConfigError, ServiceUnavailable), match=message):
        client_config(kafka)


def test_no_broker_is_one_line_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    kafka = KafkaSettings(
        bootstrap="127.0.0.1:9",  # the discard port: nothing answers
        client="confluent",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="app",
        sasl_password=SASL_PASSWORD,
        request_timeout_ms=1_000,
    )
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ServiceUnavailable) as caught:
        make_client_producer(kafka)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("no Kafka broker answered at 127.0.0.1:9 over SASL_PLAINTEXT")
    assert SASL_PASSWORD not in text and SASL_PASSWORD not in caplog.text
    assert SASL_PASSWORD not in str(Settings(_env_file=None, kafka=kafka).masked())


# -- without the package -----------------------------------------------------------------------
def test_choosing_confluent_without_the_package_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # import fails
    settings = Settings(_env_file=None, kafka_bootstrap="k:9092", kafka_client="confluent")
    expected = (
        "DRIFTLINE_KAFKA_CLIENT=confluent needs confluent-kafka: pip install 'driftline[fast]'"
    )
    for make in (
        lambda: make_client_producer(settings.kafka),
        lambda: clients.make_worker_producer(settings.kafka),
        lambda: confluent_clients.make_confluent_consumer(settings.kafka, {}),
    ):
        with pytest.raises(ConfigError) as caught:
            make()
        assert str(caught.value) == expected


def test_kafka_python_stays_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(confluent_clients, "make_producer", lambda c, **o: made.append(o))
    make_client_producer(KafkaSettings(bootstrap="k:9092"), linger_ms=7)
    assert made == [{"linger_ms": 7}]


def test_kafka_python_options_become_librdkafka_properties(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[tuple[dict[str, Any], int | None]] = []

    def fake(config: KafkaSettings, properties: Any, *, max_block_ms: int | None) -> None:
        made.append((properties, max_block_ms))

    monkeypatch.setattr(confluent_clients, "make_confluent_producer", fake)
    kafka = KafkaSettings(bootstrap="k:9092", client="confluent")
    make_client_producer(kafka, **DeliveryBounds(request_timeout_ms=4_000).producer_options())
    assert made == [({"delivery.timeout.ms": 8_000}, 4_000)]


# -- the producer's kafka-python face ----------------------------------------------------------
class Message:
    """What a delivery report carries."""

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self._where = (topic, partition, offset)

    def topic(self) -> str:
        return self._where[0]

    def partition(self) -> int:
        return self._where[1]

    def offset(self) -> int:
        return self._where[2]

    def timestamp(self) -> tuple[int, int]:
        return (2, 1_700_000_000_000)


class FakeLibrdkafka:
    """confluent_kafka.Producer as the adapter uses it: a delivery report per record,
    served by poll/flush; ``verdict(record)`` says a partition or a KafkaError (``None``:
    no answer); ``full`` sends raise BufferError first."""

    def __init__(self, verdict: Callable[[dict[str, Any]], Any], full: int = 0) -> None:
        self.verdict = verdict
        self.full = full
        self.queue: list[dict[str, Any]] = []
        self.produced: list[dict[str, Any]] = []
        self.offsets: dict[int, int] = {}
        self.purged = self.closed = False
        self.refuse: KafkaError | None = None

    def produce(self, topic: str, **record: Any) -> None:
        if self.full:
            self.full -= 1
            raise BufferError("Local: Queue full")
        if self.refuse is not None:
            raise KafkaException(self.refuse)
        record["topic"] = topic
        self.produced.append(record)
        self.queue.append(record)

    def poll(self, timeout: float = 0) -> int:
        served, waiting = 0, []
        for record in self.queue:
            answer = self.verdict(record)
            if answer is None:
                waiting.append(record)
                continue
            if isinstance(answer, KafkaError):
                record["on_delivery"](answer, None)
            else:
                offset = self.offsets.get(answer, 0)
                self.offsets[answer] = offset + 1
                record["on_delivery"](None, Message(record["topic"], answer, offset))
            served += 1
        self.queue = waiting
        return served

    def flush(self, timeout: float = -1) -> int:
        self.poll()
        return len(self.queue)

    def purge(self, in_queue: bool = True, in_flight: bool = True) -> None:
        self.purged = True
        for record in self.queue:
            record["on_delivery"](KafkaError(KafkaError._PURGE_QUEUE), None)
        self.queue = []

    def close(self) -> None:
        self.closed = True

    def __len__(self) -> int:
        return len(self.queue)


def obs(i: int, key: str = "EWR") -> Observation:
    return Observation(event_id=f"e{i}", key=key, event_time=T0, features={"i": i})


def test_send_passes_the_record_and_settles_its_future() -> None:
    fake = FakeLibrdkafka(lambda record: 2)
    producer = ConfluentProducer(fake)
    heard: list[Any] = []
    future = producer.send("t", value=b"v", key=b"k", headers=[("h", b"1")], timestamp_ms=5)
    future.add_callback(heard.append)
    record = fake.produced[0]
    assert (record["value"], record["key"], record["headers"]) == (b"v", b"k", [("h", b"1")])
    assert (record["partition"], record["timestamp"]) == (-1, 5)
    assert future.succeeded() and heard == [future.value]
    assert (future.value.partition, future.value.offset) == (2, 0)
    tick = producer.send("t", value=b"tick", partition=1)
    assert fake.produced[1]["partition"] == 1 and tick.is_done


def test_a_failed_delivery_is_kafka_pythons_error() -> None:
    producer = ConfluentProducer(FakeLibrdkafka(lambda r: KafkaError(KafkaError._MSG_TIMED_OUT)))
    future = producer.send("t", value=b"v")
    errors: list[BaseException] = []
    future.add_errback(errors.append)
    assert future.failed() and not future.succeeded()
    assert isinstance(future.exception, kafka_errors.KafkaTimeoutError)
    assert errors == [future.exception]


def test_broker_errors_keep_their_kafka_code() -> None:
    error = kafka_error(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS))
    assert isinstance(error, kafka_errors.NotEnoughReplicasError)


def test_a_full_queue_waits_then_times_out() -> None:
    fake = FakeLibrdkafka(lambda r: 0, full=2)
    assert ConfluentProducer(fake, max_block_ms=1_000).send("t", value=b"v").succeeded()
    fake.full = 10**9
    with pytest.raises(kafka_errors.KafkaTimeoutError, match="no room"):
        ConfluentProducer(fake, max_block_ms=100).send("t", value=b"v")


def test_a_refused_record_raises_kafka_pythons_error() -> None:
    fake = FakeLibrdkafka(lambda r: 0)
    fake.refuse = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    with pytest.raises(kafka_errors.MessageSizeTooLargeError):
        ConfluentProducer(fake).send("t", value=b"v")


def test_flush_and_close_time_out_on_unanswered_records_and_purge_them() -> None:
    fake = FakeLibrdkafka(lambda r: None)
    producer = ConfluentProducer(fake)
    future = producer.send("t", value=b"v")
    with pytest.raises(kafka_errors.KafkaTimeoutError, match="1 record"):
        producer.flush(timeout=0.1)
    assert not future.is_done and len(producer) == 1
    with pytest.raises(kafka_errors.KafkaTimeoutError):
        producer.close(timeout=0.1)
    assert fake.purged and fake.closed
    assert isinstance(future.exception, kafka_errors.KafkaTimeoutError)
    producer.close(timeout=0.1)  # once closed, closing again does nothing
    with pytest.raises(kafka_errors.IllegalStateError):
        producer.send("t", value=b"v")


def test_the_publisher_reports_acknowledged_and_failed_records_over_it() -> None:
    def verdict(record: dict[str, Any]) -> Any:
        if record["key"] == b"JFK":
            return KafkaError(KafkaError._MSG_TIMED_OUT, "Local: Message timed out")
        return sum(record["key"]) % 3

    fake = FakeLibrdkafka(verdict)
    publisher = EventPublisher(ConfluentProducer(fake), "demo.events")
    for i in range(4):
        publisher.publish(obs(i))
    with pytest.raises(PublishError) as caught:
        publisher.publish(obs(9, key="JFK"))
    partition = sum(b"EWR") % 3
    assert str(caught.value) == (
        f"publishing to demo.events failed: 4 record(s) acknowledged (partition {partition}: 4), "
        "1 failed (1 KafkaTimeoutError: Local: Message timed out)"
    )
    assert caught.value.failed == 1


def test_delivery_future_callbacks_added_late_run_at_once() -> None:
    future = DeliveryFuture()
    future(None, Message("t", 1, 7))
    seen: list[Any] = []
    future.add_callback(lambda tag, value: seen.append((tag, value.offset)), "late")
    future.add_errback(seen.append)
    assert seen == [("late", 7)]
