"""A secured local stack (``driftline stack up --secure``): Kafka over SASL_SSL with SCRAM and
client certificates, Redis on TLS only with an ACL user, every certificate and password made
by the stack; what has no credentials, the wrong ones or does not trust the CA is refused,
and nothing the commands print or the stack records shows a secret.

One secured stack (real Kafka and Redis processes) runs in a temporary home for the module.
"""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.kafka_clients import admin_client
from driftline.adapters.settings import KafkaSettings, Settings, StackSettings
from driftline.core.errors import ServiceUnavailable
from driftline.stack import LocalStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, services: Endpoints) -> Iterator[LocalStack]:
    if services.source != "local-stack":
        pytest.skip("the local stack is not what this run uses (existing cluster or Docker)")
    home = tmp_path_factory.mktemp("secured") / "stack"
    stack = LocalStack(StackSettings(home=home, secure=True, kafka_heap="384m"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down(purge=True)


@pytest.fixture(scope="module")
def endpoints(secured: LocalStack) -> Endpoints:
    found = secured.endpoints()
    assert found is not None, secured.status().describe()
    return found


def driftline(home: Path, *args: str, secure: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTLINE_")}
    env |= {"DRIFTLINE_STACK_HOME": str(home), "COLUMNS": "200"}
    if secure:
        env["DRIFTLINE_STACK_SECURE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "driftline", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def secured_kafka(stack: LocalStack, endpoints: Endpoints, **changes: Any) -> KafkaSettings:
    """The settings a client of the secured stack gets, with ``changes``, failing fast."""
    base = Settings(_env_file=None, stack_home=stack.home, stack_secure=True).kafka
    update = {"bootstrap": endpoints.bootstrap, "request_timeout_ms": 3000} | changes
    return KafkaSettings.model_validate(base.model_dump() | update)


def kafka_answers(config: KafkaSettings) -> bool:
    try:
        with admin_client(config) as admin:
            admin.describe_cluster()
    except ServiceUnavailable:
        return False
    return True


def redis_url(endpoints: Endpoints, edit: Callable[[dict[str, str]], None] | None = None) -> str:
    """The stack's Redis URL, its TLS query parameters edited by ``edit``."""
    parts = urlsplit(endpoints.redis_url)
    query = dict(item.split("=", 1) for item in parts.query.split("&"))
    if edit is not None:
        edit(query)
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()


def redis_refuses(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, ssl.SSLError, OSError):
        return True
    finally:
        client.close()
    return False


def with_netloc(url: str, netloc: str) -> str:
    return urlsplit(url)._replace(netloc=netloc).geturl()


# -- it works for its own clients -------------------------------------------------------------
def test_publish_and_consume_over_sasl_ssl(secured: LocalStack, endpoints: Endpoints) -> None:
    produced = driftline(secured.home, "produce", "flights", "--limit", "100", "-n", "sec1")
    assert produced.returncode == 0, produced.stderr[-2000:]
    consumed = driftline(secured.home, "consume", "--until-idle", "3", "--json", "-n", "sec1")
    assert consumed.returncode == 0, consumed.stderr[-2000:]
    summary = json.loads(consumed.stdout.strip().splitlines()[-1])
    assert summary["records"] >= 100 and summary["predictions"] > 0, summary
    client = redis.Redis.from_url(endpoints.redis_url)
    try:
        assert any(True for _ in client.scan_iter(match="sec1:*", count=1000))
    finally:
        client.close()


def test_the_stack_records_what_it_is(secured: LocalStack, endpoints: Endpoints) -> None:
    status = secured.status()
    assert status.running and status.secure
    assert endpoints.redis_url.startswith("rediss://driftline:")
    assert status.redis_url is not None and status.redis_url.startswith("rediss://driftline@")
    assert kafka_answers(secured_kafka(secured, endpoints))


# -- Kafka refuses the others -----------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {
                "security_protocol": "PLAINTEXT",
                "sasl_mechanism": None,
                "sasl_password_file": None,
                "ssl_cafile": None,
                "ssl_certfile": None,
                "ssl_keyfile": None,
            },
            id="plaintext",
        ),
        pytest.param(
            {
                "security_protocol": "SASL_PLAINTEXT",
                "ssl_cafile": None,
                "ssl_certfile": None,
                "ssl_keyfile": None,
            },
            id="sasl-without-tls",
        ),
        pytest.param(
            {"security_protocol": "SSL", "sasl_mechanism": None, "sasl_password_file": None},
            id="tls-without-sasl-credentials",
        ),
        pytest.param(
            {"sasl_password_file": None, "sasl_password": "not-the-password"},
            id="wrong-password",
        ),
        pytest.param({"sasl_username": "broker2"}, id="unknown-user"),
        pytest.param({"ssl_cafile": None}, id="without-the-ca"),
        pytest.param({"ssl_certfile": None, "ssl_keyfile": None}, id="without-client-cert"),
    ],
)
def test_kafka_refuses_a_client_without_the_right_credentials(
    secured: LocalStack, endpoints: Endpoints, changes: dict[str, Any]
) -> None:
    config = secured_kafka(secured, endpoints, **changes)
    assert not kafka_answers(config)


