"""The config file: the settings in TOML, in the groups ``driftline config`` prints
(``namespace`` and ``seed`` at the top, then ``[kafka]``, ``[redis]``, ``[model]``...),
each key a field of its group. A key no setting has is refused with its place, and a
value a group refuses is said with its place, both before anything else is read.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "driftline.toml"
>>> _ = path.write_text('seed = 7\\n[kafka]\\nbootstrap_server = "k:9092"\\n')
>>> try:
...     read_config_file(path)
... except ConfigError as exc:
...     print(str(exc).replace(str(path), "driftline.toml"))
driftline.toml: [kafka].bootstrap_server: unknown key (did you mean bootstrap?)
>>> _ = path.write_text('seed = 7\\n[checkpoints]\\nevery = 10\\n')
>>> read_config_file(path)
{'seed': 7, 'checkpoints': {'every': 10}}
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings
from pydantic_settings.sources import TomlConfigSettingsSource

from driftline.adapters.file_problems import validation_problems
from driftline.adapters.settings.flat import FLAT, GROUPS
from driftline.adapters.settings.group import PREFIX
from driftline.adapters.settings.secret_text import mask_text
from driftline.core.errors import ConfigError

__all__ = [
    "CONFIG_VARIABLE",
    "ROOT_KEYS",
    "ConfigFileSource",
    "config_file_given",
    "read_config_file",
]

#: The variable that names the config file when no ``--config`` (or ``from_file``) does.
CONFIG_VARIABLE = f"{PREFIX}CONFIG"
#: The keys of the file outside every group.
ROOT_KEYS = ("namespace", "seed")

#: The file :meth:`Settings.from_file` reads, while it builds (``None``: the variable's).
_GIVEN: ContextVar[Path | None] = ContextVar("driftline_config_file", default=None)


@contextmanager
def config_file_given(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """While inside, the settings read ``path`` as their config file (``None``: the file
    :data:`CONFIG_VARIABLE` names, if any)."""
    token = _GIVEN.set(None if path is None else Path(path))
    try:
        yield
    finally:
        _GIVEN.reset(token)


def config_file_path() -> Path | None:
    """The config file of this read: the one given, else :data:`CONFIG_VARIABLE`'s."""
    given = _GIVEN.get()
    if given is not None:
        return given
    named = os.environ.get(CONFIG_VARIABLE, "").strip()
    return Path(named) if named else None


class ConfigFileSource(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, over the config file of this read (none: nothing),
    checked as :func:`read_config_file` does."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        self._path = config_file_path()
        if self._path is not None and not self._path.is_file():
            where = f"{self._path} (from {CONFIG_VARIABLE})" if _GIVEN.get() is None else self._path
            problem = "not a file" if self._path.exists() else "no such file"
            raise ConfigError(f"config file {where}: {problem}")
        super().__init__(settings_cls, toml_file=self._path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return read_config_file(Path(file_path))


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings ``path`` holds, by group, checked: every key a setting's, every group's
    values valid (the groups' defaults filling the rest). Anything else is a
    :class:`ConfigError` that starts with the file and says the place."""
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems = [*_unknown_keys(data)]
    if not problems:
        problems = [*_invalid_values(data)]
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return data


def _unknown_keys(data: Mapping[str, Any]) -> Iterator[str]:
    for key, value in data.items():
        if key in GROUPS:
            if not isinstance(value, Mapping):
                yield f"{key}: must be a table ([{key}])"
                continue
            fields = list(GROUPS[key].model_fields)
            for name in value:
                if name not in fields:
                    yield f"[{key}].{name}: unknown key{_did_you_mean(name, fields)}"
        elif key not in ROOT_KEYS:
            yield f"{key}: unknown key{_root_hint(key)}"


def _root_hint(key: str) -> str:
    """A root key that is a variable's flat name is its group's field; else the closest
    root key or group."""
    if key.lower() in FLAT:
        group, name = FLAT[key.lower()]
        return f" (did you mean [{group}].{name}?)"
    return _did_you_mean(key, [*ROOT_KEYS, *(f"[{group}]" for group in GROUPS)])


def _did_you_mean(name: str, known: list[str]) -> str:
    bare = {k.strip("[]"): k for k in known}
    close = difflib.get_close_matches(name, list(bare), n=1)
    return f" (did you mean {bare[close[0]]}?)" if close else ""


def _place(group: str, loc: tuple[int | str, ...]) -> str:
    """Where in the file a group's problem is: ``[kafka].partitions``."""
    return f"[{group}]." + ".".join(map(str, loc))


def _invalid_values(data: Mapping[str, Any]) -> Iterator[str]:
    for group, cls in GROUPS.items():
        if group not in data:
            continue
        table = data[group]
        try:
            cls.model_validate(table)
        except ValidationError as exc:
            problems = validation_problems(exc, f"[{group}] table", partial(_place, group))
            secrets = [str(table[name]) for name in cls.secrets() if name in table]
            yield mask_text(problems, secrets)
