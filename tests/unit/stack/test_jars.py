"""The Kafka jars (the broker's and the command-line tools'): the cache's layout, and a
complete cache used without Maven."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftline.core.errors import StackError
from driftline.stack.jars import (
    ensure_kafka_jars,
    ensure_kafka_tools_jars,
    kafka_libs_dir,
    kafka_tools_libs_dir,
)


# -- the jar cache ---------------------------------------------------------------------------------
def test_kafka_libs_dir_layout(tmp_path: Path) -> None:
    assert kafka_libs_dir(tmp_path, "4.1.1") == tmp_path / "kafka-4.1.1" / "libs"
    assert kafka_libs_dir(tmp_path, "4.0.0") != kafka_libs_dir(tmp_path, "4.1.1")


@pytest.mark.parametrize(
    ("where", "ensure"),
    [(kafka_libs_dir, ensure_kafka_jars), (kafka_tools_libs_dir, ensure_kafka_tools_jars)],
    ids=["broker", "tools"],
)
def test_complete_jar_cache_is_used_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: Any, ensure: Any
) -> None:
    libs = where(tmp_path, "4.1.1")
    libs.mkdir(parents=True)
    (libs / ".complete").write_text("4.1.1")
    monkeypatch.setenv("PATH", "")  # no mvn to run, and it must not be needed
    assert ensure(tmp_path, "4.1.1") == libs


# -- Kafka's command-line tools (the console producer) ---------------------------------------------
def test_the_tools_have_a_cache_folder_of_their_own(tmp_path: Path) -> None:
    tools = kafka_tools_libs_dir(tmp_path, "4.1.1")
    assert tools == tmp_path / "kafka-tools-4.1.1" / "libs"
    assert tools != kafka_libs_dir(tmp_path, "4.1.1")


def test_without_maven_the_tools_fetch_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(StackError, match="Maven"):
        ensure_kafka_tools_jars(tmp_path, "4.1.1")
