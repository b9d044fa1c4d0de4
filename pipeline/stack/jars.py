"""Fetch the Kafka broker's jars (and, for tests and users, Kafka's command-line tools)
from Maven Central into a cache, once per version."""

from __future__ import annotations

import logging
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from driftline.core.errors import StackError

__all__ = [
    "ensure_kafka_jars",
    "ensure_kafka_tools_jars",
    "kafka_libs_dir",
    "kafka_tools_libs_dir",
]

log = logging.getLogger(__name__)
_COMPLETE = ".complete"


def kafka_libs_dir(cache_dir: Path, version: str) -> Path:
    """Where the jars of Kafka ``version`` live in the cache.

    >>> kafka_libs_dir(Path("/c"), "4.1.1").as_posix()
    '/c/kafka-4.1.1/libs'
    """
    return cache_dir / f"kafka-{version}" / "libs"


def ensure_kafka_jars(cache_dir: Path, version: str, timeout_s: float = 900) -> Path:
    """Return the folder holding Kafka ``version``'s runtime jars, fetching them if needed.

    Maven resolves ``org.apache.kafka:kafka_2.13`` with its runtime dependencies (its
    local repository ``~/.m2`` is a second cache), then copies them into the folder. A
    marker file is written last, so an interrupted fetch is redone, never half-used.
    """
    libs = kafka_libs_dir(cache_dir, version)
    return _fetch(libs, "kafka-runtime.pom.xml", version, f"kafka_2.13-{version}.jar", timeout_s)


def kafka_tools_libs_dir(cache_dir: Path, version: str) -> Path:
    """Where Kafka's command-line tools (``kafka-tools``) live in the cache.

    >>> kafka_tools_libs_dir(Path("/c"), "4.1.1").as_posix()
    '/c/kafka-tools-4.1.1/libs'
    """
    return cache_dir / f"kafka-tools-{version}" / "libs"


def ensure_kafka_tools_jars(cache_dir: Path, version: str, timeout_s: float = 900) -> Path:
    """The folder holding ``org.apache.kafka:kafka-tools`` (the console producer and
    consumer, ``org.apache.kafka.tools.ConsoleProducer``) with its runtime dependencies,
    fetched as :func:`ensure_kafka_jars` fetches the broker's; the broker does not need
    them, so the stack never fetches them itself."""
    libs = kafka_tools_libs_dir(cache_dir, version)
    return _fetch(libs, "kafka-tools.pom.xml", version, f"kafka-tools-{version}.jar", timeout_s)


def _fetch(libs: Path, pom_name: str, version: str, expected: str, timeout_s: float) -> Path:
    """Copy the runtime dependencies of the packaged ``pom_name`` into ``libs`` with Maven
    (once: a marker written last says the folder is complete)."""
    if (libs / _COMPLETE).exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven ('mvn') is not on PATH; install it (Debian: apt-get install maven) or "
            "point DRIFTLINE_KAFKA_BOOTSTRAP at an existing cluster"
        )
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    pom = resources.files("driftline.stack").joinpath(pom_name)
    with resources.as_file(pom) as pom_path:
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom_path),
            f"-Dkafka.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
        log.info("fetching %s's jars (Kafka %s) with Maven into %s", pom_name, version, libs)
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"Maven did not finish fetching Kafka in {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not fetch Kafka {version}:\n{tail}")
    if not (libs / expected).exists():
        raise StackError(f"Maven finished but {expected} is not in {libs}")
    (libs / _COMPLETE).write_text(version)
    return libs
