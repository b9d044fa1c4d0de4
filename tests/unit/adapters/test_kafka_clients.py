"""kafka-python clients from the settings: TLS files and the password file (owner-only)
passed on, a timeout that names the security in use, and a client that fails to
start leaves no thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from driftline.adapters import kafka_clients
from driftline.adapters.kafka_clients import (
    client_options,
    make_admin,
    make_consumer,
    make_producer,
)
from driftline.adapters.settings import KafkaSettings
from driftline.core.errors import ConfigError, ServiceUnavailable


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# -- settings -> clients ----------------------------------------------------------------------
def test_kafka_clients_get_the_tls_files_and_the_password_file(tmp_path: Path) -> None:
    ca, cert, key = (private_file(tmp_path / n, "pem") for n in ("ca.crt", "c.crt", "c.key"))
    password = private_file(tmp_path / "kafka.pw", "s3cret\n")
    config = KafkaSettings(
        bootstrap="k1:9093,k2:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="scram-sha-256",
        sasl_username="app",
        sasl_password_file=password,
        ssl_cafile=ca,
        ssl_certfile=cert,
        ssl_keyfile=key,
        ssl_password="keypw",
    )
    options = client_options(config)
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "app"
    assert options["sasl_plain_password"] == "s3cret"  # read at use, whitespace dropped
    assert (options["ssl_cafile"], options["ssl_certfile"]) == (str(ca), str(cert))
    assert (options["ssl_keyfile"], options["ssl_password"]) == (str(key), "keypw")
    password.write_text("rotated")  # read again at the next use
    assert client_options(config)["sasl_plain_password"] == "rotated"


def test_a_password_file_others_may_read_is_refused(tmp_path: Path) -> None:
    password = private_file(tmp_path / "kafka.pw", "s3cret-text", mode=0o644)
    config = KafkaSettings(
        bootstrap="k:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="PLAIN",
        sasl_username="app",
        sasl_password_file=password,
    )
    with pytest.raises(ConfigError, match="chmod 600") as caught:
        client_options(config)
    assert "s3cret-text" not in str(caught.value)
    with pytest.raises(ConfigError, match="No such file"):
        client_options(config.model_copy(update={"sasl_password_file": tmp_path / "none"}))


def test_tls_files_need_a_tls_protocol_and_must_exist(tmp_path: Path) -> None:
    ca = private_file(tmp_path / "ca.crt", "pem")
    with pytest.raises(ConfigError, match="DRIFTLINE_KAFKA_SSL_CAFILE is set but"):
        client_options(KafkaSettings(bootstrap="k:9092", ssl_cafile=ca))
    missing = KafkaSettings(bootstrap="k:9093", security_protocol="SSL", ssl_cafile=tmp_path / "x")
    with pytest.raises(ConfigError, match="DRIFTLINE_KAFKA_SSL_CAFILE .*no such file"):
        client_options(missing)


def test_kafka_timeout_names_the_security(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import KafkaTimeoutError

    from driftline.core.errors import ServiceUnavailable

    def refuse(**_: Any) -> None:
        raise KafkaTimeoutError("Unable to bootstrap")

    config = KafkaSettings(bootstrap="k:9093", security_protocol="SSL")
    with pytest.raises(ServiceUnavailable, match="over SSL .*credentials, certificate or CA"):
        kafka_clients._connect(refuse, config)


@pytest.mark.parametrize("make", [make_admin, make_consumer, make_producer])
def test_a_client_that_cannot_bootstrap_leaves_no_thread(make: Any) -> None:
    config = KafkaSettings(bootstrap="127.0.0.1:1", client_id="leak", request_timeout_ms=1000)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(ServiceUnavailable):
        make(config)
    left = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == []
