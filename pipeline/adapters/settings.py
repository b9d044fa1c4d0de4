"""One settings object, read once at the entry point, grouped by concern.

Every option comes from a ``DRIFTLINE_*`` environment variable or a ``.env`` file and
lands in one typed, frozen group: :class:`KafkaSettings`, :class:`RedisSettings`,
:class:`StackSettings`, :class:`ModelSettings` (model, features, quality rules, state
bounds), :class:`WorkerSettings` and :class:`CheckpointSettings`. Each consumer of settings
takes only its group; nothing deeper reads the environment. The variable names are flat
and stable (``DRIFTLINE_PARTITIONS``, ``DRIFTLINE_CHECKPOINT_EVERY``...): each group says
which of them it owns (:func:`variable_names`), and the same flat names are accepted as
keyword overrides.

>>> s = Settings(namespace="demo", _env_file=None)
>>> s.topics.events, s.topics.dead_letter
('demo.events', 'demo.dead-letter')
>>> s.kafka.partitions, s.checkpoints.every, s.model.task_config(s.seed).seed
(3, 5000, 42)
>>> s.with_overrides(partitions=6, checkpoint_every=10).kafka.partitions
6
>>> s.masked()["redis"]["url"] is None
True
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from driftline.adapters.contract_files import find_contract
from driftline.core.contract.check import Contract
from driftline.core.errors import ConfigError
from driftline.core.learning.contenders import PromotionRule
from driftline.core.learning.costs import CostMatrix
from driftline.core.learning.features import FeatureConfig
from driftline.core.learning.history import DEFAULT_MAX_LABELS, DEFAULT_MAX_SLOTS
from driftline.core.learning.models import DEFAULT_MODEL
from driftline.core.quality.figures import MAX_FEATURE_NAMES
from driftline.core.quality.rules import QualityRules
from driftline.core.task.partition import DriftConfig, TaskConfig

__all__ = [
    "DEFAULT_MODEL",
    "CheckpointSettings",
    "KafkaSettings",
    "ModelSettings",
    "RedisSettings",
    "Settings",
    "StackClientFiles",
    "StackSettings",
    "TopicNames",
    "WorkerSettings",
    "mask_url",
    "read_private_file",
    "variable_names",
]

_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PREFIX = "DRIFTLINE_"


@dataclass(frozen=True)
class TopicNames:
    """Names derived from a namespace: topics, consumer group and Redis key prefix."""

    namespace: str

    @property
    def events(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dead_letter(self) -> str:
        return f"{self.namespace}.dead-letter"

    @property
    def alerts(self) -> str:
        """Drift alarms, promotions and rollbacks, as JSON keyed by alert id."""
        return f"{self.namespace}.alerts"

    @property
    def consumer_group(self) -> str:
        return f"{self.namespace}.workers"

    @property
    def redis_prefix(self) -> str:
        return f"{self.namespace}:"


class _Group(BaseModel):
    """A frozen group of settings. ``env`` maps a field to its variable (prefix + name
    by default); ``prefix`` is the group's usual variable prefix."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    prefix: ClassVar[str] = ""
    env: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Field name -> flat variable name without ``DRIFTLINE_`` (lower case)."""
        return {name: cls.env.get(name, f"{cls.prefix}{name}").lower() for name in cls.model_fields}


class KafkaSettings(_Group):
    """How clients reach Kafka, and how new topics are made."""

    prefix: ClassVar[str] = "kafka_"
    env: ClassVar[Mapping[str, str]] = {
        "partitions": "partitions",
        "replication_factor": "replication_factor",
        "retention_ms": "topic_retention_ms",
    }

    bootstrap: str | None = Field(
        None, description="existing cluster, e.g. 'host1:9092,host2:9092'; unset: local stack"
    )
    client_id: str = "driftline"
    client: Literal["kafka-python", "confluent"] = Field(
        "kafka-python",
        description="Kafka client library: kafka-python, or confluent-kafka (driftline[fast])",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(
        None, description="a file holding the SASL password (owner-only), read at use"
    )
    ssl_cafile: Path | None = Field(
        None, description="CA certificates (PEM) of the brokers; unset: the system's"
    )
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM), for mutual TLS")
    ssl_keyfile: Path | None = Field(None, description="the client certificate's key (PEM)")
    ssl_password: SecretStr | None = Field(None, description="password of an encrypted ssl_keyfile")
    request_timeout_ms: int = Field(30_000, ge=1_000)
    partitions: int = Field(3, ge=1, le=1024, description="partitions of new topics")
    replication_factor: int = Field(
        -1, description="replication of new topics; -1 takes min(3, brokers)"
    )
    retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=-1)
    timestamps: Literal["broker", "replay"] = Field(
        "broker",
        description="the ingest clock of new events topics: the broker's append time "
        "(cannot be forged), or a replay's scheduled arrival (the same lateness on a busy "
        "machine as on a quiet one; for rebased replays such as the demo)",
    )

    def at(self, bootstrap: str) -> KafkaSettings:
        """These settings pointed at ``bootstrap`` (resolved by the caller)."""
        return self.model_copy(update={"bootstrap": bootstrap})

    @field_validator("sasl_mechanism")
    @classmethod
    def _check_mechanism(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        mechanism = value.strip().upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"SASL mechanism must be one of {', '.join(SASL_MECHANISMS)}")
        return mechanism

    @model_validator(mode="after")
    def _one_password(self) -> KafkaSettings:
        if self.sasl_password is not None and self.sasl_password_file is not None:
            raise ValueError(
                "set DRIFTLINE_KAFKA_SASL_PASSWORD or DRIFTLINE_KAFKA_SASL_PASSWORD_FILE, not both"
            )
        return self

    def sasl_password_text(self) -> str | None:
        """The SASL password: the setting, else the file's text (read now, owner-only).

        >>> KafkaSettings(sasl_password="pw").sasl_password_text()
        'pw'
        >>> KafkaSettings().sasl_password_text() is None
        True
        """
        if self.sasl_password is not None:
            return self.sasl_password.get_secret_value()
        if self.sasl_password_file is not None:
            return read_private_file(self.sasl_password_file, "DRIFTLINE_KAFKA_SASL_PASSWORD_FILE")
        return None


class RedisSettings(_Group):
    """Where Redis is, and how long what the worker writes there is kept."""

    prefix: ClassVar[str] = "redis_"
    env: ClassVar[Mapping[str, str]] = {
        "prediction_ttl_s": "prediction_ttl_s",
        "stream_maxlen": "stream_maxlen",
        "series_windows_kept": "series_windows_kept",
        "alerts_maxlen": "alerts_maxlen",
        "quality_log_maxlen": "quality_log_maxlen",
    }

    url: SecretStr | None = Field(
        None, description="existing Redis, e.g. 'redis://:pw@host:6379/0'; unset: local stack"
    )
    timeout_s: float = Field(
        30.0, gt=0, description="seconds a Redis command may go unanswered before a retry"
    )
    prediction_ttl_s: float = Field(7 * 24 * 3600.0, ge=0, description="0: keep for ever")
    stream_maxlen: int = Field(100_000, ge=1)
    series_windows_kept: int = Field(
        1000, ge=1, description="windows of each length kept in the metrics time series"
    )
    alerts_maxlen: int = Field(10_000, ge=1, description="alerts kept in the alerts stream")
    quality_log_maxlen: int = Field(
        100_000, ge=1, description="data-quality findings kept in the quality log stream"
    )
    password_file: Path | None = Field(
        None, description="a file holding the password of the URL's user (owner-only)"
    )
    ssl_ca_file: Path | None = Field(
        None, description="CA certificates (PEM) of a rediss:// server; unset: the system's"
    )
    ssl_certfile: Path | None = Field(None, description="client certificate (PEM), for mutual TLS")
    ssl_keyfile: Path | None = Field(None, description="the client certificate's key (PEM)")

    def client_url(self, url: str) -> str:
        """``url`` with what these settings add: the password from ``password_file`` (read
        now, owner-only; a password in the URL wins) and the TLS files as the query
        parameters redis-py reads (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``).

        >>> RedisSettings(ssl_ca_file="/s/ca.crt").client_url("rediss://app@cache:6380/0")
        'rediss://app@cache:6380/0?ssl_ca_certs=%2Fs%2Fca.crt'
        >>> RedisSettings().client_url("redis://cache:6379/0")
        'redis://cache:6379/0'
        """
        files = {
            "ssl_ca_certs": self.ssl_ca_file,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
        }
        given = {name: str(path) for name, path in files.items() if path is not None}
        parts = urlsplit(url)
        if given and parts.scheme != "rediss":
            raise ConfigError(
                "DRIFTLINE_REDIS_SSL_CA_FILE, _SSL_CERTFILE and _SSL_KEYFILE need a rediss:// "
                f"URL, not {parts.scheme}://"
            )
        netloc = parts.netloc
        if self.password_file is not None and parts.password is None:
            password = read_private_file(self.password_file, "DRIFTLINE_REDIS_PASSWORD_FILE")
            user = quote(parts.username or "", safe="")
            netloc = f"{user}:{quote(password, safe='')}@{netloc.rpartition('@')[2]}"
        query = urlencode([*parse_qsl(parts.query), *given.items()])
        return urlunsplit(parts._replace(netloc=netloc, query=query))


class StackSettings(_Group):
    """Where and how the local stack runs (paths are made absolute when read)."""

    prefix: ClassVar[str] = "stack_"
    env: ClassVar[Mapping[str, str]] = {
        "cache_dir": "cache_dir",
        "kafka_version": "kafka_version",
        "kafka_heap": "kafka_heap",
        "brokers": "brokers",
    }

    # validate_default: the defaults are made absolute too
    home: Path = Field(
        Path(".driftline"), validate_default=True, description="local stack's logs, data, state"
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "driftline",
        validate_default=True,
        description="Kafka jars fetched by Maven",
    )
    kafka_version: str = Field("4.1.1", pattern=r"^4\.\d+\.\d+$")
    kafka_heap: str = Field("768m", pattern=r"^\d+[mMgG]$")
    brokers: int = Field(1, ge=1, le=5)
    start_timeout_s: float = Field(120.0, gt=0)
    secure: bool = Field(
        False, description="TLS + SCRAM Kafka, TLS + ACL Redis ('driftline stack up --secure')"
    )

    @field_validator("home", "cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def client_files(self) -> StackClientFiles:
        """Where the secured stack keeps what its clients need."""
        return StackClientFiles(self.home / "secrets")

    def secured_kafka(self, kafka: KafkaSettings) -> KafkaSettings:
        """``kafka`` as a client of this secured stack: SASL_SSL, SCRAM-SHA-512 as the
        stack's user, mutual TLS with the stack's client certificate. What ``kafka``
        already sets of the TLS files is kept."""
        files = self.client_files
        return kafka.model_copy(
            update={
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": STACK_SASL_MECHANISM,
                "sasl_username": STACK_USER,
                "sasl_password": None,
                "sasl_password_file": files.kafka_password,
                "ssl_cafile": kafka.ssl_cafile or files.ca_cert,
                "ssl_certfile": kafka.ssl_certfile or files.client_cert,
                "ssl_keyfile": kafka.ssl_keyfile or files.client_key,
            }
        )


#: The user driftline's clients are on a secured local stack (Kafka SCRAM and Redis ACL).
STACK_USER = "driftline"
STACK_SASL_MECHANISM = "SCRAM-SHA-512"
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class StackClientFiles:
    """What clients of a secured local stack use, under its ``secrets/`` folder (0700).

    >>> StackClientFiles(Path("/h/secrets")).ca_cert.as_posix()
    '/h/secrets/tls/ca.crt'
    """

    secrets_dir: Path

    @property
    def tls_dir(self) -> Path:
        return self.secrets_dir / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def client_cert(self) -> Path:
        return self.tls_dir / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.tls_dir / "client.key"

    @property
    def kafka_password(self) -> Path:
        """The SCRAM password of :data:`STACK_USER`."""
        return self.secrets_dir / "kafka.password"

    @property
    def redis_password(self) -> Path:
        """The password of :data:`STACK_USER` (Redis ACL; ``requirepass`` when not secured)."""
        return self.secrets_dir / "redis.password"


#: A model's name: it appears in Redis records, metrics and commands.
_MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_Detector = Literal["ADWIN", "DDM", "EDDM", "PageHinkley", "KSWIN", "off"]
_Action = Literal["none", "reset", "swap"]


class ModelSettings(_Group):
    """What a task computes: the model, its features, the quality rules, state bounds."""

    env: ClassVar[Mapping[str, str]] = {"spec": "model"}

    spec: str = Field(
        DEFAULT_MODEL,
        description="River expression (River's modules in scope, and seed) or module:factory",
    )
    model_name: str = Field("main", pattern=_MODEL_NAME, description="the first model's name")
    challengers: dict[str, str] = Field(
        default_factory=dict,
        description='JSON: more models to learn the same stream, {"name": "River expression"}',
    )
    promote_auto: bool = Field(True, description="promote a challenger that beats the champion")
    promote_window: int = Field(2000, ge=1, description="labels a promotion compares")
    promote_margin: float = Field(
        0.02, ge=0, lt=1, description="relative loss a challenger must be below the champion's"
    )
    cost_false_negative: float | None = Field(
        None, ge=0, description="cost of a missed positive (binary classifiers; unset: argmax)"
    )
    cost_false_positive: float | None = Field(
        None, ge=0, description="cost of a false alarm (1 when only the other cost is set)"
    )
    tune_threshold: bool = Field(
        True, description="tune the decision threshold on recent scores (else: Bayes')"
    )
    threshold_window: int = Field(5000, ge=10, description="labels the threshold is tuned on")
    threshold_min_labels: int = Field(500, ge=1, description="labels before tuning starts")
    metric_windows_s: tuple[float, ...] = Field(
        (3600, 86400), description="event-time windows of the metrics time series, seconds"
    )
    drift_concept: _Detector = Field("ADWIN", description="detector of each model's errors")
    drift_concept_action: _Action = Field("none", description="on a concept drift")
    drift_features: _Detector | Literal["PSI"] = Field(
        "PSI", description="drift of each numeric feature: PSI of its deciles, or a detector"
    )
    drift_features_action: _Action = Field("none", description="on a feature's drift")
    drift_labels: _Detector | Literal["PSI"] = Field(
        "ADWIN", description="label-share drift: a detector, or PSI of shares per window"
    )
    drift_labels_action: _Action = Field("none", description="on a label-share drift")
    drift_category_window: int = Field(
        1000, ge=10, description="observations per window of category and label shares (PSI)"
    )
    drift_psi_threshold: float = Field(0.25, gt=0, description="PSI that is a drift")
    raw_features: bool = Field(False, description="pass raw features through untouched")
    calendar_features: bool = True
    #: Off by default: the lateness is the broker's ingest time (the wall clock) minus the
    #: event time, so a model fed it depends on when the events were published. Two
    #: publishes of the same events would learn different models, and a model learned on a
    #: replay would meet other delays live (training-serving skew). It stays a metric.
    lateness_feature: bool = False
    history_groups: tuple[str, ...] = Field(
        ("key",), description="segments whose recent label rate is a feature ('key': entity)"
    )
    history_alpha: float = Field(0.2, gt=0, le=1)
    history_max_slots: int = Field(
        DEFAULT_MAX_SLOTS,
        ge=1,
        description="(segment, value) label rates kept per task; the least recently used go",
    )
    history_max_labels: int = Field(
        DEFAULT_MAX_LABELS,
        ge=1,
        description="labels the label rates keep per task; the least recently used rates go",
    )
    pending_ttl_s: float = Field(7 * 24 * 3600.0, gt=0, description="event-time TTL of pending")
    allowed_lateness_s: float = Field(0.0, ge=0)
    idle_watermark_s: float | None = Field(
        60.0, gt=0, description="idle seconds after which a partition's watermark moves on"
    )
    max_future_s: float = Field(300.0, ge=0, description="event time ahead of ingest allowed")
    max_age_s: float | None = Field(None, gt=0, description="event time behind ingest allowed")
    feature_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description='JSON, e.g. {"distance": [0, 6000]}'
    )
    max_features: int = Field(1000, ge=1, description="features an observation may carry")
    max_feature_abs: float = Field(
        1e15, gt=0, description="largest magnitude of a numeric feature or label"
    )
    max_string_length: int = Field(1024, ge=1, description="longest text feature or label")
    max_record_bytes: int = Field(1 << 20, ge=64, description="largest record value")
    dedupe_size: int = Field(200_000, ge=1)
    conflict_window: int = Field(
        20_000, ge=1, description="outcomes whose label is kept to tell a conflict from a duplicate"
    )
    rolling_window: int = Field(1000, ge=1)
    quality_max_feature_names: int = Field(
        MAX_FEATURE_NAMES,
        ge=0,
        description="feature names outside the contract with quality counters of their own; "
        "later ones count as '(other)'",
    )
    contract: str | None = Field(
        None,
        description="the stream's data contract: a TOML or YAML file, or a built-in name "
        "('flights'); unset: no contract",
    )
    contract_time_scale: float = Field(
        1.0,
        gt=0,
        description="the contract's durations are divided by this (a replay on a warped clock)",
    )

    @field_validator("challengers")
    @classmethod
    def _check_challengers(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(_MODEL_NAME, name):
                raise ValueError(f"model name {name!r}: use letters, digits, '_' or '-'")
        return value

    @field_validator("metric_windows_s")
    @classmethod
    def _check_windows(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(n < 0.001 for n in value):
            raise ValueError("windows are seconds >= 0.001")
        return tuple(int(n) if float(n).is_integer() else float(n) for n in value)

    @property
    def cost_matrix(self) -> CostMatrix | None:
        """What wrong decisions cost (``None``: neither cost set, decide by the argmax)."""
        if self.cost_false_negative is None and self.cost_false_positive is None:
            return None
        fn = 1.0 if self.cost_false_negative is None else self.cost_false_negative
        fp = 1.0 if self.cost_false_positive is None else self.cost_false_positive
        try:
            return CostMatrix(false_negative=fn, false_positive=fp)
        except ValueError as exc:
            raise ConfigError(f"DRIFTLINE_COST_FALSE_NEGATIVE/_POSITIVE: {exc}") from exc

    def task_config(self, seed: int) -> TaskConfig:
        """The core's configuration of a task."""
        return TaskConfig(
            model=self.spec,
            seed=seed,
            model_name=self.model_name,
            challengers=tuple(self.challengers.items()),
            promotion=PromotionRule(
                auto=self.promote_auto, window=self.promote_window, margin=self.promote_margin
            ),
            costs=self.cost_matrix,
            tune_threshold=self.tune_threshold,
            threshold_window=self.threshold_window,
            threshold_min_labels=self.threshold_min_labels,
            windows=tuple(self.metric_windows_s),
            drift=DriftConfig(
                concept=None if self.drift_concept == "off" else self.drift_concept,
                concept_action=self.drift_concept_action,
                features=None if self.drift_features == "off" else self.drift_features,
                features_action=self.drift_features_action,
                labels=None if self.drift_labels == "off" else self.drift_labels,
                labels_action=self.drift_labels_action,
                category_window=self.drift_category_window,
                psi_threshold=self.drift_psi_threshold,
            ),
            features=FeatureConfig(
                raw_only=self.raw_features,
                calendar=self.calendar_features,
                lateness=self.lateness_feature,
                history_groups=tuple(self.history_groups),
                history_alpha=self.history_alpha,
                history_max_slots=self.history_max_slots,
                history_max_labels=self.history_max_labels,
            ),
            quality=QualityRules(
                max_future_s=self.max_future_s,
                max_age_s=self.max_age_s,
                feature_bounds=dict(self.feature_bounds),
                max_features=self.max_features,
                max_abs_value=self.max_feature_abs,
                max_string_length=self.max_string_length,
                max_record_bytes=self.max_record_bytes,
            ),
            pending_ttl_s=self.pending_ttl_s,
            allowed_lateness_s=self.allowed_lateness_s,
            idle_watermark_s=self.idle_watermark_s,
            dedupe_size=self.dedupe_size,
            conflict_window=self.conflict_window,
            quality_max_feature_names=self.quality_max_feature_names,
            rolling_window=self.rolling_window,
            contract=self.data_contract(),
        )

    def data_contract(self) -> Contract | None:
        """The contract ``contract`` names, read and validated (``None``: no contract)."""
        if self.contract is None:
            return None
        contract = find_contract(self.contract)
        scale = self.contract_time_scale
        return contract if scale == 1.0 else contract.scaled(scale)


