"""docker-compose.yml agrees with the settings, the CLI and itself.

Pure unit tests: the file is parsed, never run. Only the last test asks Docker, and only
when an engine is reachable (``docker compose config -q``); otherwise it is skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from driftline.adapters.settings import Settings, variable_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

APPS = ("producer", "worker", "serve")
BACKENDS = ("kafka", "redis")
# what the compose file promises: the service words, then the options each command uses
COMMANDS = {
    "producer": (["produce", "flights"], {"--limit"}),
    "worker": (["consume"], {"--metrics-port", "--metrics-host"}),
    "serve": (["serve"], {"--host", "--port"}),
}

_VARIABLE = re.compile(
    r"\$\$"  # escaped dollar
    r"|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


# ---------------------------------------------------------------------- helpers


def interpolate(value: str) -> str:
    """Resolve compose ``${VAR:-default}`` / ``${VAR-default}`` to the default.

    The test does not depend on the caller's environment, so every variable must carry a
    default; ``${VAR}``, ``$VAR`` and ``${VAR:?err}`` fail the test.

    >>> interpolate("${NS:-driftline}.events $$HOME")
    'driftline.events $HOME'
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        if match.group("op") not in (":-", "-"):
            pytest.fail(f"{match.group(0)!r}: compose variable {name} has no default")
        return match.group("arg")

    return _VARIABLE.sub(replace, value)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment (mapping or ``KEY=VALUE`` list), defaults resolved, plus
    what its ``env_file`` gives: the secrets ``scripts/compose-env.py`` writes."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    values = {key: interpolate(_scalar(value)) for key, value in raw.items()}
    return (SECRETS if service.get("env_file") else {}) | values


