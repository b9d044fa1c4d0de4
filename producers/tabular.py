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

import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from driftline.core.errors import ConfigError, EventValidationError
from driftline.producers.sources import LabelledEvent
from driftline.producers.table_files import TableFormat, csv_records, jsonl_rows, read_header
from driftline.producers.table_rows import CellError, TablePlan, row_event
from driftline.producers.table_values import MISSING_MARKERS, TimeUnit, parse_csv_value, parse_time

# The cells' values and times, the file's records and a row's event live in the modules
# table_values, table_files and table_rows; the names of the replay are all here.
__all__ = [
    "MISSING_MARKERS",
    "TableFormat",
    "TimeUnit",
    "parse_csv_value",
    "parse_time",
    "table_events",
]

logger = logging.getLogger(__name__)

_SUFFIXES: Mapping[str, TableFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MAX_NAME = 128


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

    columns = read_header(path, fmt)
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
    plan = TablePlan(
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


def _events(plan: TablePlan) -> Iterator[LabelledEvent]:
    if plan.limit == 0:
        return
    if plan.fmt == "csv":
        cells: Generator[tuple[int, Mapping[str, Any]]] = csv_records(plan.path, plan.columns)
    else:
        cells = _jsonl_records(plan)
    seen: dict[str, int] = {}
    yielded = unlabelled = 0
    with closing(cells):
        for number, (line, record) in enumerate(cells, start=1):
            try:
                event = row_event(plan, record, number, seen, line)
            except CellError as exc:
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


def _jsonl_records(plan: TablePlan) -> Generator[tuple[int, Mapping[str, Any]]]:
    known = set(plan.columns)
    extra: set[str] = set()
    for line, record in jsonl_rows(plan.path):
        if plan.warn_extra:
            extra.update(k for k in record if k not in known)
        yield line, record
    if extra:
        logger.warning(
            "%s: members missing from the first record were ignored: %s",
            plan.path,
            ", ".join(sorted(extra)),
        )
