"""One table row as a labelled event: the options of a replay (:class:`TablePlan`), and
each cell read as its column requires (an identifier, a time, a feature value, a label).
A bad cell raises :class:`CellError`; the row loop adds the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from driftline.core.errors import EventValidationError
from driftline.core.events.model import FeatureValue, Label, Observation, Outcome
from driftline.producers.sources import LabelledEvent
from driftline.producers.table_files import TableFormat
from driftline.producers.table_values import TimeUnit, parse_csv_value, parse_time

__all__ = ["CellError", "TablePlan", "row_event"]

_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True, slots=True)
class TablePlan:
    """What :func:`~driftline.producers.tabular.table_events` was asked, checked."""

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


class CellError(Exception):
    """A problem with one cell; the row loop adds the file and line."""

    def __init__(self, column: str | None, problem: str) -> None:
        super().__init__(problem)
        self.column = column
        self.problem = problem


def row_event(
    plan: TablePlan, record: Mapping[str, Any], number: int, seen: dict[str, int], line: int
) -> LabelledEvent:
    """The event of data row ``number`` (``record``, read at ``line``): its observation,
    and its outcome when the label is there. ``seen`` maps the event ids read so far to their
    lines (a repeated id is refused)."""
    csv_cells = plan.fmt == "csv"
    key = _identifier(record, plan.key)
    if plan.event_id is None:
        event_id = f"{plan.path.stem}-{number}"
    else:
        event_id = _identifier(record, plan.event_id)
        if event_id in seen:
            raise CellError(plan.event_id, f"event id {event_id!r} repeats line {seen[event_id]}")
        seen[event_id] = line
    observed = _time(plan, record, plan.event_time)
    features = {name: _value(record.get(name), name, csv_cells) for name in plan.features}

    outcome: Outcome | None = None
    label = None if plan.label is None else _label(record.get(plan.label), plan.label, csv_cells)
    if label is not None:
        if plan.outcome_time is not None:
            resolved = _time(plan, record, plan.outcome_time)
            if resolved < observed:
                raise CellError(
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
        raise CellError(None, f"invalid {model.__name__.lower()}: {problems}") from exc
    except EventValidationError as exc:
        raise CellError(None, str(exc)) from exc


def _identifier(record: Mapping[str, Any], column: str) -> str:
    if column not in record:
        raise CellError(column, "missing")
    value = record[column]
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value is None or value == "" or (isinstance(value, str) and not value.strip()):
        raise CellError(column, "empty; every row needs one")
    raise CellError(column, f"must be a string or an integer, not {value!r}")


def _time(plan: TablePlan, record: Mapping[str, Any], column: str) -> datetime:
    if column not in record:
        raise CellError(column, "missing")
    try:
        return parse_time(record[column], time_zone=plan.time_zone, time_unit=plan.time_unit)
    except EventValidationError as exc:
        raise CellError(column, str(exc)) from exc


def _value(raw: Any, column: str, csv_cell: bool) -> FeatureValue:
    if csv_cell:
        try:
            value = parse_csv_value(raw)
        except EventValidationError as exc:
            raise CellError(column, str(exc)) from exc
    else:
        value = raw
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if value not in _INT64:
            raise CellError(column, f"integer {value} is outside the 64-bit range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CellError(column, f"{value} is not a finite number; use null")
        return value
    raise CellError(
        column, f"a {type(value).__name__} is not a feature value; flatten it to columns"
    )


def _label(raw: Any, column: str, csv_cell: bool) -> Label | None:
    value = _value(raw, column, csv_cell)
    if isinstance(value, str) and not value.strip():
        return None
    return value
