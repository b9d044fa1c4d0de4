"""Transport security without services: the settings and what clients get from them, the
secured stack's configs (Kafka, Redis), its certificates and secrets, and its mode checks."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from driftline.adapters import kafka_clients
from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.kafka_clients import client_options
from driftline.adapters.settings import KafkaSettings, RedisSettings, Settings, StackSettings
from driftline.core.errors import ConfigError, StackError
from driftline.stack import kafka_node
from driftline.stack.certificates import TlsFiles, ensure_tls
from driftline.stack.kafka_node import KafkaNode, KafkaServerSecurity, render_properties
from driftline.stack.local import LocalStack
from driftline.stack.redis_node import RedisTls, redis_command, render_redis_conf
from driftline.stack.secret_files import ensure_secured_secrets

SECURITY = KafkaServerSecurity(
    keystore=Path("/s/tls/kafka-server.p12"),
    keystore_password="Ks-pw-1",
    truststore=Path("/s/tls/ca.crt"),
    broker_user="broker",
    broker_password="Br-pw-2",
    client_user="driftline",
    client_password="Cl-pw-3",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("DRIFTLINE_"):
            monkeypatch.delenv(name)


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


def test_the_sasl_mechanism_and_the_password_source_are_checked() -> None:
    with pytest.raises(ValidationError, match="SCRAM-SHA-512"):
        KafkaSettings(sasl_mechanism="GSSAPI")
    with pytest.raises(ValidationError, match="not both"):
        KafkaSettings(sasl_password="pw", sasl_password_file=Path("pw.txt"))


def test_redis_settings_add_the_password_file_and_tls_files(tmp_path: Path) -> None:
    password = private_file(tmp_path / "redis.pw", "p@ss/word")
    redis = RedisSettings(
        url="rediss://app@cache:6380/0",
        password_file=password,
        ssl_ca_file=Path("/t/ca.crt"),
        ssl_certfile=Path("/t/c.crt"),
        ssl_keyfile=Path("/t/c.key"),
    )
    found = resolve_endpoints(KafkaSettings(bootstrap="k:9093"), redis, lambda: None)
    assert found.redis_url == (
        "rediss://app:p%40ss%2Fword@cache:6380/0?ssl_ca_certs=%2Ft%2Fca.crt"
        "&ssl_certfile=%2Ft%2Fc.crt&ssl_keyfile=%2Ft%2Fc.key"
    )
    assert "p%40ss" not in found.describe() and "app:***@cache" in found.describe()
    with pytest.raises(ConfigError, match="need a rediss:// URL"):
        RedisSettings(ssl_ca_file=Path("/t/ca.crt")).client_url("redis://cache:6379/0")
    loose = RedisSettings(password_file=private_file(tmp_path / "loose", "pw", mode=0o640))
    with pytest.raises(ConfigError, match="DRIFTLINE_REDIS_PASSWORD_FILE .* chmod 600"):
        loose.client_url("rediss://app@cache:6380/0")


def test_a_secured_stack_gives_kafka_clients_its_files(tmp_path: Path) -> None:
    s = Settings(_env_file=None, stack_home=tmp_path, stack_secure=True)
    files = s.stack.client_files
    assert (s.kafka.security_protocol, s.kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (s.kafka.sasl_username, s.kafka.sasl_password_file) == (
        "driftline",
        files.kafka_password,
    )
    assert (s.kafka.ssl_cafile, s.kafka.ssl_certfile) == (files.ca_cert, files.client_cert)
    assert s.with_overrides(partitions=6).kafka == s.kafka.model_copy(update={"partitions": 6})
    assert Settings(_env_file=None).with_overrides(stack_secure=True).kafka.ssl_cafile
    existing = Settings(_env_file=None, stack_secure=True, kafka_bootstrap="k:9092")
    assert existing.kafka.security_protocol == "PLAINTEXT"  # an existing cluster: its own
    shown = json.dumps(s.masked())
    assert str(files.kafka_password) in shown and '"sasl_password": null' in shown


def test_the_stack_and_its_clients_agree_on_the_files(tmp_path: Path) -> None:
    files = StackSettings(home=tmp_path).client_files
    tls = TlsFiles(files.tls_dir)
    assert (tls.ca_cert, tls.client_cert, tls.client_key) == (
        files.ca_cert,
        files.client_cert,
        files.client_key,
    )


# -- the secured stack's configs --------------------------------------------------------------
def test_secured_kafka_properties() -> None:
    node = KafkaNode(1, 9092, 9093, Path("/s/kafka-1"))
    text = render_properties(node, [node], SECURITY)
    lines = dict(line.split("=", 1) for line in text.splitlines()[1:])
    assert lines["listeners"] == "SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert lines["advertised.listeners"] == "SASL_SSL://127.0.0.1:9092"
    assert lines["listener.security.protocol.map"] == "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
    assert lines["inter.broker.listener.name"] == "SASL_SSL"
    assert lines["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert lines["listener.name.sasl_ssl.ssl.client.auth"] == "required"
    assert lines["ssl.keystore.type"] == "PKCS12" and lines["ssl.truststore.type"] == "PEM"
    jaas = lines["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert 'username="broker" password="Br-pw-2"' in jaas
    assert "Cl-pw-3" not in text  # the client's password is only in the storage's metadata
    plain = render_properties(node, [node])
    assert "ssl." not in plain and "sasl" not in plain
    assert "PLAINTEXT://127.0.0.1:9092" in plain
    assert "Ks-pw-1" not in repr(SECURITY) and "Br-pw-2" not in repr(SECURITY)


def test_scram_users_reach_the_storage_tool_in_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = KafkaNode(1, 9092, 9093, tmp_path / "kafka-1")
    node.home.mkdir()
    seen: dict[str, Any] = {}

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        argfile = Path(command[-1].removeprefix("@"))
        seen.update(
            command=command,
            args=argfile.read_text(),
            mode=stat.S_IMODE(argfile.stat().st_mode),
        )
        return subprocess.CompletedProcess(command, 1, "", "bad: Cl-pw-3 Br-pw-2")

    monkeypatch.setattr(kafka_node, "java_binary", lambda: "/usr/bin/java")
    monkeypatch.setattr(kafka_node.subprocess, "run", run)
    with pytest.raises(StackError) as caught:
        kafka_node.format_storage(tmp_path / "libs", node, "cluster-1", SECURITY)
    assert not any("pw" in arg for arg in seen["command"])
    assert seen["command"][-1].startswith("@") and seen["mode"] == 0o600
    assert '"SCRAM-SHA-512=[name=driftline,password=Cl-pw-3]"' in seen["args"]
    assert '"kafka.tools.StorageTool"' in seen["args"]
    assert not (node.home / ".format.args").exists()
    assert "Cl-pw-3" not in str(caught.value) and "Br-pw-2" not in str(caught.value)


def test_secured_redis_conf_and_command() -> None:
    tls = RedisTls(Path("/t/s.crt"), Path("/t/s.key"), Path("/t/ca.crt"), "driftline")
    text = render_redis_conf(port=6390, home=Path("/s/redis"), password="Rd-pw-4", tls=tls)
    lines = text.splitlines()
    assert "port 0" in lines and "tls-port 6390" in lines
    assert "tls-auth-clients yes" in lines and "tls-ca-cert-file /t/ca.crt" in lines
    assert "user default off" in lines
    assert any(line.startswith("user driftline on #") and "-@admin" in line for line in lines)
    assert "Rd-pw-4" not in text and "requirepass" not in text
    assert redis_command(Path("/s/redis.conf"), 6390, tls=True)[-4:] == [
        "--port",
        "0",
        "--tls-port",
        "6390",
    ]
    with pytest.raises(StackError):
        render_redis_conf(port=6390, home=Path("/s"), password=None, tls=tls)


# -- certificates and secrets -----------------------------------------------------------------
def test_certificates_are_made_once_private_and_valid(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    files = ensure_tls(secrets_dir / "tls", "Ks-pw-5")
    assert files.complete()
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for path in files.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert [p.name for p in files.directory.iterdir() if p.name.startswith(".")] == []
    ca = files.ca_cert.read_bytes()
    assert ensure_tls(secrets_dir / "tls", "other").ca_cert.read_bytes() == ca  # kept

    def openssl(*args: str) -> str:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=True)
        return done.stdout

    chain = openssl("verify", "-CAfile", str(files.ca_cert), str(files.server_cert))
    assert "OK" in chain
    assert "OK" in openssl("verify", "-CAfile", str(files.ca_cert), str(files.client_cert))
    server = openssl("x509", "-in", str(files.server_cert), "-noout", "-text")
    assert "IP Address:127.0.0.1" in server and "DNS:localhost" in server
    client = openssl("x509", "-in", str(files.client_cert), "-noout", "-text")
    assert "TLS Web Client Authentication" in client and "CN = driftline" in client
    keystore = openssl(
        "pkcs12", "-in", str(files.server_keystore), "-passin", "pass:Ks-pw-5", "-nokeys"
    )
    assert "CN = localhost" in keystore or "CN=localhost" in keystore


def test_an_incomplete_certificate_folder_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.crt").write_text("half")
    with pytest.raises(StackError, match="incomplete"):
        ensure_tls(tmp_path / "tls", "pw")


def test_secured_secrets_are_made_once_and_never_shown(tmp_path: Path) -> None:
    made = ensure_secured_secrets(tmp_path / "secrets")
    again = ensure_secured_secrets(tmp_path / "secrets")
    assert made == again
    assert len({made.kafka_password, made.broker_password, made.keystore_password}) == 3
    assert made.kafka_password not in repr(made)
    for path in (tmp_path / "secrets").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- the mode belongs to the home -------------------------------------------------------------
def test_a_stack_is_not_restarted_in_the_other_mode(tmp_path: Path) -> None:
    state = {
        "kafka_version": "4.1.1",
        "secure": True,
        "brokers": [{"node_id": 1, "pid": 1, "port": 1, "controller_port": 2, "started": -1}],
    }
    (tmp_path / "stack.json").write_text(json.dumps(state))
    with pytest.raises(StackError, match="was made secured; run 'driftline stack down --purge'"):
        LocalStack(StackSettings(home=tmp_path)).up()
    (tmp_path / "stack.json").write_text(json.dumps(state | {"secure": False}))
    with pytest.raises(StackError, match="was made not secured"):
        LocalStack(StackSettings(home=tmp_path, secure=True)).up()


def test_kafka_timeout_names_the_security(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import KafkaTimeoutError

    from driftline.core.errors import ServiceUnavailable

    def refuse(**_: Any) -> None:
        raise KafkaTimeoutError("Unable to bootstrap")

    config = KafkaSettings(bootstrap="k:9093", security_protocol="SSL")
    with pytest.raises(ServiceUnavailable, match="over SSL .*credentials, certificate or CA"):
        kafka_clients._connect(refuse, config)