class WorkerSettings(_Group):
    """How the worker polls and keeps its group membership."""

    max_poll_records: int = Field(2000, ge=1)
    session_timeout_ms: int = Field(
        10_000, ge=6_000, description="how long a silent worker keeps its partitions"
    )
    stall_s: float = Field(
        120.0,
        gt=0,
        description="a Kafka call unanswered this long, or no partition assigned this long, "
        "is reported (and 'consume' exits with 75 for a call)",
    )


class CheckpointSettings(_Group):
    """When and where task state is checkpointed, and the key that seals it."""

    prefix: ClassVar[str] = "checkpoint_"

    every: int = Field(5000, ge=1, description="records between checkpoints")
    history: int = Field(
        10, ge=1, description="checkpoints kept per partition (the latest included)"
    )
    interval_s: float = Field(10.0, gt=0, description="seconds between checkpoints")
    store: Literal["redis", "directory"] = "redis"
    dir: Path = Field(Path(".driftline/checkpoints"))
    key: SecretStr | None = Field(
        None, description="HMAC key of checkpoints (>= 16 bytes), never printed"
    )
    key_file: Path | None = Field(
        None, description="a file holding the key (owner-only), instead of the key itself"
    )


_GROUPS: dict[str, type[_Group]] = {
    "kafka": KafkaSettings,
    "redis": RedisSettings,
    "stack": StackSettings,
    "model": ModelSettings,
    "worker": WorkerSettings,
    "checkpoints": CheckpointSettings,
}
#: Flat name (the variable without ``DRIFTLINE_``, lower case) -> (group, field).
_FLAT: dict[str, tuple[str, str]] = {
    flat: (group, name) for group, cls in _GROUPS.items() for name, flat in cls.variables().items()
}


