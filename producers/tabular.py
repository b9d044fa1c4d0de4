"""Replay of any table, a CSV or JSON-lines file, as labelled events in file order.

Each row is one :class:`~driftline.core.events.model.Observation` (features from the chosen columns)
and, when its ``label`` cell is not empty, one :class:`~driftline.core.events.model.Outcome` whose
time is read from the ``outcome_time`` column or is ``outcome_delay`` after the
observation. Rows are yielded in file order; the replay step sorts by arrival later.

Values. CSV cells are text and are typed by :func:`parse_csv_value`: the missing markers
``""``, ``NA``, ``N/A``, ``null``, ``None`` and ``NaN`` (any case, surrounding spaces
ignored) are ``None``; ``true``/``false`` (any case) are booleans; integers such as
``-12`` are ``int`` (but ``007`` keeps its leading zero as text); decimals such as
``1.5`` or ``2e-3`` are ``float``; anything else is the cell's text unchanged. Key and
event-id cells are never typed: ``007`` stays ``"007"``. JSON-lines values keep their
JSON types (a missing member is ``None``); the first record acts as the header: it names
the columns that options are checked against and, when ``features`` is not given, the
feature columns (later members outside it are ignored, with one warning per file).

Times. An ISO 8601 string (``2024-01-01T09:00:00Z``, ``2024-01-01 09:00``,
``2024-01-01``) is read with :meth:`datetime.fromisoformat`; a naive one is wall-clock
time in ``time_zone`` (read by :func:`driftline.core.times.localize`: first occurrence when
ambiguous, offset before the change in a spring-forward gap), an aware one keeps its
offset. A number (a JSON number, or a CSV cell that looks like one) is an epoch time in
``time_unit``: seconds (``"s"``, default) or milliseconds (``"ms"``), always UTC.

Errors. Option mistakes (unknown columns, a label without exactly one of
``outcome_time``/``outcome_delay``, an unknown time zone...) raise
:class:`~driftline.core.errors.ConfigError` when :func:`table_events` is called. A broken row
(missing or empty key, unparseable time, infinite or out-of-range number, nested JSON
value, an outcome before its observation, a repeated event id) raises
:class:`~driftline.core.errors.EventValidationError` naming the file, line and column when it
is reached: a replay tool must not silently drop rows. Events before it were yielded.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = Path(tmp) / "loans.csv"
...     _ = path.write_text("id,t,customer,amount,default\\n7,2024-01-01 09:00,c1,120.5,false\\n")
...     [event] = table_events(path, key="customer", event_time="t", label="default",
...                            event_id="id", outcome_delay=timedelta(days=30),
...                            time_zone="Europe/Paris")
>>> event.observation.event_time.isoformat(), event.observation.features
('2024-01-01T08:00:00+00:00', {'amount': 120.5})
>>> event.outcome.event_time.date().isoformat(), event.outcome.label
('2024-01-31', False)
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from driftline.core.errors import ConfigError, EventValidationError
from driftline.core.events.model import FeatureValue, Label, Observation, Outcome
from driftline.core.times import EpochUnit, from_epoch, localize, to_utc
from driftline.producers.sources import LabelledEvent

__all__ = [
    "MISSING_MARKERS",
    "TableFormat",
    "TimeUnit",
    "parse_csv_value",
    "parse_time",
    "table_events",
]

logger = logging.getLogger(__name__)

TableFormat = Literal["csv", "jsonl"]
TimeUnit = EpochUnit

#: CSV cells (compared case-insensitively, surrounding spaces ignored) that mean missing.
MISSING_MARKERS = frozenset({"", "na", "n/a", "null", "none", "nan"})

_SUFFIXES: Mapping[str, TableFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_INT = re.compile(r"[+-]?[0-9]+")
_LEADING_ZERO = re.compile(r"[+-]?0[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_INT64 = range(-(2**63), 2**63)
_MAX_NAME = 128


def parse_csv_value(text: str) -> FeatureValue:
    """The typed value of a CSV cell (see the module docstring for the rules).

    >>> [parse_csv_value(cell) for cell in ["12", "1.5", "TRUE", "NA", "007", " x "]]
    [12, 1.5, True, None, '007', ' x ']
    """
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in MISSING_MARKERS:
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.fullmatch(stripped):
        return text if _LEADING_ZERO.fullmatch(stripped) else int(stripped)
    if _FLOAT.fullmatch(stripped):
        number = float(stripped)
        if not math.isfinite(number):
            raise EventValidationError(f"number {stripped!r} is too large for a float")
        return number
    if lowered in _INFINITE:
        raise EventValidationError(f"{stripped!r} is not a finite number; use an empty cell")
    return text


def parse_time(value: Any, *, time_zone: str = "UTC", time_unit: TimeUnit = "s") -> datetime:
    """An event time (aware UTC) from an ISO 8601 string or an epoch number.

    >>> parse_time("2024-03-31 02:30", time_zone="Europe/Paris").isoformat()
    '2024-03-31T01:30:00+00:00'
    >>> parse_time(1700000000000, time_unit="ms").isoformat()
    '2023-11-14T22:13:20+00:00'
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise EventValidationError("empty time")
        if _FLOAT.fullmatch(text):
            return from_epoch(int(text) if _INT.fullmatch(text) else float(text), time_unit)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise EventValidationError(
                f"time {value!r} is neither ISO 8601 (e.g. '2024-01-01T09:00:00Z') "
                "nor an epoch number"
            ) from exc
        if parsed.tzinfo is None:
            return localize(parsed, time_zone)
        return to_utc(parsed)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return from_epoch(value, time_unit)
    if value is None:
        raise EventValidationError("missing time")
    raise EventValidationError(f"time {value!r} is neither a string nor a number")


def table_events(
    path: Path | str,
    *,
    fmt: TableFormat | None = None,
    key: str,
    event_time: str,
    label: str | None,
    features: Sequence[str] | None = None,
    event_id: str | None = None,
    outcome_time: str | None = None,
    outcome_delay: timedelta | None = None,
    time_zone: str = "UTC",
    time_unit: TimeUnit = "s",
    limit: int | None = None,
) -> Iterator[LabelledEvent]:
    """The rows of a CSV or JSON-lines file as labelled events, in file order.

    ``fmt`` is inferred from the suffix (``.csv``; ``.jsonl`` or ``.ndjson``) when not
    given. ``features`` defaults to every column but the id, key, time, label and
    outcome-time columns; ``event_id`` defaults to ``f"{path.stem}-{n}"`` with ``n`` the
    1-based data-row number. Options and the header are checked now
    (:class:`~driftline.core.errors.ConfigError`); rows as they are read.

    >>> table_events("missing.csv", key="k", event_time="t", label=None)
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: no such file: missing.csv
    """
    path = Path(path)
    if fmt is None:
        fmt = _SUFFIXES.get(path.suffix.lower())
        if fmt is None:
            raise ConfigError(
                f"cannot tell the format of {path} from its suffix; give fmt='csv' or 'jsonl'"
            )
    if fmt not in get_args(TableFormat):
        raise ConfigError(f"fmt={fmt!r}; choose 'csv' or 'jsonl'")
    if time_unit not in get_args(TimeUnit):
        raise ConfigError(f"time_unit={time_unit!r}; choose 's' or 'ms'")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {time_zone!r}") from exc
    if limit is not None and limit < 0:
        raise ConfigError(f"limit={limit}; give a number >= 0 or None for every row")
    _check_outcome_options(label, outcome_time, outcome_delay)
    if isinstance(features, str):
        raise ConfigError(f"features={features!r}; give a list of column names")
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")

    columns = _header(path, fmt)
    special = [event_id, key, event_time, label, outcome_time]
    named = [c for c in [*special, *(features or [])] if c is not None]
    unknown = sorted({c for c in named if c not in columns})
    if unknown:
        raise ConfigError(
            f"{path}: no column named {', '.join(map(repr, unknown))}; "
            f"the columns are {', '.join(map(repr, columns))}"
        )
    if features is None:
        chosen = [c for c in columns if c not in special]
    else:
        chosen = list(features)
        repeated = sorted({c for c in chosen if chosen.count(c) > 1})
        if repeated:
            raise ConfigError(f"features repeat {', '.join(map(repr, repeated))}")
        leaks = [c for c in chosen if c in (label, outcome_time)]
        if leaks:
            raise ConfigError(
                f"features {', '.join(map(repr, leaks))} would leak the outcome into the "
                "observation; drop them"
            )
    bad_names = [c for c in chosen if not 0 < len(c) <= _MAX_NAME]
    if bad_names:
        raise ConfigError(f"feature names must have 1 to {_MAX_NAME} characters: {bad_names!r}")
    plan = _Plan(
        path=path,
        fmt=fmt,
        columns=columns,
        key=key,
        event_time=event_time,
        label=label,
        features=tuple(chosen),
        event_id=event_id,
        outcome_time=outcome_time,
        outcome_delay=outcome_delay,
        time_zone=time_zone,
        time_unit=time_unit,
        limit=limit,
        warn_extra=features is None,
    )
    return _events(plan)


