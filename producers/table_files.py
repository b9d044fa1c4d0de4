"""Reading a table file: its header (a CSV's first row, a JSON-lines file's first record),
then its non-blank records with the line each starts on. A CSV record becomes a dict of
the header's columns; an unreadable file or record raises
:class:`~driftline.core.errors.EventValidationError` naming the file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, Literal

from driftline.core.errors import ConfigError, EventValidationError

__all__ = ["TableFormat", "csv_records", "csv_rows", "jsonl_rows", "read_header"]

TableFormat = Literal["csv", "jsonl"]


def read_header(path: Path, fmt: TableFormat) -> tuple[str, ...]:
    records = csv_rows(path) if fmt == "csv" else jsonl_rows(path)
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


def csv_rows(path: Path) -> Generator[tuple[int, list[str]]]:
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


def jsonl_rows(path: Path) -> Generator[tuple[int, dict[str, Any]]]:
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


def csv_records(path: Path, columns: tuple[str, ...]) -> Generator[tuple[int, Mapping[str, Any]]]:
    """The data records of a CSV file (the header skipped), each a dict of ``columns``."""
    rows = csv_rows(path)
    next(rows, None)  # the header, checked by table_events()
    width = len(columns)
    for line, row in rows:
        if len(row) != width:
            raise EventValidationError(
                f"{path}, line {line}: {len(row)} fields, but the header has {width}"
            )
        yield line, dict(zip(columns, row, strict=True))