def variable_names() -> dict[str, str]:
    """Every grouped setting (``group.field``) and its environment variable.

    >>> variable_names()["checkpoints.every"]
    'DRIFTLINE_CHECKPOINT_EVERY'
    """
    return {f"{group}.{name}": f"{_PREFIX}{flat.upper()}" for flat, (group, name) in _FLAT.items()}


def _nest(flat: Mapping[str, Any], *, decode: bool) -> dict[str, Any]:
    """Flat names (as variables say them) into group dicts; unknown names are left out.

    With ``decode`` (values read from variables) a ``None`` (a bare ``NAME`` line in a
    ``.env`` file) is left out too; an explicit keyword ``None`` is kept.
    """
    nested: dict[str, Any] = {}
    for raw_name, value in flat.items():
        target = _FLAT.get(raw_name.lower())
        if target is None or (decode and value is None):
            continue
        group, name = target
        if decode and isinstance(value, str):
            value = _decode(_GROUPS[group], name, value)
        nested.setdefault(group, {})[name] = value
    return nested


def _is_flat(name: str, value: Any) -> bool:
    """Whether a keyword is a flat variable name (``model`` is both a group and a name)."""
    if name in _GROUPS and isinstance(value, Mapping | BaseModel):
        return False
    return name.lower() in _FLAT


