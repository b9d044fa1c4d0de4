"""Log records as plain lines and JSON objects: the time in UTC with milliseconds, the
level, the logger, the message on one line; the extras and the traceback in JSON."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from driftline.app.log_formats import (
    JsonFormatter,
    LogFormat,
    PlainFormatter,
    log_format,
    record_extras,
    utc_time,
)
from driftline.core.errors import ConfigError

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ [\w.]+: ")


def record(message: str = "lag %d", *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("driftline.test")
    made = logger.makeRecord(
        logger.name, logging.WARNING, __file__, 1, message, args, None, extra=extra or None
    )
    return made


def failed() -> logging.LogRecord:
    try:
        raise ValueError("broken\nacross lines")
    except ValueError:
        exc_info = sys.exc_info()
    logger = logging.getLogger("driftline.test")
    return logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), exc_info)


def test_plain_is_one_line_of_time_level_logger_message():
    line = PlainFormatter().format(record("lag %d on %s", 12, "p3", partition=3))
    assert LINE.match(line) and line.endswith(" WARNING driftline.test: lag 12 on p3")
    assert "\n" not in line and "partition" not in line


def test_plain_indents_what_follows_so_no_line_passes_for_a_record():
    forged = "ok\n2020-01-01T00:00:00.000Z ERROR driftline.worker: forged"
    lines = PlainFormatter().format(record(forged)).splitlines()
    assert LINE.match(lines[0]) and lines[1].startswith("    2020-01-01")
    lines = PlainFormatter().format(failed()).splitlines()
    assert lines[0].endswith("ERROR driftline.test: failed")
    assert lines[1] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in lines[1:]) and "    across lines" in lines


def test_json_carries_the_same_fields_the_extras_and_the_traceback():
    shown = json.loads(JsonFormatter().format(record("lag %d", 12, partition=3, lag_s=1.5)))
    assert list(shown)[:4] == ["time", "level", "logger", "message"]
    assert (shown["level"], shown["logger"], shown["message"]) == (
        "WARNING",
        "driftline.test",
        "lag 12",
    )
    assert (shown["partition"], shown["lag_s"]) == (3, 1.5)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", shown["time"])
    broken = json.loads(JsonFormatter().format(failed()))
    assert broken["exc_info"].startswith("Traceback") and "ValueError: broken" in broken["exc_info"]
    assert "\n" not in JsonFormatter().format(failed())


def test_json_keeps_its_fields_against_extras_and_writes_any_value():
    shown = json.loads(
        JsonFormatter().format(record("m", level="mine", when=object(), ratio=float("nan")))
    )
    assert shown["level"] == "WARNING" and shown["ratio"] is None
    assert shown["when"].startswith("<object object")


def test_extras_are_only_what_was_passed():
    assert record_extras(record("x")) == {}
    assert record_extras(record("x", a=1, b="two")) == {"a": 1, "b": "two"}


def test_utc_time_is_utc_with_milliseconds():
    assert utc_time(0) == "1970-01-01T00:00:00.000Z"
    assert utc_time(1.999) == "1970-01-01T00:00:01.999Z"


@pytest.mark.parametrize(
    ("value", "terminal", "expected"),
    [
        (None, True, LogFormat.RICH),
        (None, False, LogFormat.PLAIN),
        ("", True, LogFormat.RICH),
        ("plain", True, LogFormat.PLAIN),
        (" Json ", False, LogFormat.JSON),
        ("rich", False, LogFormat.RICH),
    ],
)
def test_the_format_by_default_and_as_named(value: str | None, terminal: bool, expected: LogFormat):
    assert log_format(value, terminal=terminal) is expected


def test_an_unknown_format_lists_the_formats():
    with pytest.raises(
        ConfigError, match="DRIFTLINE_LOG_FORMAT: 'xml' is not one of rich, plain, json"
    ):
        log_format("xml", terminal=False)
