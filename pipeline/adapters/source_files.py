"""Source files (``driftline consume --source FILE``): TOML or YAML, read into a
:class:`~driftline.core.sources.spec.SourceSpec` (``docs/sources.md``).

A file that cannot be read or does not describe a valid source is a
:class:`~driftline.core.errors.SourceFileError` naming the file and the place in it, so a
mistake is refused before anything connects:

>>> parse_source('[topics]\\nevents = ["e"]', "toml", "loans.toml")
Traceback (most recent call last):
...
driftline.core.errors.SourceFileError: loans.toml: [topics]: events holds both kinds: say how \
they are told apart with kind = { field = "...", observation = "...", outcome = "..." } \
(or header = "..."); [observation]: field required; [outcome]: field required
>>> parse_source("topics: [", "yaml", "loans.yaml")
Traceback (most recent call last):
...
driftline.core.errors.SourceFileError: loans.yaml: not valid YAML: line 1, column 10: \
expected the node content, but found '<stream end>'
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import fastavro
import yaml
from pydantic import ValidationError

from driftline.adapters.file_problems import validation_problems, yaml_problem
from driftline.core.errors import SourceFileError
from driftline.core.sources.spec import SourceSpec

__all__ = [
    "SOURCE_SUFFIXES",
    "load_reader_schema",
    "load_source",
    "parse_source",
    "place",
    "reader_schemas",
]

#: The suffixes of a source file, and the syntax each is read as.
SOURCE_SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


def load_source(path: str | Path) -> SourceSpec:
    """The source in ``path`` (``.toml``, ``.yaml`` or ``.yml``). A relative
    ``[format].reader_schema`` (or ``reader_schemas``) is resolved against the file's
    folder, and each schema is read and checked now (:func:`reader_schemas`)."""
    path = Path(path)
    syntax = SOURCE_SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise SourceFileError(f"{path}: a source file is a .toml, .yaml or .yml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFileError(f"{path}: cannot read the source file ({exc})") from exc
    spec = parse_source(text, syntax, str(path), base=path.parent)
    reader_schemas(spec, origin=str(path))
    return spec


def parse_source(
    text: str, syntax: str, origin: str = "source", base: Path | None = None
) -> SourceSpec:
    """The source written in ``text`` (``syntax``: ``"toml"`` or ``"yaml"``); ``origin``
    names it in errors; a relative reader schema is resolved against ``base``.

    >>> spec = parse_source('''
    ... topics: {observations: [loans], outcomes: [loan-outcomes]}
    ... observation: {key: customer, event_id: id, event_time: at, features_except: [ssn]}
    ... outcome: {event_id: id, event_time: at, label: defaulted, labels: {1: true, 0: false}}
    ... ''', "yaml")
    >>> spec.outcome.labels, spec.observation.features_except
    ({'1': True, '0': False}, ('ssn',))
    """
    raw: Any
    try:
        raw = tomllib.loads(text) if syntax == "toml" else yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceFileError(f"{origin}: not valid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        raise SourceFileError(f"{origin}: not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise SourceFileError(
            f"{origin}: a source file is a table of keys ([topics], [format], [observation], "
            "[outcome])"
        )
    try:
        spec = SourceSpec.model_validate(raw)
    except ValidationError as exc:
        raise SourceFileError(
            f"{origin}: {validation_problems(exc, 'source file', place, lower=True)}"
        ) from None
    if base is not None:
        fmt = spec.format
        update: dict[str, Any] = {}
        if fmt.reader_schema is not None:
            update["reader_schema"] = base / fmt.reader_schema
        if fmt.reader_schemas is not None:
            update["reader_schemas"] = {k: base / v for k, v in fmt.reader_schemas.items()}
        if update:  # (an absolute path stays as it is: base / absolute is the absolute)
            spec = spec.model_copy(update={"format": fmt.model_copy(update=update)})
    return spec


def load_reader_schema(spec: SourceSpec, origin: str = "source") -> dict[str, Any] | None:
    """The Avro reader schema ``[format].reader_schema`` names (the ``.avsc`` file's JSON,
    a record schema fastavro parses), or ``None`` when there is none."""
    path = spec.format.reader_schema
    return None if path is None else _reader_schema(path, f"{origin}: [format].reader_schema")


def reader_schemas(spec: SourceSpec, origin: str = "source") -> dict[str, dict[str, Any]]:
    """The reader schema of each input topic that has one (``[format].reader_schema`` for
    all, or ``[format].reader_schemas`` by kind), each file read and checked once."""
    fmt = spec.format
    places: dict[Path, str] = {}
    if fmt.reader_schema is not None:
        places[fmt.reader_schema] = "[format].reader_schema"
    for kind, path in (fmt.reader_schemas or {}).items():
        places.setdefault(path, f"[format].reader_schemas.{kind}")
    read = {path: _reader_schema(path, f"{origin}: {where}") for path, where in places.items()}
    return {topic: read[path] for topic, path in spec.reader_schema_paths().items()}


def _reader_schema(path: Path, what: str) -> dict[str, Any]:
    where = f"{what}: {path}"
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceFileError(f"{where}: cannot read it ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise SourceFileError(f"{where}: not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SourceFileError(f"{where}: an Avro record schema is expected")
    try:
        fastavro.parse_schema(schema)
    except Exception as exc:  # fastavro raises several types for a bad schema
        raise SourceFileError(f"{where}: not a valid Avro schema ({exc})") from None
    return schema


def place(loc: tuple[int | str, ...]) -> str:
    """Where pydantic's error ``loc`` is in a source file, as its reader writes it.

    >>> place(("observation", "event_time")), place(("observation", "features", 2))
    ('[observation].event_time', '[observation].features[2]')
    >>> place(("topics",)), place(())
    ('[topics]', '')
    """
    if not loc:
        return ""
    table, *rest = loc
    text = f"[{table}]"
    for part in rest:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