def _check_outcome_options(
    label: str | None, outcome_time: str | None, outcome_delay: timedelta | None
) -> None:
    if label is None:
        if outcome_time is not None or outcome_delay is not None:
            raise ConfigError("outcome_time/outcome_delay need a label column; give label=")
        return
    if (outcome_time is None) == (outcome_delay is None):
        raise ConfigError(
            "with a label, give exactly one of outcome_time (a column) or outcome_delay "
            "(a fixed timedelta after the observation)"
        )
    if outcome_delay is not None and outcome_delay < timedelta(0):
        raise ConfigError(f"outcome_delay={outcome_delay} is negative")


@dataclass(frozen=True, slots=True)
class _Plan:
    path: Path
    fmt: TableFormat
    columns: tuple[str, ...]
    key: str
    event_time: str
    label: str | None
    features: tuple[str, ...]
    event_id: str | None
    outcome_time: str | None
    outcome_delay: timedelta | None
    time_zone: str
    time_unit: TimeUnit
    limit: int | None
    warn_extra: bool


class _CellError(Exception):
    """A problem with one cell; the row loop adds the file and line."""

    def __init__(self, column: str | None, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def _header(path: Path, fmt: TableFormat) -> tuple[str, ...]:
    records = _csv_rows(path) if fmt == "csv" else _jsonl_rows(path)
    try:
        first = next(records, None)
    finally:
        records.close()
    if first is None:
        raise ConfigError(f"{path} is empty: it has no header (CSV) or first record (JSONL)")
    line, row = first
    columns = tuple(row) if isinstance(row, list) else tuple(row.keys())
    if not all(columns) or len(set(columns)) != len(columns):
        raise ConfigError(
            f"{path}, line {line}: column names must be distinct and not empty: {list(columns)}"
        )
    return columns


def _csv_rows(path: Path) -> Generator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on (the header first)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        line = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise EventValidationError(f"{path}, line {line}: unreadable CSV: {exc}") from exc
            if row:
                yield line, row
            line = reader.line_num + 1


def _jsonl_rows(path: Path) -> Generator[tuple[int, dict[str, Any]]]:
    """Non-blank JSON-lines records (objects) with their line numbers."""
    with path.open(encoding="utf-8-sig") as handle:
        line = 0
        try:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise EventValidationError(
                        f"{path}, line {line}: not valid JSON: {exc.msg} (column {exc.colno})"
                    ) from exc
                if not isinstance(record, dict):
                    raise EventValidationError(
                        f"{path}, line {line}: a JSON-lines record must be an object, "
                        f"not {type(record).__name__}"
                    )
                yield line, record
        except UnicodeDecodeError as exc:
            raise EventValidationError(f"{path}, line {line + 1}: not UTF-8 text: {exc}") from exc


def _events(plan: _Plan) -> Iterator[LabelledEvent]:
    if plan.limit == 0:
        return
    if plan.fmt == "csv":
        cells: Generator[tuple[int, Mapping[str, Any]]] = _csv_records(plan)
    else:
        cells = _jsonl_records(plan)
    seen: dict[str, int] = {}
    yielded = unlabelled = 0
    with closing(cells):
        for number, (line, record) in enumerate(cells, start=1):
            try:
                event = _event(plan, record, number, seen, line)
            except _CellError as exc:
                where = f", column {exc.column!r}" if exc.column is not None else ""
                raise EventValidationError(
                    f"{plan.path}, line {line}{where}: {exc.problem}"
                ) from exc
            yielded += 1
            unlabelled += event.outcome is None
            yield event
            if plan.limit is not None and yielded >= plan.limit:
                break
    logger.info("%s: %d events read (%d unlabelled)", plan.path, yielded, unlabelled)


def _csv_records(plan: _Plan) -> Generator[tuple[int, Mapping[str, Any]]]:
    rows = _csv_rows(plan.path)
    next(rows, None)  # the header, checked by table_events()
    width = len(plan.columns)
    for line, row in rows:
        if len(row) != width:
            raise EventValidationError(
                f"{plan.path}, line {line}: {len(row)} fields, but the header has {width}"
            )
        yield line, dict(zip(plan.columns, row, strict=True))


def _jsonl_records(plan: _Plan) -> Generator[tuple[int, Mapping[str, Any]]]:
    known = set(plan.columns)
    extra: set[str] = set()
    for line, record in _jsonl_rows(plan.path):
        if plan.warn_extra:
            extra.update(k for k in record if k not in known)
        yield line, record
    if extra:
        logger.warning(
            "%s: members missing from the first record were ignored: %s",
            plan.path,
            ", ".join(sorted(extra)),
        )


def _event(
    plan: _Plan, record: Mapping[str, Any], number: int, seen: dict[str, int], line: int
) -> LabelledEvent:
    csv_cells = plan.fmt == "csv"
    key = _identifier(record, plan.key)
    if plan.event_id is None:
        event_id = f"{plan.path.stem}-{number}"
    else:
        event_id = _identifier(record, plan.event_id)
        if event_id in seen:
            raise _CellError(plan.event_id, f"event id {event_id!r} repeats line {seen[event_id]}")
        seen[event_id] = line
    observed = _time(plan, record, plan.event_time)
    features = {name: _value(record.get(name), name, csv_cells) for name in plan.features}

    outcome: Outcome | None = None
    label = None if plan.label is None else _label(record.get(plan.label), plan.label, csv_cells)
    if label is not None:
        if plan.outcome_time is not None:
            resolved = _time(plan, record, plan.outcome_time)
            if resolved < observed:
                raise _CellError(
                    plan.outcome_time,
                    f"outcome time {resolved.isoformat()} is before the event time "
                    f"{observed.isoformat()}",
                )
        else:
            assert plan.outcome_delay is not None  # checked by table_events()
            resolved = observed + plan.outcome_delay
        outcome = _model(Outcome, event_id=event_id, key=key, event_time=resolved, label=label)
    observation = _model(
        Observation, event_id=event_id, key=key, event_time=observed, features=features
    )
    return LabelledEvent(observation, outcome)


def _model(model: type[Any], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        raise _CellError(None, f"invalid {model.__name__.lower()}: {problems}") from exc
    except EventValidationError as exc:
        raise _CellError(None, str(exc)) from exc


def _identifier(record: Mapping[str, Any], column: str) -> str:
    if column not in record:
        raise _CellError(column, "missing")
    value = record[column]
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None or value == "" or (isinstance(value, str) and not value.strip()):
        raise _CellError(column, "empty; every row needs one")
    raise _CellError(column, f"must be a string or an integer, not {value!r}")


def _time(plan: _Plan, record: Mapping[str, Any], column: str) -> datetime:
    if column not in record:
        raise _CellError(column, "missing")
    try:
        return parse_time(record[column], time_zone=plan.time_zone, time_unit=plan.time_unit)
    except EventValidationError as exc:
        raise _CellError(column, str(exc)) from exc


def _value(raw: Any, column: str, csv_cell: bool) -> FeatureValue:
    if csv_cell:
        try:
            value = parse_csv_value(raw)
        except EventValidationError as exc:
            raise _CellError(column, str(exc)) from exc
    else:
        value = raw
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if value not in _INT64:
            raise _CellError(column, f"integer {value} is outside the 64-bit range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _CellError(column, f"{value} is not a finite number; use null")
        return value
    raise _CellError(
        column, f"a {type(value).__name__} is not a feature value; flatten it to columns"
    )


def _label(raw: Any, column: str, csv_cell: bool) -> Label | None:
    value = _value(raw, column, csv_cell)
    if isinstance(value, str) and not value.strip():
        return None
    return value
