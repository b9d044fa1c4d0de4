"""How log records are written (``DRIFTLINE_LOG_FORMAT``): ``rich`` for a person at a
terminal, ``plain`` lines and ``json`` objects for ``docker logs`` and log shippers.

``plain``: one line per record, the ISO-8601 UTC time with milliseconds, the level, the
logger and the message; what follows on more lines (a message's own lines, a traceback)
is indented, so no line of it can pass for a record of its own.

>>> record = logging.makeLogRecord({"name": "driftline.worker", "levelname": "INFO",
...     "msg": "joined %s", "args": ("g",), "created": 0.25, "partition": 3})
>>> PlainFormatter().format(record)
'1970-01-01T00:00:00.250Z INFO driftline.worker: joined g'
>>> JsonFormatter().format(record)
'{"time": "1970-01-01T00:00:00.250Z", "level": "INFO", "logger": "driftline.worker", \
"message": "joined g", "partition": 3}'
"""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Any

from driftline.core import jsonsafe
from driftline.core.errors import ConfigError

__all__ = [
    "LOG_FORMAT_VARIABLE",
    "JsonFormatter",
    "LogFormat",
    "PlainFormatter",
    "log_format",
    "record_extras",
    "utc_time",
]

#: The variable that chooses the format (read by the command before any setting).
LOG_FORMAT_VARIABLE = "DRIFTLINE_LOG_FORMAT"


class LogFormat(StrEnum):
    """How records are written to standard error."""

    RICH = "rich"
    PLAIN = "plain"
    JSON = "json"


def log_format(value: str | None, *, terminal: bool) -> LogFormat:
    """The format ``value`` names (any case); unset or empty: ``rich`` at a terminal, else
    ``plain``. Anything else is a :class:`ConfigError` listing the formats.

    >>> log_format(None, terminal=False), log_format("JSON", terminal=True)
    (<LogFormat.PLAIN: 'plain'>, <LogFormat.JSON: 'json'>)
    >>> log_format("xml", terminal=False)
    Traceback (most recent call last):
    ...
    driftline.core.errors.ConfigError: invalid setting DRIFTLINE_LOG_FORMAT: 'xml' is not \
one of rich, plain, json
    """
    if value is None or not value.strip():
        return LogFormat.RICH if terminal else LogFormat.PLAIN
    try:
        return LogFormat(value.strip().lower())
    except ValueError:
        allowed = ", ".join(LogFormat)
        raise ConfigError(
            f"invalid setting {LOG_FORMAT_VARIABLE}: {value!r} is not one of {allowed}"
        ) from None


def utc_time(created: float) -> str:
    """A record's time (seconds since the epoch) as ISO-8601 UTC with milliseconds.

    >>> utc_time(1733456789.0125)
    '2024-12-06T03:46:29.012Z'
    """
    seconds = int(created)
    millis = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


#: What every record carries: anything else was passed with ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def record_extras(record: logging.LogRecord) -> dict[str, Any]:
    """The attributes passed to a log call with ``extra=``.

    >>> record_extras(logging.makeLogRecord({"msg": "x", "lag": 12}))
    {'lag': 12}
    """
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _more_lines(formatter: logging.Formatter, record: logging.LogRecord) -> list[str]:
    """The traceback and stack of a record, as lines ([]: none)."""
    lines = []
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        lines += record.exc_text.splitlines()
    if record.stack_info:
        lines += formatter.formatStack(record.stack_info).splitlines()
    return lines


class PlainFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger>: <message>``, one line; more lines indented."""

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = record.getMessage().splitlines() or [""]
        line = f"{utc_time(record.created)} {record.levelname} {record.name}: {first}"
        more = [*rest, *_more_lines(self, record)]
        return "\n".join([line, *(f"    {text}" for text in more)])


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the
    record's extras (never in place of those four), ``exc_info`` and ``stack_info`` as
    text when there are."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record_extras(record).items():
            payload.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return jsonsafe.dumps(payload, default=str, ensure_ascii=False)
