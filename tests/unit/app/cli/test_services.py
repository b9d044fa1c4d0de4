"""The commands' services: nothing is reached until a service is used, each one is built
once, and what holds connections is closed when the command ends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from driftline.adapters.endpoints import Endpoints
from driftline.adapters.settings import Settings
from driftline.app.cli.common import State
from driftline.app.cli.services import Services, services_of
from driftline.core.errors import ServiceUnavailable

STACK = Endpoints("127.0.0.1:19092", "redis://127.0.0.1:16379/0", "local-stack")


class Calls:
    """What the fakes were asked, in order."""

    def __init__(self) -> None:
        self.made: list[str] = []


class FakeStack:
    """The local stack's surface the services use, recording every call."""

    def __init__(self, calls: Calls, running: bool) -> None:
        self.calls = calls
        self.running = running

    def endpoints(self) -> Endpoints | None:
        self.calls.made.append("stack.endpoints")
        return STACK if self.running else None

    def checkpoint_key(self) -> bytes | None:
        return b"k" * 32


class FakeRedis:
    def __init__(self, calls: Calls, url: str) -> None:
        self.calls, self.url = calls, url

    def close(self) -> None:
        self.calls.made.append("redis.close")


class FakeLag:
    def __init__(self, calls: Calls, kafka: Any, topic: str, group: str) -> None:
        self.calls, self.bootstrap, self.topic, self.group = calls, kafka.bootstrap, topic, group

    def close(self) -> None:
        self.calls.made.append("lag.close")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Calls:
    """Fakes for the stack, Redis and the group's lag, wherever the services make them."""
    for name in [n for n in os.environ if n.startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env is read
    calls = Calls()

    def stack(config: Any) -> FakeStack:
        calls.made.append("stack")
        return FakeStack(calls, running=config.home.name == "running")

    def redis(url: str) -> FakeRedis:
        calls.made.append(f"redis {url}")
        return FakeRedis(calls, url)

    def lag(kafka: Any, topic: str, group: str) -> FakeLag:
        calls.made.append("lag")
        return FakeLag(calls, kafka, topic, group)

    # each service imports its maker when it is built: patched where it is defined
    monkeypatch.setattr("driftline.stack.LocalStack", stack)
    monkeypatch.setattr("driftline.adapters.redis_clients.make_redis", redis)
    monkeypatch.setattr("driftline.read.lag.GroupLag", lag)
    return calls


def on_stack(tmp_path: Path) -> Services:
    return Services(Settings(_env_file=None, namespace="t", stack_home=tmp_path / "running"))


def test_nothing_is_reached_until_a_service_is_used(calls: Calls, tmp_path: Path) -> None:
    services = on_stack(tmp_path)
    assert services.settings.namespace == "t"
    assert calls.made == [] and services.built() == []
    assert services.endpoints == STACK
    assert calls.made == ["stack", "stack.endpoints"]
    assert services.built() == ["stack", "endpoints"]


def test_each_service_is_built_once_and_shared(calls: Calls, tmp_path: Path) -> None:
    services = on_stack(tmp_path)
    assert services.redis is services.redis
    assert services.predictions is services.predictions
    assert services.predictions.keys.prediction("EWR") == "t:prediction:EWR"
    assert services.group_lag is services.group_lag
    assert services.kafka.bootstrap == STACK.bootstrap
    assert services.group_lag.topic == "t.events" and services.group_lag.group == "t.workers"
    assert services.local_key is not None and services.local_key() == b"k" * 32
    assert calls.made == ["stack", "stack.endpoints", f"redis {STACK.redis_url}", "lag"]


def test_services_from_settings_never_ask_the_stack(calls: Calls, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        kafka_bootstrap="k:9092",
        redis_url="redis://r:6379/0",
        stack_home=tmp_path / "running",
    )
    services = Services(settings)
    assert services.endpoints == Endpoints("k:9092", "redis://r:6379/0", "settings")
    assert services.local_key is None  # the stack's key is for the stack's services only
    assert calls.made == []


def test_no_stack_and_no_settings_fails_when_a_service_is_used(
    calls: Calls, tmp_path: Path
) -> None:
    services = Services(Settings(_env_file=None, stack_home=tmp_path / "none"))
    with pytest.raises(ServiceUnavailable, match="driftline stack up"):
        services.redis  # noqa: B018
    assert calls.made == ["stack", "stack.endpoints"]  # Redis was never asked


def test_close_closes_what_was_built_newest_first(calls: Calls, tmp_path: Path) -> None:
    services = on_stack(tmp_path)
    services.close()  # nothing built: nothing to close
    assert calls.made == []
    services.redis, services.group_lag  # noqa: B018 (built, for their closing)
    services.close()
    services.close()  # once each
    assert calls.made[-2:] == ["lag.close", "redis.close"]
    assert calls.made.count("redis.close") == 1


def test_overrides_make_new_services_of_the_changed_settings(calls: Calls, tmp_path: Path) -> None:
    services = on_stack(tmp_path)
    services.endpoints  # noqa: B018
    changed = services.with_overrides(namespace="u", partitions=9)
    assert (changed.settings.namespace, changed.settings.kafka.partitions) == ("u", 9)
    assert services.settings.namespace == "t" and changed.built() == []


def test_a_command_gets_its_services_and_they_close_when_it_ends(
    calls: Calls, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = typer.Typer()
    seen: list[Services] = []

    @app.command()
    def read(ctx: typer.Context, namespace: str | None = None) -> None:
        services = services_of(ctx, namespace, partitions=3)
        seen.append(services)
        services.redis  # noqa: B018
        assert calls.made[-1].startswith("redis ")

    root = Settings(_env_file=None, namespace="root", stack_home=tmp_path / "running")
    caplog.set_level("DEBUG", logger="driftline")
    done = CliRunner().invoke(app, ["--namespace", "cmd"], obj=State(root))
    assert done.exit_code == 0, done.output
    [services] = seen
    assert (services.settings.namespace, services.settings.kafka.partitions) == ("cmd", 3)
    assert calls.made[-1] == "redis.close"  # closed when the command ended
    logged = [r.getMessage() for r in caplog.records if "effective config" in r.getMessage()]
    assert len(logged) == 1 and '"namespace": "cmd"' in logged[0]
