"""The Kafka jars: the cache's layout, and a complete cache used without Maven."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.stack.jars import ensure_kafka_jars, kafka_libs_dir


# -- the jar cache ---------------------------------------------------------------------------------
def test_kafka_libs_dir_layout(tmp_path: Path) -> None:
    assert kafka_libs_dir(tmp_path, "4.1.1") == tmp_path / "kafka-4.1.1" / "libs"
    assert kafka_libs_dir(tmp_path, "4.0.0") != kafka_libs_dir(tmp_path, "4.1.1")


def test_complete_jar_cache_is_used_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = kafka_libs_dir(tmp_path, "4.1.1")
    libs.mkdir(parents=True)
    (libs / ".complete").write_text("4.1.1")
    monkeypatch.setenv("PATH", "")  # no mvn to run, and it must not be needed
    assert ensure_kafka_jars(tmp_path, "4.1.1") == libs
