"""The config file: the groups ``driftline config`` prints, unknown keys refused with their
place, and the precedence keywords > environment > .env > file > defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftline.adapters.settings import Settings, read_config_file
from driftline.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DRIFTLINE_* variable of the caller's, and a working directory without a .env."""
    for name in [n for n in os.environ if n.upper().startswith("DRIFTLINE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str, name: str = "driftline.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_file(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[kafka]\nbootstrap_server = "k:9092"\n', "[kafka].bootstrap_server: unknown key"),
        ('[kafka]\nbootstrap_server = "k:9092"\n', "(did you mean bootstrap?)"),
        (
            "checkpoint_every = 10\n",
            "checkpoint_every: unknown key (did you mean [checkpoints].every?)",
        ),
        ("[checkpoint]\nevery = 10\n", "checkpoint: unknown key (did you mean [checkpoints]?)"),
        ("namespce = 'x'\n", "namespce: unknown key (did you mean namespace?)"),
        ('kafka = "k:9092"\n', "kafka: must be a table ([kafka])"),
        ("[kafka.extra]\nx = 1\n", "[kafka].extra: unknown key"),
        ("[worker]\nzzz = 1\n", "[worker].zzz: unknown key"),
    ],
)
def test_an_unknown_key_is_refused_with_its_place(tmp_path: Path, text: str, said: str):
    path = write(tmp_path, text)
    message = refused(path)
    assert message.startswith(f"{path}: ") and said in message


def test_the_example_of_the_issue_reads_as_it_says(tmp_path: Path):
    path = write(tmp_path, '[kafka]\nbootstrap_server = "k:9092"\n')
    assert (
        refused(path) == f"{path}: [kafka].bootstrap_server: unknown key (did you mean bootstrap?)"
    )


def test_an_invalid_value_is_refused_with_its_place_and_no_secret(tmp_path: Path):
    path = write(tmp_path, '[kafka]\npartitions = "many"\n')
    assert refused(path).startswith(f"{path}: [kafka].partitions: ")
    path = write(tmp_path, '[checkpoints]\nstore = "s3"\n')
    assert "[checkpoints].store" in refused(path)
    # a secret of the wrong type: the value is not repeated in the message
    path = write(tmp_path, "[schema_registry]\npassword = 123456789\n")
    message = refused(path)
    assert "[schema_registry].password" in message and "123456789" not in message


def test_not_toml_and_no_file_are_config_errors(tmp_path: Path):
    path = write(tmp_path, "[kafka\n")
    assert refused(path).startswith(f"{path}: not valid TOML")
    assert (
        refused(tmp_path / "missing.toml")
        == f"config file {tmp_path / 'missing.toml'}: no such file"
    )


def test_the_file_sets_what_it_says_and_the_defaults_the_rest(tmp_path: Path):
    path = write(
        tmp_path,
        'namespace = "loans"\nseed = 7\n[kafka]\nbootstrap = "k1:9092"\npartitions = 6\n'
        '[model]\nchallengers = {nb = "naive_bayes.GaussianNB()"}\n'
        "feature_bounds = {distance = [0, 6000]}\n"
        "[checkpoints]\nevery = 10\n",
    )
    s = Settings.from_file(path)
    assert (s.namespace, s.seed, s.kafka.bootstrap, s.kafka.partitions) == (
        "loans",
        7,
        "k1:9092",
        6,
    )
    assert s.model.challengers == {"nb": "naive_bayes.GaussianNB()"}
    assert s.model.feature_bounds == {"distance": (0.0, 6000.0)}
    assert s.checkpoints.every == 10 and s.checkpoints.interval_s == 10.0
    assert s.kafka.client_id == "driftline"


def test_precedence_keywords_environment_dotenv_file_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(
        tmp_path,
        "[kafka]\npartitions = 6\nretention_ms = 1000\nrequest_timeout_ms = 5000\n"
        "replication_factor = 2\n",
    )
    (tmp_path / ".env").write_text("DRIFTLINE_TOPIC_RETENTION_MS=2000\nDRIFTLINE_PARTITIONS=8\n")
    monkeypatch.setenv("DRIFTLINE_PARTITIONS", "9")
    monkeypatch.setenv("DRIFTLINE_KAFKA_REQUEST_TIMEOUT_MS", "7000")
    s = Settings.from_file(path, kafka_request_timeout_ms=9000)
    kafka = s.kafka
    assert kafka.request_timeout_ms == 9000  # keyword over environment over file
    assert kafka.partitions == 9  # environment over .env over file
    assert kafka.retention_ms == 2000  # .env over file
    assert kafka.replication_factor == 2  # the file over the default
    assert kafka.client_id == "driftline"  # the default


def test_a_mapping_from_the_environment_replaces_the_files_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(tmp_path, '[model]\nchallengers = {a = "x.A()"}\nspec = "y.B()"\n')
    monkeypatch.setenv("DRIFTLINE_CHALLENGERS", '{"b": "z.C()"}')
    s = Settings.from_file(path)
    assert s.model.challengers == {"b": "z.C()"} and s.model.spec == "y.B()"


def test_driftline_config_names_the_file_of_settings_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = write(tmp_path, "seed = 11\n")
    monkeypatch.setenv("DRIFTLINE_CONFIG", str(path))
    assert Settings().seed == 11
    other = write(tmp_path, "seed = 12\n", "other.toml")
    assert Settings.from_file(other).seed == 12  # the file given wins over the variable's
    monkeypatch.setenv("DRIFTLINE_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="gone.toml \\(from DRIFTLINE_CONFIG\\): no such file"):
        Settings()


def test_overrides_do_not_read_the_file_again(tmp_path: Path):
    path = write(tmp_path, "seed = 11\n[kafka]\npartitions = 6\n")
    s = Settings.from_file(path)
    path.write_text("this is no longer TOML [")
    changed = s.with_overrides(namespace="other")
    assert (changed.seed, changed.kafka.partitions, changed.namespace) == (11, 6, "other")


def test_read_config_file_answers_the_groups_as_written(tmp_path: Path):
    path = write(tmp_path, 'seed = 3\n[redis]\nurl = "redis://cache:6379/0"\n')
    assert read_config_file(path) == {"seed": 3, "redis": {"url": "redis://cache:6379/0"}}


DOCS = Path(__file__).resolve().parents[4] / "docs" / "reference" / "settings.md"


def test_the_example_of_the_docs_loads_as_it_says(tmp_path: Path):
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    s = Settings.from_file(write(tmp_path, example))
    assert (s.namespace, s.seed, s.kafka.partitions) == ("loans", 7, 6)
    assert s.kafka.sasl_password_file == Path("/run/secrets/kafka-password")
    assert s.model.challengers == {"tree": "tree.HoeffdingTreeClassifier()"}
    assert s.model.feature_bounds == {"income": (0.0, 10_000_000.0)}
    assert (s.checkpoints.store, s.checkpoints.every) == ("directory", 2000)
    assert s.secret_values() == []  # the example keeps its secrets in files