def _secrets() -> dict[str, str]:
    """The secrets file as the script writes it (values made up for the tests)."""
    spec = importlib.util.spec_from_file_location("compose_env", ROOT / "scripts/compose-env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.render(TEST_PASSWORD, "k" * 64)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


TEST_PASSWORD = "test-only-password"
SECRETS = _secrets()


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """Container port -> host port, from the short (``"9092:9092"``) or long syntax."""
    ports: dict[int, int] = {}
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                ports[int(entry["target"])] = int(interpolate(_scalar(entry["published"])))
            continue
        spec = interpolate(_scalar(entry)).split("/", 1)[0]  # drop "/tcp"
        parts = spec.rsplit(":", 2)
        if len(parts) >= 2 and "-" not in spec:  # ignore ranges and unpublished ports
            ports[int(parts[-1])] = int(parts[-2])
    return ports


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` -> {NAME: (host, port)}; an empty host stays empty."""
    listeners = {}
    for item in value.split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        listeners[name] = (host.strip("[]"), int(port))
    return listeners


def command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    assert command, "the service needs a full `command:` (the image only prints --help)"
    return shlex.split(command) if isinstance(command, str) else [str(w) for w in command]


def _service_names(compose: dict[str, Any], name: str) -> set[str]:
    """Names that resolve to service ``name`` on the compose network."""
    service = compose["services"][name]
    names = {name}
    if service.get("hostname"):
        names.add(service["hostname"])
    networks = service.get("networks")
    if isinstance(networks, dict):
        for network in networks.values():
            names.update((network or {}).get("aliases") or [])
    return names


# --------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict) and isinstance(data.get("services"), dict)
    return data


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ``DRIFTLINE_*`` variable of the caller leaks into ``Settings``."""
    for key in list(os.environ):
        if key.upper().startswith("DRIFTLINE_"):
            monkeypatch.delenv(key)
    return monkeypatch


def _app_settings(compose: dict[str, Any], name: str, env: pytest.MonkeyPatch) -> Settings:
    for key, value in environment(compose["services"][name]).items():
        env.setenv(key, value)
    return Settings(_env_file=None)


# ------------------------------------------------------------------------ tests


def test_services_exist(compose: dict[str, Any]) -> None:
    assert {"kafka", "redis", "producer", "worker", "serve"} <= set(compose["services"])


@pytest.mark.parametrize("name", ["kafka", "redis", "producer", "worker", "serve"])
def test_images_are_pinned(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    image = service.get("image")
    assert image, f"{name} names its image"
    assert "$" not in image, f"{name}: image {image!r} must not depend on the environment"
    repository, _, tag = image.rpartition(":")
    assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
    assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"


def test_one_image_is_built_once_for_every_app(compose: dict[str, Any]) -> None:
    """One named image, ``driftline:<version>``: one service builds it from the
    Dockerfile, the others run it and never pull it (it is on no registry)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    services = compose["services"]
    assert {services[name]["image"] for name in APPS} == {f"driftline:{version}"}
    builders = [name for name in APPS if services[name].get("build")]
    assert builders == ["worker"], "built once, by the service that always runs"
    build = services["worker"]["build"]
    assert build == {"context": ".", "dockerfile": "Dockerfile"}
    assert (ROOT / build["dockerfile"]).is_file()
    for name in APPS:
        if name not in builders:
            assert services[name].get("pull_policy") == "never", name
    for name in BACKENDS:
        assert not services[name].get("build"), f"{name} runs its upstream image"


def test_workers_scale_without_port_clashes(compose: dict[str, Any]) -> None:
    """``--scale worker=4``: no host port and no container name per replica; the metrics
    port is exposed inside the network, where Prometheus reaches each replica."""
    worker = compose["services"]["worker"]
    assert not worker.get("ports"), "a published port clashes once a second replica starts"
    assert "container_name" not in worker and "hostname" not in worker
    words = command_words(worker)
    port = words[words.index("--metrics-port") + 1]
    assert port in [str(p) for p in worker.get("expose") or []]
    assert words[words.index("--metrics-host") + 1] == "0.0.0.0"  # the network reaches it


def test_the_worker_is_probed_on_readyz(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    healthcheck = worker["healthcheck"]
    test = healthcheck["test"]
    assert test[0] == "CMD", "no shell needed: the image's python probes"
    words = command_words(worker)
    port = words[words.index("--metrics-port") + 1]
    probe = " ".join(str(word) for word in test[1:])
    assert test[1] == "python" and "urllib.request.urlopen(" in probe  # raises on a 503
    assert f"http://127.0.0.1:{port}/readyz" in probe
    assert "timeout=" in probe
    # the worker restores its checkpoints and joins its group before its first turn
    assert _seconds(healthcheck["start_period"]) >= 30
    assert _seconds(healthcheck["timeout"]) < _seconds(healthcheck["interval"])
    # the image has the python the probe runs
    assert re.search(r"^FROM python:", (ROOT / "Dockerfile").read_text(), re.MULTILINE)


def _seconds(duration: str) -> float:
    """A compose duration such as ``15s`` or ``1m30s``, in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_redis_is_a_bsd_licensed_release_near_the_tests(compose: dict[str, Any]) -> None:
    """Redis 7.2 (or Valkey 7.2), BSD-licensed, next to Debian's redis-server 7.0 that the
    local stack and the tests run; the reason is written down."""
    image = compose["services"]["redis"]["image"]
    match = re.fullmatch(r"(redis|valkey/valkey):(7\.2\.\d+)(-alpine)?", image)
    assert match, f"{image}: not a pinned Redis or Valkey 7.2 release"
    operations = (ROOT / "docs/reference/operations.md").read_text()
    assert image in operations and "BSD" in operations


def test_kafka_image_matches_settings(compose: dict[str, Any], clean_env: Any) -> None:
    image = compose["services"]["kafka"]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository == "apache/kafka"
    assert tag == Settings(_env_file=None).stack.kafka_version


def known_variables() -> set[str]:
    """Every variable the settings read: the groups' (``variable_names()``) and the root's."""
    return set(variable_names().values()) | {"DRIFTLINE_NAMESPACE", "DRIFTLINE_SEED"}


@pytest.mark.parametrize("name", APPS)
def test_driftline_variables_are_known_to_the_settings(compose: dict[str, Any], name: str) -> None:
    env = environment(compose["services"][name])
    names = [key for key in env if key.upper().startswith("DRIFTLINE_")]
    assert names, f"{name} sets no DRIFTLINE_* variable"
    unknown = sorted(key for key in names if key.upper() not in known_variables())
    assert not unknown, f"{name}: {unknown} are not variables of the settings (typo?)"


@pytest.mark.parametrize("name", APPS)
def test_driftline_variables_reach_their_field(
    compose: dict[str, Any], clean_env: pytest.MonkeyPatch, name: str
) -> None:
    """Each DRIFTLINE_* value of the file is what the settings read for its field."""
    fields = {variable: path for path, variable in variable_names().items()}
    fields |= {"DRIFTLINE_NAMESPACE": "namespace", "DRIFTLINE_SEED": "seed"}
    settings = _app_settings(compose, name, clean_env)
    for key, text in environment(compose["services"][name]).items():
        if not key.upper().startswith("DRIFTLINE_"):
            continue
        value: Any = settings
        for part in fields[key.upper()].split("."):
            value = getattr(value, part)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        assert str(value) == text, f"{name}: {key}={text!r} read as {value!r}"


def test_producer_and_worker_share_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    producer, worker, serve = (
        {k: v for k, v in environment(services[name]).items() if k.startswith("DRIFTLINE_")}
        for name in APPS
    )
    assert producer == worker == serve, "the apps must agree on namespace, Kafka and Redis"


@pytest.mark.parametrize("name", APPS)
def test_app_environment_builds_settings(
    compose: dict[str, Any], clean_env: pytest.MonkeyPatch, name: str
) -> None:
    settings = _app_settings(compose, name, clean_env)
    assert settings.kafka.bootstrap == "kafka:19092"
    assert settings.namespace == "driftline"
    assert settings.redis.url is not None
    assert settings.redis.url.get_secret_value() == f"redis://:{TEST_PASSWORD}@redis:6379/0"
    assert settings.checkpoints.key is not None  # the workers seal with compose.env's key


def test_kafka_listeners(compose: dict[str, Any], clean_env: pytest.MonkeyPatch) -> None:
    kafka = compose["services"]["kafka"]
    env = environment(kafka)
    listeners = parse_listeners(env["KAFKA_LISTENERS"])
    advertised = parse_listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        item.strip().split(":", 1)
        for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]

    assert env["KAFKA_PROCESS_ROLES"].replace(" ", "").split(",") == ["broker", "controller"]
    assert set(listeners) <= set(protocols) and set(advertised) <= set(listeners)
    assert controller in listeners and controller not in advertised
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == _scalar(kafka["environment"]["KAFKA_NODE_ID"])
    assert int(voter.rpartition(":")[2]) == listeners[controller][1]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"

    # the host reaches the broker at localhost:9092, through a published port
    ports = published_ports(kafka)
    host_side = [n for n, (host, port) in advertised.items() if (host, port) == ("localhost", 9092)]
    assert host_side, "no listener is advertised to the host as localhost:9092"
    assert ports.get(listeners[host_side[0]][1]) == 9092, "the host listener is not published"

    # the containers reach it at the bootstrap they are given
    settings = _app_settings(compose, "worker", clean_env)
    kafka_names = _service_names(compose, "kafka")
    for address in (settings.kafka.bootstrap or "").split(","):
        host, _, port = address.strip().rpartition(":")
        assert host in kafka_names, f"bootstrap {address!r} is not the kafka service"
        matching = [n for n, hp in advertised.items() if hp == (host, int(port))]
        assert matching, f"bootstrap {address!r} is not an advertised listener"
        assert listeners[matching[0]][1] == int(port)
        assert protocols[matching[0]] == settings.kafka.security_protocol


def test_redis_port_and_durability(compose: dict[str, Any], clean_env: pytest.MonkeyPatch) -> None:
    redis = compose["services"]["redis"]
    settings = _app_settings(compose, "worker", clean_env)
    assert settings.redis.url is not None
    url = urlsplit(settings.redis.url.get_secret_value())
    assert url.scheme == "redis"
    assert url.hostname in _service_names(compose, "redis")
    port = url.port or 6379
    assert port in published_ports(redis), f"redis port {port} is not published to the host"

    words = command_words(redis)
    if words[:2] == ["sh", "-c"]:  # the password comes from the environment at start
        words = shlex.split(words[2].removeprefix("exec "))
    assert words[0] == "redis-server"
    options = dict(zip(words[1::2], words[2::2], strict=False))
    assert options.get("--appendonly") == "yes", "checkpoints must survive a restart"
    assert options.get("--appendfsync") in ("everysec", "always")
    assert options.get("--requirepass") == "$$REDIS_PASSWORD", options
    assert any(str(v).split(":", 1)[-1] == "/data" for v in redis.get("volumes") or [])


def test_dependencies_wait_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in APPS:
        assert set(BACKENDS) <= set(services[name].get("depends_on") or {}), name
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        for dependency in depends_on:
            if dependency not in BACKENDS:
                continue
            assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
            condition = (depends_on[dependency] or {}).get("condition")
            assert condition == "service_healthy", f"{name} -> {dependency}: {condition}"
            healthcheck = services[dependency].get("healthcheck") or {}
            assert healthcheck.get("test") and not healthcheck.get("disable"), dependency


def test_healthchecks_probe_the_service(compose: dict[str, Any]) -> None:
    def probe(name: str) -> str:
        test = compose["services"][name]["healthcheck"]["test"]
        return test if isinstance(test, str) else " ".join(str(word) for word in test)

    advertised = parse_listeners(
        environment(compose["services"]["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    )
    assert "/opt/kafka/bin/" in probe("kafka"), "probe with the image's own scripts"
    assert any(f":{port}" in probe("kafka") for _, port in advertised.values())
    assert "redis-cli" in probe("redis") and "ping" in probe("redis")


def test_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert str(services["producer"].get("restart", "no")) == "no", "the replay runs once"
    assert services["worker"].get("restart") == "unless-stopped"
    assert services["serve"].get("restart") == "unless-stopped"


def test_serve_is_probed_on_its_readiness_route(compose: dict[str, Any]) -> None:
    # /readyz: Redis and Kafka reachable (/health's 200 stays while Kafka is down)
    serve = compose["services"]["serve"]
    probe = " ".join(str(word) for word in serve["healthcheck"]["test"])
    words = command_words(serve)
    port = words[words.index("--port") + 1]
    assert f"127.0.0.1:{port}/readyz" in probe
    assert words[words.index("--host") + 1] == "0.0.0.0"  # reachable from the host's port


def _find_option(command: Any, name: str) -> Any:
    for param in command.params:
        if param.param_type_name == "option" and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _arguments_accepted(command: Any) -> float:
    total = 0.0
    for param in command.params:
        if param.param_type_name == "argument":
            total += float("inf") if param.nargs < 0 else param.nargs
    return total


@pytest.mark.parametrize("name", APPS)
def test_service_command_exists_in_cli(compose: dict[str, Any], name: str) -> None:
    import typer.main

    from driftline.app.cli import app  # the contract: lands with the CLI

    words = command_words(compose["services"][name])
    assert words[0] == "driftline", f"{name} must run the driftline console script"

    command = typer.main.get_command(app)
    path = ["driftline"]
    positional: list[str] = []
    used: set[str] = set()
    args = words[1:]
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("-"):
            option_name, has_value, _ = word.partition("=")
            option = _find_option(command, option_name)
            assert option is not None, f"{option_name} is not an option of `{' '.join(path)}`"
            used.add(option_name)
            takes_value = not option.is_flag and not option.count
            if takes_value and not has_value:
                i += 1
                assert i < len(args), f"{option_name} of `{' '.join(path)}` needs a value"
            elif has_value:
                assert takes_value, f"{option_name} of `{' '.join(path)}` is a flag"
        elif getattr(command, "commands", None) is not None and not positional:
            subcommand = command.commands.get(word)
            assert subcommand is not None, (
                f"`{' '.join(path)}` has no command {word!r}: {sorted(command.commands)}"
            )
            command, path = subcommand, [*path, word]
        else:
            positional.append(word)
        i += 1

    assert getattr(command, "commands", None) is None, f"`{' '.join(path)}` is a group"
    assert len(positional) <= _arguments_accepted(command), (
        f"`{' '.join(path)}` does not take the arguments {positional}"
    )
    expected_words, expected_options = COMMANDS[name]
    assert [*path[1:], *positional] == expected_words
    assert expected_options <= used


def _docker_engine() -> str | None:
    """Why Docker cannot validate the file, or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker CLI is not installed"
    for probe, problem in (
        (["info"], "no Docker engine is reachable"),
        (["compose", "version"], "the docker compose plugin is not installed"),
    ):
        try:
            result = subprocess.run(
                [docker, *probe], capture_output=True, text=True, timeout=15, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"{problem} ({error})"
        if result.returncode != 0:
            return f"{problem} (`docker {' '.join(probe)}` exited {result.returncode})"
    return None


def test_compose_file_validates_with_docker() -> None:
    reason = _docker_engine()
    if reason is not None:
        pytest.skip(reason)
    result = subprocess.run(
        ["docker", "compose", "--file", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_ports_are_published_on_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for entry in service.get("ports") or []:
            host = entry.get("host_ip") if isinstance(entry, dict) else str(entry).split(":")[0]
            assert host == "127.0.0.1", f"{name} publishes {entry!r} on every interface"


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    assert "requirepass" in text and "DRIFTLINE_CHECKPOINT_KEY=" not in text
    for name in APPS + ("redis",):
        files = compose["services"][name].get("env_file")
        assert files and all(f.get("required") for f in files), f"{name} needs compose.env"
        assert "DRIFTLINE_REDIS_URL" not in (compose["services"][name].get("environment") or {})


def test_the_secrets_script_writes_a_private_file_once(tmp_path: Path) -> None:
    target = tmp_path / "compose.env"
    script = [sys.executable, str(ROOT / "scripts/compose-env.py"), "--output", str(target)]
    subprocess.run(script, check=True, capture_output=True)
    assert target.stat().st_mode & 0o777 == 0o600
    first = target.read_text()
    values = dict(line.split("=", 1) for line in first.splitlines() if "=" in line)
    assert len(values["DRIFTLINE_CHECKPOINT_KEY"]) == 64
    assert values["DRIFTLINE_REDIS_URL"] == f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0"
    subprocess.run(script, check=True, capture_output=True)
    assert target.read_text() == first  # kept: a new key would orphan every checkpoint
