"""Data contracts read from files: TOML or YAML, and the contracts driftline ships.

A file that cannot be read or does not make a valid contract is a
:class:`~driftline.core.errors.ConfigError` naming the file and where in it the problem is,
never a traceback:

>>> contract = builtin_contract("flights")
>>> contract.stream.late_policy, contract.features["distance"].unit
('predict-only', 'mi')
>>> parse_contract('[features.distance]\\nrange = [6000, 10]', "toml", "bad.toml")
Traceback (most recent call last):
...
driftline.core.errors.ConfigError: bad.toml: features.distance: range [6000, 10]: low is above high
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from driftline.adapters.file_problems import validation_problems, yaml_problem
from driftline.core.contract.check import Contract
from driftline.core.errors import ConfigError

__all__ = [
    "BUILTIN_CONTRACTS",
    "builtin_contract",
    "find_contract",
    "load_contract",
    "parse_contract",
]

#: The contracts shipped in ``pipeline/contracts/`` (package data).
BUILTIN_CONTRACTS = ("flights",)


def find_contract(name: str) -> Contract:
    """The contract a setting names: a built-in one by its name (a word with no file
    suffix, :data:`BUILTIN_CONTRACTS`), else the file at that path.

    >>> find_contract("flights").stream.source
    'origin'
    >>> find_contract("trains")
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: no built-in contract 'trains'; built-in: flights \
(or give a .toml, .yaml or .yml file)
    """
    if not Path(name).suffix and "/" not in name and "\\" not in name:
        return builtin_contract(name)
    return load_contract(name)


def load_contract(path: str | Path) -> Contract:
    """The contract in ``path`` (``.toml``, ``.yaml`` or ``.yml``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"{path}: a contract is a .toml, .yaml or .yml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the contract ({exc})") from exc
    return parse_contract(text, "toml" if suffix == ".toml" else "yaml", str(path))


def builtin_contract(name: str) -> Contract:
    """A contract shipped with driftline, by name (:data:`BUILTIN_CONTRACTS`)."""
    if name not in BUILTIN_CONTRACTS:
        raise ConfigError(
            f"no built-in contract {name!r}; built-in: {', '.join(BUILTIN_CONTRACTS)} "
            "(or give a .toml, .yaml or .yml file)"
        )
    source = resources.files("driftline").joinpath("contracts", f"{name}.toml")
    return parse_contract(source.read_text(encoding="utf-8"), "toml", f"contracts/{name}.toml")


def parse_contract(text: str, syntax: str, origin: str = "contract") -> Contract:
    """The contract written in ``text`` (``syntax``: ``"toml"`` or ``"yaml"``); ``origin``
    names it in errors.

    >>> parse_contract("features: {x: {type: boolean}}", "yaml").features["x"].type
    'boolean'
    >>> parse_contract("features: {x: {type: text}}", "yaml")
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: contract: features.x.type: Input should be 'number', \
'integer', 'boolean', 'category' or 'time' (got 'text')
    """
    raw: Any
    try:
        raw = tomllib.loads(text) if syntax == "toml" else yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {yaml_problem(exc)}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a contract is a table of keys (stream, features, rules)")
    try:
        return Contract.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {validation_problems(exc, 'contract')}") from None
