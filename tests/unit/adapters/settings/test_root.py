"""Settings: read from the environment and .env files, grouped, validated, frozen, secrets masked.

Every flat ``DRIFTLINE_*`` variable of the flat settings still works under its name and
lands in one field of one group; keyword arguments and ``with_overrides`` take the same
flat names.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from driftline.adapters.settings import (
    KafkaSettings,
    Settings,
    StackSettings,
    TopicNames,
    mask_url,
    variable_names,
)
from driftline.core.errors import ConfigError

REDIS_PASSWORD = "Rp4ss-9f3c1e"
SASL_PASSWORD = "Sp4ss-77ab02"
CHECKPOINT_KEY = "Ck3y-0123456789abcdef"
KEY_PASSWORD = "Kp4ss-5d2e90"

#: Every variable of the flat settings: none may disappear.
VARIABLES = [
    "DRIFTLINE_NAMESPACE",
    "DRIFTLINE_KAFKA_BOOTSTRAP",
    "DRIFTLINE_REDIS_URL",
    "DRIFTLINE_KAFKA_CLIENT_ID",
    "DRIFTLINE_KAFKA_SECURITY_PROTOCOL",
    "DRIFTLINE_KAFKA_SASL_MECHANISM",
    "DRIFTLINE_KAFKA_SASL_USERNAME",
    "DRIFTLINE_KAFKA_SASL_PASSWORD",
    "DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS",
    "DRIFTLINE_PARTITIONS",
    "DRIFTLINE_REPLICATION_FACTOR",
    "DRIFTLINE_TOPIC_RETENTION_MS",
    "DRIFTLINE_STACK_HOME",
    "DRIFTLINE_CACHE_DIR",
    "DRIFTLINE_KAFKA_VERSION",
    "DRIFTLINE_KAFKA_HEAP",
    "DRIFTLINE_BROKERS",
    "DRIFTLINE_STACK_START_TIMEOUT_S",
    "DRIFTLINE_SEED",
    "DRIFTLINE_MODEL",
    "DRIFTLINE_RAW_FEATURES",
    "DRIFTLINE_CALENDAR_FEATURES",
    "DRIFTLINE_LATENESS_FEATURE",
    "DRIFTLINE_HISTORY_GROUPS",
    "DRIFTLINE_HISTORY_ALPHA",
    "DRIFTLINE_PENDING_TTL_S",
    "DRIFTLINE_ALLOWED_LATENESS_S",
    "DRIFTLINE_MAX_FUTURE_S",
    "DRIFTLINE_MAX_AGE_S",
    "DRIFTLINE_FEATURE_BOUNDS",
    "DRIFTLINE_DEDUPE_SIZE",
    "DRIFTLINE_ROLLING_WINDOW",
    "DRIFTLINE_CONTRACT",
    "DRIFTLINE_CONFLICT_WINDOW",
    "DRIFTLINE_HISTORY_MAX_SLOTS",
    "DRIFTLINE_HISTORY_MAX_LABELS",
    "DRIFTLINE_QUALITY_MAX_FEATURE_NAMES",
    "DRIFTLINE_CONTRACT_TIME_SCALE",
    "DRIFTLINE_PREDICTION_TTL_S",
    "DRIFTLINE_STREAM_MAXLEN",
    "DRIFTLINE_MAX_POLL_RECORDS",
    "DRIFTLINE_IDLE_WATERMARK_S",
    "DRIFTLINE_SESSION_TIMEOUT_MS",
    "DRIFTLINE_STALL_S",
    "DRIFTLINE_CHECKPOINT_EVERY",
    "DRIFTLINE_CHECKPOINT_INTERVAL_S",
    "DRIFTLINE_CHECKPOINT_STORE",
    "DRIFTLINE_CHECKPOINT_DIR",
    "DRIFTLINE_CHECKPOINT_KEY",
    "DRIFTLINE_MAX_FEATURES",
    "DRIFTLINE_MAX_FEATURE_ABS",
    "DRIFTLINE_MAX_STRING_LENGTH",
    "DRIFTLINE_MAX_RECORD_BYTES",
    "DRIFTLINE_REDIS_TIMEOUT_S",
    "DRIFTLINE_CHECKPOINT_KEY_FILE",
    "DRIFTLINE_KAFKA_SASL_PASSWORD_FILE",
    "DRIFTLINE_KAFKA_SSL_CAFILE",
    "DRIFTLINE_KAFKA_SSL_CERTFILE",
    "DRIFTLINE_KAFKA_SSL_KEYFILE",
    "DRIFTLINE_KAFKA_SSL_PASSWORD",
    "DRIFTLINE_REDIS_PASSWORD_FILE",
    "DRIFTLINE_REDIS_SSL_CA_FILE",
    "DRIFTLINE_REDIS_SSL_CERTFILE",
    "DRIFTLINE_REDIS_SSL_KEYFILE",
    "DRIFTLINE_STACK_SECURE",
    "DRIFTLINE_KAFKA_CLIENT",
    "DRIFTLINE_KAFKA_TIMESTAMPS",
    "DRIFTLINE_SERIES_WINDOWS_KEPT",
    "DRIFTLINE_ALERTS_MAXLEN",
    "DRIFTLINE_QUALITY_LOG_MAXLEN",
    "DRIFTLINE_MODEL_NAME",
    "DRIFTLINE_CHALLENGERS",
    "DRIFTLINE_PROMOTE_AUTO",
    "DRIFTLINE_PROMOTE_WINDOW",
    "DRIFTLINE_PROMOTE_MARGIN",
    "DRIFTLINE_COST_FALSE_NEGATIVE",
    "DRIFTLINE_COST_FALSE_POSITIVE",
    "DRIFTLINE_TUNE_THRESHOLD",
    "DRIFTLINE_THRESHOLD_WINDOW",
    "DRIFTLINE_THRESHOLD_MIN_LABELS",
    "DRIFTLINE_METRIC_WINDOWS_S",
    "DRIFTLINE_CHECKPOINT_HISTORY",
    "DRIFTLINE_DRIFT_CONCEPT",
    "DRIFTLINE_DRIFT_CONCEPT_ACTION",
    "DRIFTLINE_DRIFT_FEATURES",
    "DRIFTLINE_DRIFT_FEATURES_ACTION",
    "DRIFTLINE_DRIFT_LABELS",
    "DRIFTLINE_DRIFT_LABELS_ACTION",
    "DRIFTLINE_DRIFT_CATEGORY_WINDOW",
    "DRIFTLINE_DRIFT_PSI_THRESHOLD",
]
ROOT_VARIABLES = {"DRIFTLINE_NAMESPACE": "namespace", "DRIFTLINE_SEED": "seed"}

#: variable -> (its text, the field it lands in, the value it gives); never the default
CASES: dict[str, tuple[str, str, Any]] = {
    "DRIFTLINE_NAMESPACE": ("fromenv", "namespace", "fromenv"),
    "DRIFTLINE_SEED": ("7", "seed", 7),
    "DRIFTLINE_KAFKA_BOOTSTRAP": ("k1:9092,k2:9092", "kafka.bootstrap", "k1:9092,k2:9092"),
    "DRIFTLINE_REDIS_URL": (
        f"redis://:{REDIS_PASSWORD}@cache:6379/2",
        "redis.url",
        SecretStr(f"redis://:{REDIS_PASSWORD}@cache:6379/2"),
    ),
    "DRIFTLINE_KAFKA_CLIENT_ID": ("me", "kafka.client_id", "me"),
    "DRIFTLINE_KAFKA_SECURITY_PROTOCOL": ("SASL_SSL", "kafka.security_protocol", "SASL_SSL"),
    "DRIFTLINE_KAFKA_SASL_MECHANISM": (
        "SCRAM-SHA-512",
        "kafka.sasl_mechanism",
        "SCRAM-SHA-512",
    ),
    "DRIFTLINE_KAFKA_SASL_USERNAME": ("svc", "kafka.sasl_username", "svc"),
    "DRIFTLINE_KAFKA_SASL_PASSWORD": (
        SASL_PASSWORD,
        "kafka.sasl_password",
        SecretStr(SASL_PASSWORD),
    ),
    "DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS": ("5000", "kafka.request_timeout_ms", 5_000),
    "DRIFTLINE_PARTITIONS": ("12", "kafka.partitions", 12),
    "DRIFTLINE_REPLICATION_FACTOR": ("2", "kafka.replication_factor", 2),
    "DRIFTLINE_TOPIC_RETENTION_MS": ("3600000", "kafka.retention_ms", 3_600_000),
    "DRIFTLINE_STACK_HOME": (
        "~/driftline-test-home",
        "stack.home",
        (Path.home() / "driftline-test-home").resolve(),
    ),
    "DRIFTLINE_CACHE_DIR": (
        "~/driftline-test-cache",
        "stack.cache_dir",
        (Path.home() / "driftline-test-cache").resolve(),
    ),
    "DRIFTLINE_KAFKA_VERSION": ("4.0.1", "stack.kafka_version", "4.0.1"),
    "DRIFTLINE_KAFKA_HEAP": ("2g", "stack.kafka_heap", "2g"),
    "DRIFTLINE_BROKERS": ("3", "stack.brokers", 3),
    "DRIFTLINE_STACK_START_TIMEOUT_S": ("45.5", "stack.start_timeout_s", 45.5),
    "DRIFTLINE_MODEL": (
        "linear_model.LogisticRegression()",
        "model.spec",
        "linear_model.LogisticRegression()",
    ),
    "DRIFTLINE_RAW_FEATURES": ("true", "model.raw_features", True),
    "DRIFTLINE_CALENDAR_FEATURES": ("false", "model.calendar_features", False),
    "DRIFTLINE_LATENESS_FEATURE": ("1", "model.lateness_feature", True),
    "DRIFTLINE_HISTORY_GROUPS": (
        '["key", "carrier"]',
        "model.history_groups",
        ("key", "carrier"),
    ),
    "DRIFTLINE_HISTORY_ALPHA": ("0.5", "model.history_alpha", 0.5),
    "DRIFTLINE_HISTORY_MAX_SLOTS": ("1000", "model.history_max_slots", 1000),
    "DRIFTLINE_HISTORY_MAX_LABELS": ("20000", "model.history_max_labels", 20_000),
    "DRIFTLINE_QUALITY_MAX_FEATURE_NAMES": ("16", "model.quality_max_feature_names", 16),
    "DRIFTLINE_PENDING_TTL_S": ("1800", "model.pending_ttl_s", 1800.0),
    "DRIFTLINE_ALLOWED_LATENESS_S": ("30", "model.allowed_lateness_s", 30.0),
    "DRIFTLINE_MAX_FUTURE_S": ("60", "model.max_future_s", 60.0),
    "DRIFTLINE_MAX_AGE_S": ("86400", "model.max_age_s", 86_400.0),
    "DRIFTLINE_FEATURE_BOUNDS": (
        '{"distance": [0, 6000]}',
        "model.feature_bounds",
        {"distance": (0.0, 6000.0)},
    ),
    "DRIFTLINE_DEDUPE_SIZE": ("500", "model.dedupe_size", 500),
    "DRIFTLINE_ROLLING_WINDOW": ("50", "model.rolling_window", 50),
    "DRIFTLINE_CONTRACT": ("flights", "model.contract", "flights"),
    "DRIFTLINE_CONFLICT_WINDOW": ("500", "model.conflict_window", 500),
    "DRIFTLINE_CONTRACT_TIME_SCALE": ("60", "model.contract_time_scale", 60.0),
    "DRIFTLINE_PREDICTION_TTL_S": ("0", "redis.prediction_ttl_s", 0.0),
    "DRIFTLINE_STREAM_MAXLEN": ("1000", "redis.stream_maxlen", 1_000),
    "DRIFTLINE_MAX_POLL_RECORDS": ("100", "worker.max_poll_records", 100),
    "DRIFTLINE_IDLE_WATERMARK_S": ("5", "model.idle_watermark_s", 5.0),
    "DRIFTLINE_SESSION_TIMEOUT_MS": ("45000", "worker.session_timeout_ms", 45_000),
    "DRIFTLINE_STALL_S": ("30", "worker.stall_s", 30.0),
    "DRIFTLINE_CHECKPOINT_EVERY": ("10", "checkpoints.every", 10),
    "DRIFTLINE_CHECKPOINT_INTERVAL_S": ("2.5", "checkpoints.interval_s", 2.5),
    "DRIFTLINE_CHECKPOINT_STORE": ("directory", "checkpoints.store", "directory"),
    "DRIFTLINE_CHECKPOINT_DIR": ("state/checkpoints", "checkpoints.dir", Path("state/checkpoints")),
    "DRIFTLINE_CHECKPOINT_KEY": (CHECKPOINT_KEY, "checkpoints.key", SecretStr(CHECKPOINT_KEY)),
    "DRIFTLINE_MAX_FEATURES": ("50", "model.max_features", 50),
    "DRIFTLINE_MAX_FEATURE_ABS": ("1e9", "model.max_feature_abs", 1e9),
    "DRIFTLINE_MAX_STRING_LENGTH": ("64", "model.max_string_length", 64),
    "DRIFTLINE_MAX_RECORD_BYTES": ("4096", "model.max_record_bytes", 4096),
    "DRIFTLINE_REDIS_TIMEOUT_S": ("2.5", "redis.timeout_s", 2.5),
    "DRIFTLINE_CHECKPOINT_KEY_FILE": ("ckpt.key", "checkpoints.key_file", Path("ckpt.key")),
    "DRIFTLINE_KAFKA_SASL_PASSWORD_FILE": (
        "kafka.pw",
        "kafka.sasl_password_file",
        Path("kafka.pw"),
    ),
    "DRIFTLINE_KAFKA_SSL_CAFILE": ("tls/ca.crt", "kafka.ssl_cafile", Path("tls/ca.crt")),
    "DRIFTLINE_KAFKA_SSL_CERTFILE": ("tls/c.crt", "kafka.ssl_certfile", Path("tls/c.crt")),
    "DRIFTLINE_KAFKA_SSL_KEYFILE": ("tls/c.key", "kafka.ssl_keyfile", Path("tls/c.key")),
    "DRIFTLINE_KAFKA_SSL_PASSWORD": (
        KEY_PASSWORD,
        "kafka.ssl_password",
        SecretStr(KEY_PASSWORD),
    ),
    "DRIFTLINE_REDIS_PASSWORD_FILE": ("redis.pw", "redis.password_file", Path("redis.pw")),
    "DRIFTLINE_REDIS_SSL_CA_FILE": ("tls/ca.crt", "redis.ssl_ca_file", Path("tls/ca.crt")),
    "DRIFTLINE_REDIS_SSL_CERTFILE": ("tls/c.crt", "redis.ssl_certfile", Path("tls/c.crt")),
    "DRIFTLINE_REDIS_SSL_KEYFILE": ("tls/c.key", "redis.ssl_keyfile", Path("tls/c.key")),
    "DRIFTLINE_STACK_SECURE": ("1", "stack.secure", True),
    "DRIFTLINE_KAFKA_CLIENT": ("confluent", "kafka.client", "confluent"),
    "DRIFTLINE_KAFKA_TIMESTAMPS": ("replay", "kafka.timestamps", "replay"),
    "DRIFTLINE_SERIES_WINDOWS_KEPT": ("30", "redis.series_windows_kept", 30),
    "DRIFTLINE_ALERTS_MAXLEN": ("50", "redis.alerts_maxlen", 50),
    "DRIFTLINE_QUALITY_LOG_MAXLEN": ("500", "redis.quality_log_maxlen", 500),
    "DRIFTLINE_MODEL_NAME": ("lr", "model.model_name", "lr"),
    "DRIFTLINE_CHALLENGERS": (
        '{"nb": "naive_bayes.GaussianNB()"}',
        "model.challengers",
        {"nb": "naive_bayes.GaussianNB()"},
    ),
    "DRIFTLINE_PROMOTE_AUTO": ("0", "model.promote_auto", False),
    "DRIFTLINE_PROMOTE_WINDOW": ("300", "model.promote_window", 300),
    "DRIFTLINE_PROMOTE_MARGIN": ("0.1", "model.promote_margin", 0.1),
    "DRIFTLINE_COST_FALSE_NEGATIVE": ("5", "model.cost_false_negative", 5.0),
    "DRIFTLINE_COST_FALSE_POSITIVE": ("2", "model.cost_false_positive", 2.0),
    "DRIFTLINE_TUNE_THRESHOLD": ("0", "model.tune_threshold", False),
    "DRIFTLINE_THRESHOLD_WINDOW": ("700", "model.threshold_window", 700),
    "DRIFTLINE_THRESHOLD_MIN_LABELS": ("70", "model.threshold_min_labels", 70),
    "DRIFTLINE_METRIC_WINDOWS_S": ("[60, 600]", "model.metric_windows_s", (60, 600)),
    "DRIFTLINE_CHECKPOINT_HISTORY": ("3", "checkpoints.history", 3),
    "DRIFTLINE_DRIFT_CONCEPT": ("DDM", "model.drift_concept", "DDM"),
    "DRIFTLINE_DRIFT_CONCEPT_ACTION": ("swap", "model.drift_concept_action", "swap"),
    "DRIFTLINE_DRIFT_FEATURES": ("off", "model.drift_features", "off"),
    "DRIFTLINE_DRIFT_FEATURES_ACTION": ("reset", "model.drift_features_action", "reset"),
    "DRIFTLINE_DRIFT_LABELS": ("PageHinkley", "model.drift_labels", "PageHinkley"),
    "DRIFTLINE_DRIFT_LABELS_ACTION": ("reset", "model.drift_labels_action", "reset"),
    "DRIFTLINE_DRIFT_CATEGORY_WINDOW": ("500", "model.drift_category_window", 500),
    "DRIFTLINE_DRIFT_PSI_THRESHOLD": ("0.1", "model.drift_psi_threshold", 0.1),
}
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


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DRIFTLINE_* variable of the shell running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("DRIFTLINE_"):
            monkeypatch.delenv(name)


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
    # counters' feature names (issue 19)
    assert sorted(CASES) == sorted(VARIABLES)
    assert len(set(VARIABLES)) == len(VARIABLES) == 42 + 4 + 1 + 1 + 10 + 1 + 14 + 8 + 4 + 5


def test_variable_names_cover_exactly_the_flat_variables() -> None:
    names = variable_names()
    assert len(set(names.values())) == len(names)  # no two fields share a variable
    assert set(names.values()) | set(ROOT_VARIABLES) == set(VARIABLES)
    assert not set(names.values()) & set(ROOT_VARIABLES)
    for variable, (_, path, _) in CASES.items():
        if variable not in ROOT_VARIABLES:
            assert names[path] == variable


def test_variable_names_name_existing_fields() -> None:
    s = Settings(_env_file=None)
    for path in variable_names():
        field_of(s, path)  # raises AttributeError for a field that does not exist


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


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis://cache:6379/0?db=1&password=hunter2&ssl=true",
            "redis://cache:6379/0?db=1&password=***&ssl=true",
        ),
        ("redis://cache/0?Token=abc#frag", "redis://cache/0?Token=***#frag"),
        # parameters that merely contain a secret word are left alone
        ("redis://cache/0?passwords=1&xpassword=2", "redis://cache/0?passwords=1&xpassword=2"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("redis://user@cache:6379/0", "redis://user@cache:6379/0"),  # no password to hide
    ],
)
def test_mask_url_masks_only_secret_query_values(url: str, expected: str) -> None:
    assert mask_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # a port that is not a number is not mask_url's business: no ValueError
        ("redis://:hunter2@cache:notaport/0", "redis://:***@cache:notaport/0"),
        ("redis://:hunter2@cache:99999/0", "redis://:***@cache:99999/0"),
        # IPv6 hosts are kept exactly as written
        ("redis://:hunter2@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("rediss://u:hunter2@[2001:DB8::1]/2", "rediss://u:***@[2001:DB8::1]/2"),
    ],
)
def test_mask_url_keeps_odd_ports_and_ipv6_hosts(url: str, expected: str) -> None:
    assert mask_url(url) == expected


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


def test_groups_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        KafkaSettings(partitons=3)  # type: ignore[call-arg]


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