def _decode(group: type[_Group], name: str, text: str) -> Any:
    """A variable's text: JSON for the structured settings, as it is for the rest."""
    annotation = str(group.model_fields[name].annotation)
    if not annotation.startswith(("dict", "tuple", "list")):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        variable = f"{_PREFIX}{group.variables()[name].upper()}"
        raise ConfigError(f"{variable} is not valid JSON ({exc.msg}): {text[:60]!r}") from exc


#: Set while :meth:`Settings.with_overrides` validates: no variable or file is read then.
_SOURCES_OFF: ContextVar[bool] = ContextVar("driftline_settings_sources_off", default=False)


@contextmanager
def _without_sources() -> Iterator[None]:
    token = _SOURCES_OFF.set(True)
    try:
        yield
    finally:
        _SOURCES_OFF.reset(token)


class _FlatVariables(PydanticBaseSettingsSource):
    """Reads every setting from the flat variables another source has loaded: the root
    fields (``DRIFTLINE_NAMESPACE``, ``DRIFTLINE_SEED``) as they are, the rest into their
    groups. It replaces pydantic-settings' own reading, which would take a group name for
    a variable of its own (``DRIFTLINE_MODEL`` would be parsed as JSON for ``model``)."""

    def __init__(self, settings_cls: type[BaseSettings], loaded: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._loaded = loaded

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ answers for the whole model

    def __call__(self) -> dict[str, Any]:
        variables: Mapping[str, str | None] = getattr(self._loaded, "env_vars", {})
        flat = {
            name[len(_PREFIX) :].lower(): value
            for name, value in variables.items()
            if name.upper().startswith(_PREFIX)
        }
        root = {
            name: flat[name]
            for name in self.settings_cls.model_fields
            if name not in _GROUPS and flat.get(name) is not None
        }
        return root | _nest(flat, decode=True)


class Settings(BaseSettings):
    """Every driftline setting, grouped. Environment: ``DRIFTLINE_<NAME>``, case-insensitive.

    Keyword arguments take the groups (``kafka={"bootstrap": ...}``) or the flat names of
    the variables (``kafka_bootstrap=...``, ``checkpoint_every=...``).
    """

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    namespace: str = Field("driftline", description="prefix of topics, groups and Redis keys")
    seed: int = Field(42, description="seed of every random choice (replay delays, models)")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    stack: StackSettings = Field(default_factory=StackSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    checkpoints: CheckpointSettings = Field(default_factory=CheckpointSettings)

    def __init__(self, **values: Any) -> None:
        flat = {k: values.pop(k) for k in list(values) if _is_flat(k, values[k])}
        for group, fields in _nest(flat, decode=False).items():
            given = values.get(group)
            if isinstance(given, BaseModel):
                given = given.model_dump()
            values[group] = (given or {}) | fields
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _SOURCES_OFF.get():
            return (init_settings,)
        return (
            init_settings,
            _FlatVariables(settings_cls, env_settings),
            _FlatVariables(settings_cls, dotenv_settings),
        )

    @model_validator(mode="before")
    @classmethod
    def _secured_stack_clients(cls, data: Any) -> Any:
        """With ``DRIFTLINE_STACK_SECURE`` and no bootstrap servers of its own, Kafka is
        the secured local stack: its clients get the stack's TLS files and SCRAM user
        (unless the Kafka settings name a security protocol themselves)."""
        if not isinstance(data, dict) or "stack" not in data:
            return data
        stack = data["stack"]
        try:
            stack = stack if isinstance(stack, StackSettings) else StackSettings(**stack)
        except (TypeError, ValueError):
            return data  # the stack group's own validation reports it
        kafka = data.get("kafka") or {}
        if isinstance(kafka, BaseModel):
            kafka = kafka.model_dump()
        if not stack.secure or not isinstance(kafka, dict) or kafka.get("bootstrap"):
            return data
        if kafka.get("security_protocol", "PLAINTEXT") != "PLAINTEXT":
            return data
        try:
            secured = stack.secured_kafka(KafkaSettings(**kafka))
        except (TypeError, ValueError):
            return data  # the Kafka group's own validation reports it
        return data | {"kafka": secured.model_dump()}

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(
                "namespace must be 1-64 characters of letters, digits, '_' or '-', "
                f"starting with a letter or digit; got {value!r}"
            )
        return value

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.namespace)

    def task_config(self) -> TaskConfig:
        """What each task computes: the model group with the seed."""
        return self.model.task_config(self.seed)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with overrides by flat name (``None`` values are ignored), validated.

        Root fields and whole groups are accepted too (a group's mapping updates it, a
        group's model replaces it). Neither the environment nor a ``.env`` file is read
        again; an unknown name is a :class:`ConfigError`, whatever its value.
        """
        fields = type(self).model_fields
        unknown = [k for k in changes if k not in fields and k.lower() not in _FLAT]
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        update = {k: v for k, v in changes.items() if v is not None}
        if not update:
            return self
        current = self.model_dump()
        flat = {k: update.pop(k) for k in list(update) if _is_flat(k, update[k])}
        for name, value in update.items():  # root fields and whole groups
            if isinstance(value, BaseModel):
                value = value.model_dump()
            elif name in _GROUPS and isinstance(value, Mapping):
                value = current[name] | dict(value)
            current[name] = value
        for group, values in _nest(flat, decode=False).items():
            current[group] = current[group] | values
        # a custom __init__ makes model_validate run the settings sources: turn them off
        with _without_sources():
            return type(self).model_validate(current)

    def masked(self) -> dict[str, Any]:
        """The effective settings, grouped, every secret masked: fit to print or log."""
        shown: dict[str, Any] = {"namespace": self.namespace, "seed": self.seed}
        for group in _GROUPS:
            values = getattr(self, group)
            shown[group] = {
                name: _shown(name, getattr(values, name)) for name in type(values).model_fields
            }
        return shown


def _shown(name: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if name == "url":
            return mask_url(secret) if secret else None
        return "***" if secret else None
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return value


def read_private_file(path: Path, variable: str) -> str:
    """The text of a secret file (surrounding whitespace dropped) that only its owner may
    read; anything else is a :class:`ConfigError` naming ``variable``, never the text."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{variable} {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{variable} {path} may be read by others: chmod 600 it")
    if not text:
        raise ConfigError(f"{variable} {path} is empty")
    return text


_SECRET_QUERY = re.compile(r"(?i)((?:^|&)(?:password|pass|pwd|token|secret)=)[^&]*")


def mask_url(url: str) -> str:
    """Hide the password of a URL, in its user part and in its query string.

    >>> mask_url("redis://user:hunter2@cache:6379/0")
    'redis://user:***@cache:6379/0'
    >>> mask_url("redis://cache:6379/0?password=hunter2&db=1")
    'redis://cache:6379/0?password=***&db=1'
    >>> mask_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
