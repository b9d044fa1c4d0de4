"""Settings: read from the environment and .env files, validated, frozen, secrets masked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.adapters.settings import Settings, TopicNames, mask_url

REDIS_PASSWORD = "Rp4ss-9f3c1e"
SASL_PASSWORD = "Sp4ss-77ab02"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DRIFTLINE_* variable of the shell running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("DRIFTLINE_"):
            monkeypatch.delenv(name)


def test_defaults_without_environment() -> None:
    s = Settings(_env_file=None)
    assert (s.namespace, s.kafka_bootstrap, s.redis_url, s.partitions) == (
        "driftline",
        None,
        None,
        3,
    )


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    monkeypatch.setenv("DRIFTLINE_KAFKA_BOOTSTRAP", "k1:9092,k2:9092")
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", "redis://cache:6379/2")
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", "12")
    s = Settings(_env_file=None)
    assert s.namespace == "fromenv"
    assert s.kafka_bootstrap == "k1:9092,k2:9092"
    assert s.redis_url is not None
    assert s.redis_url.get_secret_value() == "redis://cache:6379/2"
    assert s.partitions == 12
    assert s.topics.events == "fromenv.events"


def test_environment_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("driftline_namespace", "lower")
    assert Settings(_env_file=None).namespace == "lower"


@pytest.mark.parametrize("bad", ["0", "1025", "three"])
def test_bad_partitions_from_the_environment_are_rejected(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", bad)
    with pytest.raises(ValidationError, match="partitions"):
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
    assert (s.namespace, s.partitions, s.kafka_bootstrap) == ("fromfile", 7, "broker:9092")


def test_environment_beats_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DRIFTLINE_NAMESPACE=fromfile\nDRIFTLINE_PARTITIONS=7\n")
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    s = Settings(_env_file=env_file)
    assert (s.namespace, s.partitions) == ("fromenv", 7)


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "fromenv")
    assert Settings(_env_file=None, namespace="given").namespace == "given"


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
    assert (changed.namespace, changed.partitions) == ("base", 9)
    assert (s.namespace, s.partitions) == ("base", 4)  # the original is untouched


def test_with_overrides_keeps_secrets() -> None:
    url = f"redis://:{REDIS_PASSWORD}@cache:6379/0"
    s = Settings(_env_file=None, redis_url=url, kafka_sasl_password=SASL_PASSWORD)
    changed = s.with_overrides(seed=7)
    assert changed.seed == 7
    assert changed.redis_url is not None and changed.redis_url.get_secret_value() == url
    assert changed.kafka_sasl_password is not None
    assert changed.kafka_sasl_password.get_secret_value() == SASL_PASSWORD


@pytest.mark.parametrize(
    "override", [{"namespace": "bad name"}, {"partitions": 0}, {"brokers": 9}], ids=str
)
def test_with_overrides_validates(override: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None).with_overrides(**override)


def test_with_overrides_does_not_reread_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(_env_file=None, namespace="given")
    monkeypatch.setenv("DRIFTLINE_NAMESPACE", "later")
    assert s.with_overrides(partitions=2).namespace == "given"


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
    assert "***" in text
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
    assert "cache:6379/0?" in text  # the rest of the URL stays readable


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
    assert s.masked()["redis_url"] == "redis://:***@[::1]:6379/0"


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
    assert s.masked()["kafka_sasl_password"] == "***"
    assert s.masked()["kafka_sasl_username"] == "svc"


def test_masked_hides_secrets_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTLINE_REDIS_URL", f"redis://:{REDIS_PASSWORD}@cache:6379/0")
    monkeypatch.setenv("DRIFTLINE_KAFKA_SASL_PASSWORD", SASL_PASSWORD)
    text = masked_text(Settings(_env_file=None))
    assert REDIS_PASSWORD not in text
    assert SASL_PASSWORD not in text


def test_secrets_do_not_show_in_repr_or_str() -> None:
    s = Settings(
        _env_file=None,
        redis_url=f"redis://:{REDIS_PASSWORD}@cache:6379/0",
        kafka_sasl_password=SASL_PASSWORD,
    )
    for text in (repr(s), str(s), repr(s.kafka("b:9092"))):
        assert REDIS_PASSWORD not in text
        assert SASL_PASSWORD not in text


def test_masked_lists_every_setting_and_is_json() -> None:
    s = Settings(_env_file=None)
    shown = s.masked()
    assert set(shown) == set(Settings.model_fields)
    assert json.loads(masked_text(s)) == shown
    assert shown["redis_url"] is None and shown["kafka_sasl_password"] is None


# -- frozen, derived names -----------------------------------------------------------------------
def test_settings_are_frozen() -> None:
    s = Settings(_env_file=None, namespace="fixed")
    with pytest.raises(ValidationError):
        s.namespace = "changed"  # type: ignore[misc]
    assert s.namespace == "fixed"


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


def test_kafka_config_carries_the_client_settings() -> None:
    s = Settings(
        _env_file=None,
        kafka_client_id="me",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_password=SASL_PASSWORD,
        kafka_request_timeout_ms=5_000,
    )
    config = s.kafka("b1:9092")
    assert (config.bootstrap, config.client_id, config.security_protocol) == (
        "b1:9092",
        "me",
        "SASL_PLAINTEXT",
    )
    assert config.request_timeout_ms == 5_000
    assert config.sasl_password is not None
    assert config.sasl_password.get_secret_value() == SASL_PASSWORD