def test_a_plain_client_is_told_the_stack_is_secured(secured: LocalStack) -> None:
    done = driftline(secured.home, "topics", "create", "-n", "sec2", secure=False)
    assert done.returncode != 0
    assert "DRIFTLINE_STACK_SECURE=1" in done.stderr


# -- Redis refuses the others -----------------------------------------------------------------
def test_redis_answers_its_user(endpoints: Endpoints) -> None:
    assert not redis_refuses(endpoints.redis_url)


def test_redis_refuses_a_client_without_the_right_credentials(endpoints: Endpoints) -> None:
    url = endpoints.redis_url
    host = urlsplit(url).netloc.rpartition("@")[2]
    password = urlsplit(url).password or ""
    assert redis_refuses(with_netloc(url, host)), "no user, no password"
    assert redis_refuses(with_netloc(url, f"driftline:wrong@{host}")), "wrong password"
    assert redis_refuses(with_netloc(url, f":{password}@{host}")), "default user is off"
    assert redis_refuses(with_netloc(url, f"default:{password}@{host}")), "default user is off"
    assert redis_refuses(redis_url(endpoints, lambda q: q.pop("ssl_ca_certs"))), "no CA"
    no_cert = redis_url(endpoints, lambda q: [q.pop("ssl_certfile"), q.pop("ssl_keyfile")])
    assert redis_refuses(no_cert), "no client certificate"


def test_redis_has_no_plaintext_port(secured: LocalStack, endpoints: Endpoints) -> None:
    url = endpoints.redis_url
    parts = urlsplit(url)
    plain = f"redis://driftline:{parts.password}@{parts.netloc.rpartition('@')[2]}/0"
    assert redis_refuses(plain), "plaintext on the TLS port"
    conf = (secured.home / "redis" / "redis.conf").read_text()
    assert "\nport 0\n" in conf and "tls-port" in conf
    assert parts.password is not None and parts.password not in conf


# -- no secret is shown -----------------------------------------------------------------------
def secret_texts(home: Path) -> list[str]:
    """Every password and private key the stack made (each key's base64 body lines)."""
    secrets_dir = home / "secrets"
    texts = [path.read_text().strip() for path in secrets_dir.glob("*.password")]
    texts.append((secrets_dir / "checkpoint.key").read_text().strip())
    for key in (secrets_dir / "tls").glob("*.key"):
        texts += [line for line in key.read_text().splitlines() if "-----" not in line]
    assert len(texts) >= 6
    return texts


def test_status_and_config_show_no_secret(secured: LocalStack) -> None:
    outputs = []
    for args in (
        ("stack", "status"),
        ("stack", "status", "--json"),
        ("config",),
        ("-v", "config"),
        ("-v", "consume", "--until-idle", "1", "-n", "sec1"),  # logs its effective config
    ):
        done = driftline(secured.home, *args)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout + done.stderr)
    shown = "\n".join(outputs)
    config = json.loads(outputs[2].strip().splitlines()[-1])
    assert config["kafka"]["security_protocol"] == "SASL_SSL"
    assert config["kafka"]["sasl_password_file"].endswith("secrets/kafka.password")
    recorded = (secured.home / "stack.json").read_text()
    for secret in secret_texts(secured.home):
        assert secret not in shown
        assert secret not in recorded


def test_secrets_are_owner_only(secured: LocalStack) -> None:
    secrets_dir = secured.home / "secrets"
    for path in [secrets_dir, *secrets_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    for properties in secured.home.glob("kafka-*/server.properties"):  # holds passwords
        assert stat.S_IMODE(properties.stat().st_mode) == 0o600


def test_up_again_keeps_the_certificates(secured: LocalStack) -> None:
    ca = (secured.home / "secrets" / "tls" / "ca.crt").read_bytes()
    assert secured.up().running
    assert (secured.home / "secrets" / "tls" / "ca.crt").read_bytes() == ca
