"""Settings: read from the environment and .env files, grouped, validated, frozen, secrets masked.

Every flat ``DRIFTLINE_*`` variable of the flat settings still works under its name and
lands in one field of one group; keyword arguments and ``with_overrides`` take the same
flat names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from driftline.adapters.settings import KafkaSettings, Settings, StackSettings, TopicNames
from driftline.core.errors import ConfigError
from tests.unit.adapters.settings.variables import CASES, VARIABLES

REDIS_PASSWORD = "Rp4ss-9f3c1e"
SASL_PASSWORD = "Sp4ss-77ab02"
CHECKPOINT_KEY = "Ck3y-0123456789abcdef"
#: What setting a field changes besides it: a secured local stack (no bootstrap servers of
#: the settings' own) makes the Kafka clients use its TLS files and SCRAM user.
CONSEQUENCES: dict[str, set[str]] = {
    "stack.secure": {
        "kafka.security_protocol",
        "kafka.sasl_mechanism",
        "kafka.sasl_username",
        "kafka.sasl_password_file",
        "kafka.ssl_cafile",
        "kafka.ssl_certfile",
        "kafka.ssl_keyfile",
    }
}


def flat_name(variable: str) -> str:
    """The keyword name of a variable: ``DRIFTLINE_PARTITIONS`` -> ``partitions``."""
    return variable.removeprefix("DRIFTLINE_").lower()


def field_of(s: Settings, path: str) -> Any:
    """``s.kafka.partitions`` for ``"kafka.partitions"``."""
    value: Any = s
    for part in path.split("."):
        value = getattr(value, part)
    return value


def leaves(s: Settings) -> dict[str, Any]:
    """Every setting by its dotted path, e.g. ``{"kafka.partitions": 3, ...}``."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(s, name)
        if isinstance(value, BaseModel):
            fields = type(value).model_fields
            values.update({f"{name}.{field}": getattr(value, field) for field in fields})
        else:
            values[name] = value
    return values


@pytest.fixture
def defaults() -> dict[str, Any]:
    """Every default setting by its dotted path (read before a test sets a variable)."""
    return leaves(Settings(_env_file=None))


def assert_lands(s: Settings, path: str, expected: Any, defaults: dict[str, Any]) -> None:
    """``expected`` is at ``path``, and nothing else differs from the defaults."""
    assert field_of(s, path) == expected
    given = leaves(s)
    changed = {key for key in given if given[key] != defaults[key]}
    assert changed == {path} | CONSEQUENCES.get(path, set())


# -- the variables -----------------------------------------------------------------------------
def test_the_cases_cover_every_variable() -> None:
    # the 42 variables of the flat settings, 4 input limits, the Redis timeout, the key file,
    # 10 of transport security (Kafka TLS files and SASL password file, Redis TLS files and
    # password file, the secured stack), the Kafka client library, and the data contract,
    # its time scale, the quality log's length and the conflict window (issue 12), the stall
    # bound, the events topic's clock, the bounds of the label history and of the quality
    # counters' feature names (issue 19), the schema registry's URL, user, password and
    # timeout, and the feature function (issue 21), the local stack's Redis memory limit
    # (issue 24)
    assert sorted(CASES) == sorted(VARIABLES)
    expected = 42 + 4 + 1 + 1 + 10 + 1 + 14 + 8 + 4 + 5 + 4 + 1 + 1
    assert len(set(VARIABLES)) == len(VARIABLES) == expected


def test_every_variable_has_a_non_default_case() -> None:
    defaults = Settings(_env_file=None)
    for variable, (_, path, expected) in CASES.items():
        assert field_of(defaults, path) != expected, f"{variable}: the case is the default"


@pytest.mark.parametrize("variable", VARIABLES)
def test_each_variable_lands_in_its_field(
    monkeypatch: pytest.MonkeyPatch, defaults: dict[str, Any], variable: str
) -> None:
    text, path, expected = CASES[variable]
    monkeypatch.setenv(variable, text)
    assert_lands(Settings(_env_file=None), path, expected, defaults)


@pytest.mark.parametrize("variable", VARIABLES)
def test_each_flat_name_is_a_keyword_and_an_override(
    defaults: dict[str, Any], variable: str
) -> None:
    _, path, expected = CASES[variable]
    value = expected.get_secret_value() if isinstance(expected, SecretStr) else expected
    given = {flat_name(variable): value}
    assert_lands(Settings(_env_file=None, **given), path, expected, defaults)
    assert_lands(Settings(_env_file=None).with_overrides(**given), path, expected, defaults)


@pytest.mark.parametrize(
    "variable",
    [
        "DRIFTLINE_NAMESPACE",
        "DRIFTLINE_PARTITIONS",
        "DRIFTLINE_REDIS_URL",
        "DRIFTLINE_STACK_HOME",
        "DRIFTLINE_MODEL",
        "DRIFTLINE_HISTORY_GROUPS",
        "DRIFTLINE_FEATURE_BOUNDS",
        "DRIFTLINE_SESSION_TIMEOUT_MS",
        "DRIFTLINE_CHECKPOINT_KEY",
    ],
)
def test_variables_in_an_env_file_land_in_their_field(
    tmp_path: Path, defaults: dict[str, Any], variable: str
) -> None:
    text, path, expected = CASES[variable]
    env_file = tmp_path / "driftline.env"
    env_file.write_text(f"{variable}='{text}'\nUNRELATED=ignored\n")
    assert_lands(Settings(_env_file=env_file), path, expected, defaults)


def test_model_variable_is_the_model_not_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DRIFTLINE_MODEL names the model spec; the group is called ``model`` too."""
    env_file = tmp_path / ".env"
    env_file.write_text("DRIFTLINE_MODEL=my.models:factory\nDRIFTLINE_RAW_FEATURES=true\n")
    s = Settings(_env_file=env_file)
    assert (s.model.spec, s.model.raw_features) == ("my.models:factory", True)
    monkeypatch.setenv("DRIFTLINE_MODEL", "tree.HoeffdingTreeClassifier()")
    s = Settings(_env_file=env_file)
    assert (s.model.spec, s.model.raw_features) == ("tree.HoeffdingTreeClassifier()", True)
    assert s.task_config().model == "tree.HoeffdingTreeClassifier()"


def test_defaults_without_environment() -> None:
    s = Settings(_env_file=None)
    assert (s.namespace, s.seed, s.kafka.bootstrap, s.redis.url, s.kafka.partitions) == (
        "driftline",
        42,
        None,
        None,
        3,
    )
    assert isinstance(s.kafka, KafkaSettings) and isinstance(s.stack, StackSettings)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "k1:9092,k2:9092")
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", "12")
    s = Settings(_env_file=None)
    assert s.namespace == "fromenv"
    assert s.kafka.bootstrap == "k1:9092,k2:9092"
    assert s.redis.url is not None
    assert s.redis.url.get_secret_value() == "redis://cache:6379/2"
    assert s.kafka.partitions == 12
    assert s.topics.events == "fromenv.events"


def test_environment_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("driftline_namespace", "lower")
    monkeypatch.setenv("Driftline_Partitions", "5")
    s = Settings(_env_file=None)
    assert (s.namespace, s.kafka.partitions) == ("lower", 5)


@pytest.mark.parametrize("bad", ["0", "1025", "three"])
def test_bad_partitions_from_the_environment_are_rejected(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", bad)
    with pytest.raises(ValidationError, match="partitions"):
        Settings(_env_file=None)


@pytest.mark.parametrize("variable", ["DRIFTLINE_FEATURE_BOUNDS", "DRIFTLINE_HISTORY_GROUPS"])
@pytest.mark.parametrize("text", ['{"distance": [0, 6000]', "distance=0:6000", "key,carrier"])
def test_invalid_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, text: str
) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigError, match=f"{variable} is not valid JSON"):
        Settings(_env_file=None)
    monkeypatch.delenv(variable)
    env_file = tmp_path / ".env"
    env_file.write_text(f"{variable}='{text}'\n")
    with pytest.raises(ConfigError, match=f"{variable} is not valid JSON"):
        Settings(_env_file=env_file)


def test_valid_json_of_the_wrong_shape_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_FEATURE_BOUNDS", '{"distance": 6000}')
    with pytest.raises(ValidationError, match="feature_bounds"):
        Settings(_env_file=None)


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / "driftline.env"
    env_file.write_text(
        "DRIFTLINE_NAMESPACE=fromfile\n"
        "DRIFTLINE_PARTITIONS=7\n"
        "DRIFTLINE_KAFKA_BOOTSTRAP=broker:9092\n"
        "UNRELATED=ignored\n"
    )
    s = Settings(_env_file=env_file)
    assert (s.namespace, s.kafka.partitions, s.kafka.bootstrap) == (
        "fromfile",
        7,
        "broker:9092",
    )


def test_environment_beats_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DRIFTLINE_NAMESPACE=fromfile\n"
        "DRIFTLINE_PARTITIONS=7\n"
        "DRIFTLINE_REPLICATION_FACTOR=2\n"
        "DRIFTLINE_CHECKPOINT_EVERY=11\n"
    )
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", "9")
    s = Settings(_env_file=env_file)
    assert (s.namespace, s.kafka.partitions) == ("fromenv", 9)
    # field by field: the file still gives what the environment does not
    assert (s.kafka.replication_factor, s.checkpoints.every) == (2, 11)


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", "9")
    monkeypatch.setenv("DRIFTLINE_KAFKA_CLIENT_ID", "fromenv")
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "env:9092")
    s = Settings(_env_file=None, namespace="given", partitions=4)
    assert (s.namespace, s.kafka.partitions) == ("given", 4)
    assert s.kafka.client_id == "fromenv"  # the rest of the group still comes from the env
    assert Settings(_env_file=None, kafka_bootstrap=None).kafka.bootstrap is None
    grouped = Settings(_env_file=None, kafka={"partitions": 5})
    assert (grouped.kafka.partitions, grouped.kafka.client_id) == (5, "fromenv")


@pytest.mark.parametrize(
    "bad", ["", "has space", "-leading-dash", "_leading", "dots.in.it", "a/b", "x" * 65, "é"]
)
def test_bad_namespace_is_rejected(bad: str) -> None:
    with pytest.raises(ValidationError, match="namespace"):
        Settings(_env_file=None, namespace=bad)


def test_bad_namespace_from_the_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "not ok")
    with pytest.raises(ValidationError, match="namespace"):
        Settings(_env_file=None)


@pytest.mark.parametrize("good", ["a", "A9", "team_1-dev", "0lead", "x" * 64])
def test_good_namespace_is_accepted(good: str) -> None:
    assert Settings(_env_file=None, namespace=good).namespace == good


# -- overrides ---------------------------------------------------------------------------------
def test_with_overrides_ignores_none() -> None:
    s = Settings(_env_file=None, namespace="base", partitions=4)
    same = s.with_overrides(namespace=None, partitions=None, seed=None)
    assert same == s
    changed = s.with_overrides(namespace=None, partitions=9)
    assert (changed.namespace, changed.kafka.partitions) == ("base", 9)
    assert (s.namespace, s.kafka.partitions) == ("base", 4)  # the original is untouched


def test_with_overrides_takes_flat_names_of_every_group() -> None:
    s = Settings(_env_file=None, kafka_client_id="me").with_overrides(
        partitions=6, checkpoint_every=10, model="m:f", brokers=2, max_poll_records=9
    )
    assert (s.kafka.partitions, s.kafka.client_id, s.checkpoints.every) == (6, "me", 10)
    assert (s.model.spec, s.stack.brokers, s.worker.max_poll_records) == ("m:f", 2, 9)


def test_with_overrides_keeps_secrets() -> None:
    url = f"redis://:{REDIS_PASSWORD}@cache:6379/0"
    s = Settings(
        _env_file=None,
        redis_url=url,
        kafka_sasl_password=SASL_PASSWORD,
        checkpoint_key=CHECKPOINT_KEY,
    )
    changed = s.with_overrides(seed=7)
    assert changed.seed == 7
    assert changed.redis.url is not None and changed.redis.url.get_secret_value() == url
    assert changed.kafka.sasl_password is not None
    assert changed.kafka.sasl_password.get_secret_value() == SASL_PASSWORD
    assert changed.checkpoints.key is not None
    assert changed.checkpoints.key.get_secret_value() == CHECKPOINT_KEY


@pytest.mark.parametrize(
    "override",
    [
        {"namespace": "bad name"},
        {"partitions": 0},
        {"brokers": 9},
        {"kafka_security_protocol": "TLS"},
        {"checkpoint_store": "s3"},
        {"session_timeout_ms": 10},
    ],
    ids=str,
)
def test_with_overrides_validates(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None).with_overrides(**override)


@pytest.mark.parametrize(
    "override",
    [{"partitons": 4}, {"kafka_partitions": 4}, {"bootstrap": "b:9092"}, {"partitons": None}],
    ids=str,
)
def test_with_overrides_rejects_unknown_names(override: dict[str, object]) -> None:
    (name,) = override
    with pytest.raises(ConfigError, match=f"unknown settings: {name}"):
        Settings(_env_file=None).with_overrides(seed=1, **override)
    with pytest.raises(ConfigError, match=name):
        Settings(_env_file=None).with_overrides(**override)


def test_with_overrides_does_not_reread_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s = Settings(_env_file=None, namespace="given")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DRIFTLINE_CHECKPOINT_EVERY=11\n")
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "later")
    monkeypatch.setenv("DRIFTLINE_FEATURE_BOUNDS", '{"distance": [0, 6000]}')
    monkeypatch.setenv("DRIFTLINE_KAFKA_CLIENT_ID", "later")
    changed = s.with_overrides(partitions=2)
    assert changed.namespace == "given"
    assert changed.model.feature_bounds == {}  # not merged into the (empty) dict
    assert (changed.kafka.client_id, changed.checkpoints.every) == ("driftline", 5000)
    monkeypatch.setenv("DRIFTLINE_HISTORY_GROUPS", "not json")  # not read: no error
    assert s.with_overrides(seed=3).seed == 3


def test_with_overrides_takes_groups() -> None:
    s = Settings(_env_file=None, kafka_client_id="me", partitions=4)
    merged = s.with_overrides(kafka={"retention_ms": 1000}, replication_factor=1)
    assert (merged.kafka.client_id, merged.kafka.partitions) == ("me", 4)
    assert (merged.kafka.retention_ms, merged.kafka.replication_factor) == (1000, 1)
    replaced = s.with_overrides(kafka=KafkaSettings(client_id="other"), partitions=6)
    assert (replaced.kafka.client_id, replaced.kafka.partitions) == ("other", 6)


# -- masking -----------------------------------------------------------------------------------
def masked_text(s: Settings) -> str:
    return json.dumps(s.masked())


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{REDIS_PASSWORD}@cache:6379/0",
        f"redis://default:{REDIS_PASSWORD}@cache:6379/0",
        f"rediss://user:{REDIS_PASSWORD}@cache.example.com:6380/1",
        f"redis://user:{REDIS_PASSWORD}@cache",
        f"redis://:{REDIS_PASSWORD}@10.0.0.5:6379",
    ],
)
def test_masked_hides_the_redis_password(url: str) -> None:
    s = Settings(_env_file=None, redis_url=url)
    text = masked_text(s)
    assert REDIS_PASSWORD not in text
    assert "***" in s.masked()["redis"]["url"]
    assert "cache" in text or "10.0.0.5" in text  # the rest of the URL stays readable


@pytest.mark.parametrize(
    "url",
    [
        f"redis://cache:6379/0?password={REDIS_PASSWORD}",
        f"redis://cache:6379/0?db=1&password={REDIS_PASSWORD}&ssl=true",
        f"redis://cache:6379/0?PASSWORD={REDIS_PASSWORD}",
        f"redis://cache:6379/0?pass={REDIS_PASSWORD}",
        f"redis://cache:6379/0?pwd={REDIS_PASSWORD}",
        f"redis://cache:6379/0?token={REDIS_PASSWORD}",
        f"redis://cache:6379/0?secret={REDIS_PASSWORD}",
        f"redis://user:{REDIS_PASSWORD}@cache:6379/0?password={REDIS_PASSWORD}",
    ],
)
def test_masked_hides_a_redis_password_in_the_query(url: str) -> None:
    s = Settings(_env_file=None, redis_url=url)
    text = masked_text(s)
    assert REDIS_PASSWORD not in text
    assert "***" in text
    assert "cache:6379/0?" in s.masked()["redis"]["url"]  # the rest of the URL stays readable


def test_masked_keeps_an_ipv6_redis_host() -> None:
    s = Settings(_env_file=None, redis_url=f"redis://:{REDIS_PASSWORD}@[::1]:6379/0")
    assert s.masked()["redis"]["url"] == "redis://:***@[::1]:6379/0"


def test_masked_hides_the_sasl_password() -> None:
    s = Settings(
        _env_file=None,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username="svc",
        kafka_sasl_password=SASL_PASSWORD,
    )
    text = masked_text(s)
    assert SASL_PASSWORD not in text
    assert s.masked()["kafka"]["sasl_password"] == "***"
    assert s.masked()["kafka"]["sasl_username"] == "svc"


def test_masked_hides_the_checkpoint_key() -> None:
    s = Settings(_env_file=None, checkpoint_key=CHECKPOINT_KEY)
    assert CHECKPOINT_KEY not in masked_text(s)
    assert s.masked()["checkpoints"]["key"] == "***"


def test_masked_hides_secrets_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", f"redis://:{REDIS_PASSWORD}@cache:6379/0")
    monkeypatch.setenv("DRIFTLINE_KAFKA_SASL_PASSWORD", SASL_PASSWORD)
    env_file = tmp_path / ".env"
    env_file.write_text(f"DRIFTLINE_CHECKPOINT_KEY={CHECKPOINT_KEY}\n")
    s = Settings(_env_file=env_file)
    assert s.checkpoints.key is not None  # the file was read
    text = masked_text(s)
    assert REDIS_PASSWORD not in text
    assert SASL_PASSWORD not in text
    assert CHECKPOINT_KEY not in text


def test_secrets_do_not_show_in_repr_or_str() -> None:
    s = Settings(
        _env_file=None,
        redis_url=f"redis://:{REDIS_PASSWORD}@cache:6379/0",
        kafka_sasl_password=SASL_PASSWORD,
        checkpoint_key=CHECKPOINT_KEY,
    )
    kafka = s.kafka.at("b:9092")
    for text in (
        repr(s),
        str(s),
        repr(kafka),
        str(kafka),
        repr(s.redis),
        repr(s.checkpoints),
        repr(s.model_dump()),
    ):
        assert REDIS_PASSWORD not in text
        assert SASL_PASSWORD not in text
        assert CHECKPOINT_KEY not in text


def test_masked_lists_every_setting_and_is_json() -> None:
    s = Settings(_env_file=None)
    shown = s.masked()
    assert set(shown) == set(Settings.model_fields)
    for group in ("kafka", "redis", "stack", "model", "worker", "checkpoints"):
        assert set(shown[group]) == set(type(getattr(s, group)).model_fields), group
    assert json.loads(masked_text(s)) == shown
    assert shown["redis"]["url"] is None
    assert shown["kafka"]["sasl_password"] is None
    assert shown["checkpoints"]["key"] is None
    assert (shown["namespace"], shown["seed"], shown["kafka"]["partitions"]) == ("driftline", 42, 3)


# -- frozen, derived names -----------------------------------------------------------------------
def test_settings_are_frozen() -> None:
    s = Settings(_env_file=None, namespace="fixed")
    with pytest.raises(ValidationError):
        s.namespace = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.kafka = KafkaSettings()  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.kafka.partitions = 9  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.checkpoints.every = 1  # type: ignore[misc]
    assert (s.namespace, s.kafka.partitions, s.checkpoints.every) == ("fixed", 3, 5000)


def test_topic_names() -> None:
    names = TopicNames("demo")
    assert names.events == "demo.events"
    assert names.dead_letter == "demo.dead-letter"
    assert names.consumer_group == "demo.workers"
    assert names.redis_prefix == "demo:"
    assert Settings(_env_file=None, namespace="demo").topics == names


def test_namespaces_do_not_share_names() -> None:
    a, b = TopicNames("a"), TopicNames("a-b")
    mine = {a.events, a.dead_letter, a.consumer_group, a.redis_prefix}
    theirs = {b.events, b.dead_letter, b.consumer_group, b.redis_prefix}
    assert not mine & theirs
    assert len(mine) == 4


def test_topic_names_are_frozen() -> None:
    names = TopicNames("demo")
    with pytest.raises(AttributeError):
        names.namespace = "other"  # type: ignore[misc]


def test_kafka_at_carries_the_client_settings() -> None:
    s = Settings(
        _env_file=None,
        kafka_client_id="me",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_password=SASL_PASSWORD,
        kafka_request_timeout_ms=5_000,
    )
    config = s.kafka.at("b1:9092")
    assert isinstance(config, KafkaSettings)
    assert (config.bootstrap, config.client_id, config.security_protocol) == (
        "b1:9092",
        "me",
        "SASL_PLAINTEXT",
    )
    assert config.request_timeout_ms == 5_000
    assert config.sasl_password is not None
    assert config.sasl_password.get_secret_value() == SASL_PASSWORD
    assert s.kafka.bootstrap is None  # the settings themselves are untouched


def test_stack_paths_are_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = Settings(_env_file=None, stack_home="relative/home", cache_dir="~/jars")
    assert s.stack.home == (tmp_path / "relative" / "home").resolve()
    assert s.stack.cache_dir == (Path.home() / "jars").resolve()
    assert s.stack.home.is_absolute() and s.stack.cache_dir.is_absolute()
    defaults = Settings(_env_file=None).stack
    assert defaults.home == (tmp_path / ".driftline").resolve()
    assert defaults.cache_dir.is_absolute()


def test_task_config_takes_the_model_group_and_the_seed() -> None:
    s = Settings(
        _env_file=None,
        seed=5,
        model="m:f",
        history_groups=("key", "carrier"),
        feature_bounds={"distance": (0, 6000)},
        max_age_s=60.0,
        dedupe_size=10,
    )
    config = s.task_config()
    assert (config.model, config.seed, config.dedupe_size) == ("m:f", 5, 10)
    assert config.features.history_groups == ("key", "carrier")
    assert config.quality.feature_bounds == {"distance": (0.0, 6000.0)}
    assert config.quality.max_age_s == 60.0


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
