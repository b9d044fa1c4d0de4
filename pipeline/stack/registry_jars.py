"""Build the local stack's schema registry (Apicurio Registry) from Maven Central into a
cache, once per version.

Maven Central has no runnable Apicurio jar, so a three-file wrapper project shipped with
driftline (``registry-project/``: a ``settings.xml`` mirroring every repository to Central,
a ``pom.xml`` running the Quarkus build over the published app jar, and the
``application.properties`` that makes Quarkus index it) is built with Maven beside the Kafka
jars. The first build downloads about 180 MB (about 3 minutes); the result (the runner jar
and its ``lib/``) is kept, a ``.complete`` marker written last.

>>> registry_dir(Path("/c")).as_posix()
'/c/apicurio-registry-2.1.5.Final'
>>> registry_jar(Path("/c")).as_posix()
'/c/apicurio-registry-2.1.5.Final/target/apicurio-runner-1-runner.jar'
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from driftline.core.errors import StackError

__all__ = ["REGISTRY_VERSION", "ensure_registry_jar", "registry_dir", "registry_jar"]

log = logging.getLogger(__name__)

#: The Apicurio Registry the local stack runs (the last that builds from Central here).
REGISTRY_VERSION = "2.1.5.Final"
_COMPLETE = ".complete"
_JAR = Path("target") / "apicurio-runner-1-runner.jar"
#: The wrapper project's files (package data) and where each goes in the build folder.
_PROJECT = {
    "registry-runtime.pom.xml": Path("pom.xml"),
    "registry-settings.xml": Path("settings.xml"),
    "application.properties": Path("src/main/resources/application.properties"),
}


def registry_dir(cache_dir: Path) -> Path:
    """The built registry's folder in the cache."""
    return cache_dir / f"apicurio-registry-{REGISTRY_VERSION}"


def registry_jar(cache_dir: Path) -> Path:
    """The runnable jar of the built registry (its ``lib/`` beside it)."""
    return registry_dir(cache_dir) / _JAR


def ensure_registry_jar(cache_dir: Path, timeout_s: float = 1200) -> Path:
    """The registry's runnable jar, built with Maven first if the cache has none.

    The build runs in a fresh folder beside the final one and is renamed into place once it
    succeeded, so an interrupted or concurrent build is never half-used.
    """
    final = registry_dir(cache_dir)
    if (final / _COMPLETE).exists():
        return final / _JAR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(
            "Maven ('mvn') is not on PATH: it builds the local schema registry (Debian: "
            "apt-get install maven); or point DRIFTLINE_SCHEMA_REGISTRY_URL at a registry"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f"{final.name}.build-", dir=cache_dir))
    try:
        _write_project(build)
        _run_maven(mvn, build, timeout_s)
        if not (build / _JAR).is_file():
            raise StackError(f"Maven finished but {_JAR} is not in {build}")
        (build / _COMPLETE).write_text(REGISTRY_VERSION)
        if final.exists():
            shutil.rmtree(final)
        build.rename(final)
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return final / _JAR


def _write_project(folder: Path) -> None:
    package = resources.files("driftline.stack").joinpath("registry-project")
    for name, target in _PROJECT.items():
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(package.joinpath(name).read_bytes())


def _run_maven(mvn: str, folder: Path, timeout_s: float) -> None:
    command = [mvn, "-q", "-B", "-s", "settings.xml", "package", "-DskipTests"]
    log.info("building Apicurio Registry %s with Maven in %s", REGISTRY_VERSION, folder)
    try:
        done = subprocess.run(
            command, cwd=folder, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(
            f"Maven did not finish building the schema registry in {timeout_s:.0f} s"
        ) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"Maven could not build Apicurio Registry {REGISTRY_VERSION}:\n{tail}")
