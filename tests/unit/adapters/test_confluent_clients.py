"""confluent-kafka clients: KafkaSettings as librdkafka properties (TLS, SASL, no secret
shown), the one-line error without the package, and kafka-python as the default."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters import confluent_clients
from driftline.adapters.confluent_clients import client_config, make_client_producer
from driftline.adapters.settings import KafkaSettings, Settings
from driftline.consumers import clients
from driftline.core.errors import ConfigError, ServiceUnavailable
from driftline.producers.publisher import DeliveryBounds

SASL_PASSWORD = "Sp4ss-c0nfluent-71"
KEY_PASSWORD = "Kp4ss-c0nfluent-29"


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
