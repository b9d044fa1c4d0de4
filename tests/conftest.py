"""Shared fixtures: the real services, chosen once per run, and a namespace per test.

Services come from, in order: an existing cluster (``DRIFTLINE_KAFKA_BOOTSTRAP`` and
``DRIFTLINE_REDIS_URL`` set), testcontainers (a Docker engine answers), or the local
stack started in a temporary folder for this run. The choice and its reason are printed
once in the report header.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.settings import Settings

#: The checkpoint key of the tests' workers (outside the local stack a key is required).
TEST_CHECKPOINT_KEY = "test-checkpoint-key-0123456789abcdef"


@dataclass(frozen=True)
class ServiceChoice:
    kind: str  # "existing" | "testcontainers" | "local-stack"
    reason: str


def _docker_answers() -> tuple[bool, str]:
    if shutil.which("docker") is None:
        return False, "no docker client"
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (subprocess.TimeoutExpired, OSError) as exc:
        return False, f"docker info failed: {exc}"
    if done.returncode != 0:
        return False, "no Docker engine answers ('docker info' failed)"
    return True, "a Docker engine answers"


def choose_services() -> ServiceChoice:
    if os.environ.get("DRIFTLINE_KAFKA_BOOTSTRAP") and os.environ.get("DRIFTLINE_REDIS_URL"):
        return ServiceChoice(
            "existing", "DRIFTLINE_KAFKA_BOOTSTRAP and DRIFTLINE_REDIS_URL are set"
        )
    docker, why = _docker_answers()
    if docker and os.environ.get("DRIFTLINE_TESTS_NO_DOCKER") != "1":
        return ServiceChoice("testcontainers", why)
    return ServiceChoice("local-stack", f"{why}; starting Kafka and Redis from this repository")


_CHOICE: ServiceChoice | None = None


def _choice() -> ServiceChoice:
    global _CHOICE
    if _CHOICE is None:
        _CHOICE = choose_services()
    return _CHOICE


def pytest_report_header(config: pytest.Config) -> str:
    choice = _choice()
    return f"driftline services: {choice.kind} ({choice.reason})"


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """Real Kafka and Redis for this test run."""
    choice = _choice()
    if choice.kind == "existing":
        yield Endpoints(
            os.environ["DRIFTLINE_KAFKA_BOOTSTRAP"], os.environ["DRIFTLINE_REDIS_URL"], "settings"
        )
    elif choice.kind == "testcontainers":
        yield from _containers()
    else:
        from driftline.stack import LocalStack

        home = tmp_path_factory.mktemp("stack")
        _LOCAL_STACK_HOME.append(home)
        stack = LocalStack(Settings(_env_file=None, stack_home=home).stack)
        try:
            stack.up()
            endpoints = stack.endpoints()  # the Redis URL with the stack's password
            assert endpoints is not None, stack.status().describe()
            yield endpoints
        finally:
            stack.down(purge=True)


def _containers() -> Iterator[Endpoints]:  # pragma: no cover - needs a Docker engine
    """apache/kafka (KRaft, the pinned version) and redis containers on fixed host ports."""
    import time

    from testcontainers.community.redis import RedisContainer
    from testcontainers.core.container import DockerContainer

    from driftline.stack.local import wait_kafka
    from driftline.stack.processes import free_port

    version = Settings(_env_file=None).kafka_version
    port = free_port()
    kafka = (
        DockerContainer(f"apache/kafka:{version}")
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://localhost:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    with kafka, RedisContainer("redis:7.4.2-alpine") as redis_container:
        wait_kafka(f"localhost:{port}", 1, time.monotonic() + 120)
        host = redis_container.get_container_host_ip()
        redis_port = redis_container.get_exposed_port(6379)
        yield Endpoints(f"localhost:{port}", f"redis://{host}:{redis_port}/0", "settings")


_LOCAL_STACK_HOME: list[Path] = []


@pytest.fixture
def local_stack_home(services: Endpoints) -> Path:
    """The home of the local stack this run started (skips when the services are not it)."""
    if not _LOCAL_STACK_HOME:
        pytest.skip("the services are not a local stack this run started")
    return _LOCAL_STACK_HOME[0]


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real schema registry's Confluent-compatible URL, started once per run (skips only
    when Maven cannot build it: ``tests/integration/schema_registry.py``)."""
    from tests.integration.schema_registry import running_registry

    with running_registry(tmp_path_factory.mktemp("schema-registry")) as url:
        yield url


@pytest.fixture
def namespace() -> str:
    """A namespace of its own: topics, group and Redis keys no other test touches."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(services: Endpoints, namespace: str) -> Settings:
    """Settings pointing at the real services, in this test's namespace."""
    return Settings(
        _env_file=None,
        namespace=namespace,
        kafka_bootstrap=services.bootstrap,
        redis_url=services.redis_url,
        checkpoint_key=TEST_CHECKPOINT_KEY,
    )


@pytest.fixture(autouse=True)
def no_kafka_client_left_open(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the real services closes every Kafka client it opens (issue 19, defect 5:
    fourteen I/O threads of clients never closed were alive beside a hung worker).

    Each kafka-python 3 client runs an I/O thread named ``kafka-io-<client id>`` until it is
    closed; one started during the test and still alive a few seconds after it fails it.
    """
    if not (
        request.node.get_closest_marker("integration") or request.node.get_closest_marker("e2e")
    ):
        yield
        return
    before = {thread.ident for thread in threading.enumerate()}
    yield
    deadline = time.monotonic() + 15  # a close in progress finishes its I/O thread
    while True:
        left = [
            thread.name
            for thread in threading.enumerate()
            if thread.ident not in before and thread.name.startswith("kafka-io-")
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, f"Kafka clients left open by this test: {left}"
