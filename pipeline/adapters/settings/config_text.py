"""The effective settings written out: JSON (what ``driftline config`` prints), a TOML
config file in the same groups, or ``DRIFTLINE_*`` lines for a ``.env`` file or a shell.

Secrets are masked unless asked for (``show_secrets``). In a TOML or env text a masked
secret is a comment, so the text still loads (the secret then comes from the environment,
a ``*_file`` setting or a ``.env`` file), and never as ``***``.

>>> from driftline.adapters.settings import Settings
>>> s = Settings(_env_file=None, namespace="demo", checkpoints={"key": "k" * 16})
>>> text = config_toml(s)
>>> 'namespace = "demo"' in text, "[checkpoints]" in text, "kkkk" in text
(True, True, False)
>>> [line for line in config_env(s).splitlines() if "CHECKPOINT_KEY" in line]
['# DRIFTLINE_CHECKPOINT_KEY=*** (masked: driftline config --show-secrets writes it)']
>>> "DRIFTLINE_CHECKPOINT_KEY=kkkk" in config_env(s, show_secrets=True)
True
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from driftline.adapters.settings.config_file import CONFIG_VARIABLE
from driftline.adapters.settings.flat import GROUPS
from driftline.adapters.settings.group import PREFIX
from driftline.adapters.settings.secret_text import mask_url

__all__ = ["ConfigFormat", "Entry", "config_env", "config_json", "config_text", "config_toml"]

_MASKED = "(masked: driftline config --show-secrets writes it)"


class ConfigFormat(StrEnum):
    """How ``driftline config`` writes the settings."""

    JSON = "json"
    TOML = "toml"
    ENV = "env"


@dataclass(frozen=True)
class Entry:
    """One setting as written: its group (``None``: the root), name, variable, value as
    plain data (``None``: unset), whether the value is masked, and what it means."""

    group: str | None
    name: str
    variable: str
    value: Any
    masked: bool = False
    description: str | None = None


def entries(settings: BaseModel, *, show_secrets: bool = False) -> Iterator[Entry]:
    """Every setting of ``settings``, root first, then group by group."""
    for name in ("namespace", "seed"):
        info = type(settings).model_fields[name]
        variable = f"{PREFIX}{name.upper()}"
        yield Entry(None, name, variable, getattr(settings, name), False, info.description)
    for group, cls in GROUPS.items():
        values = getattr(settings, group)
        variables = cls.variables()
        for name, info in cls.model_fields.items():
            value, masked = _plain(name, getattr(values, name), show_secrets)
            variable = f"{PREFIX}{variables[name].upper()}"
            yield Entry(group, name, variable, value, masked, info.description)


def _plain(name: str, value: Any, show_secrets: bool) -> tuple[Any, bool]:
    """A value as JSON and TOML say it, and whether it was masked."""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        if show_secrets or not secret:
            return secret or None, False
        shown = mask_url(secret) if name == "url" else "***"
        return shown, shown != secret
    if isinstance(value, Enum):
        return value.value, False
    if isinstance(value, Path):
        return str(value), False
    if isinstance(value, tuple | list):
        return [_plain(name, v, show_secrets)[0] for v in value], False
    if isinstance(value, Mapping):
        return {k: _plain(name, v, show_secrets)[0] for k, v in value.items()}, False
    return value, False


def config_json(settings: BaseModel, *, show_secrets: bool = False) -> dict[str, Any]:
    """The settings grouped as ``driftline config`` prints them (as :meth:`Settings.masked`
    unless ``show_secrets``)."""
    shown: dict[str, Any] = {}
    for entry in entries(settings, show_secrets=show_secrets):
        place = shown if entry.group is None else shown.setdefault(entry.group, {})
        place[entry.name] = entry.value
    return shown


def config_toml(settings: BaseModel, *, show_secrets: bool = False) -> str:
    """A config file of ``settings``: every setting under its group with its variable and
    meaning as a comment; unset ones and masked secrets commented out."""
    lines = [
        f"# driftline settings: driftline --config FILE (or {CONFIG_VARIABLE}) reads them;",
        "# DRIFTLINE_* variables and a .env file override what is set here.",
    ]
    group: str | None = None
    for entry in entries(settings, show_secrets=show_secrets):
        if entry.group != group:
            group = entry.group
            lines += ["", f"[{group}]"]
        about = f"{entry.variable}: {entry.description}" if entry.description else entry.variable
        lines.append(f"# {about}")
        if entry.value is None:
            lines.append(f"# {entry.name}: unset")
        elif entry.masked:
            lines.append(f"# {entry.name} = {toml_value(entry.value)} {_MASKED}")
        else:
            lines.append(f"{entry.name} = {toml_value(entry.value)}")
    return "\n".join(lines) + "\n"


def config_env(settings: BaseModel, *, show_secrets: bool = False) -> str:
    """``DRIFTLINE_*=value`` lines of every setting that is set (quoted for a shell and a
    ``.env`` file alike; structured values as JSON); masked secrets commented out."""
    lines = []
    for entry in entries(settings, show_secrets=show_secrets):
        if entry.value is None:
            continue
        if entry.masked:
            lines.append(f"# {entry.variable}={entry.value} {_MASKED}")
            continue
        value = entry.value
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list | dict):
            text = json.dumps(value)
        else:
            text = str(value)
        lines.append(f"{entry.variable}={shlex.quote(text)}")
    return "\n".join(lines) + "\n"


def config_text(settings: BaseModel, form: ConfigFormat, *, show_secrets: bool = False) -> str:
    """The settings as ``form`` says, ending with a new line."""
    if form is ConfigFormat.TOML:
        return config_toml(settings, show_secrets=show_secrets)
    if form is ConfigFormat.ENV:
        return config_env(settings, show_secrets=show_secrets)
    return json.dumps(config_json(settings, show_secrets=show_secrets), default=str) + "\n"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(value: Any) -> str:
    """A TOML value of plain data (strings, numbers, booleans, lists, mappings).

    >>> toml_value({"distance": [0.0, 6000.0], "a b": "x\\ny"})
    '{distance = [0.0, 6000.0], "a b" = "x\\\\ny"}'
    >>> toml_value(float("inf")), toml_value(True), toml_value(1e-05)
    ('inf', 'true', '1e-05')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        pairs = (f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML value for {type(value).__name__}")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)
