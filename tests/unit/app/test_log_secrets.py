"""No secret in a log record: the settings' secrets and URL passwords are masked in the
message, its arguments, the extras and the traceback, before any format sees them."""

from __future__ import annotations

import json
import logging
import sys

from driftline.app.log_formats import JsonFormatter, PlainFormatter
from driftline.app.log_secrets import SecretsFilter

KEY = "Ck3y-0123456789abcdef"
URL = "redis://app:Rp4ss-9f3c1e@cache:6379/0"


def masked(record: logging.LogRecord) -> logging.LogRecord:
    hide = SecretsFilter()
    hide.remember([KEY, ""])
    assert hide.filter(record) is True  # masks, never drops
    return record


def make(message: str, *args: object, exc_info=None, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("driftline.test")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, message, args, exc_info, extra=extra or None
    )


def test_message_arguments_and_extras_are_masked_in_every_format():
    record = masked(make("key %s at %s", KEY, URL, peer={"url": URL, "keys": [KEY]}))
    for text in (PlainFormatter().format(record), JsonFormatter().format(record)):
        assert KEY not in text and "Rp4ss" not in text
    shown = json.loads(JsonFormatter().format(record))
    assert shown["message"] == "key *** at redis://app:***@cache:6379/0"
    assert shown["peer"] == {"url": "redis://app:***@cache:6379/0", "keys": ["***"]}


def test_a_traceback_is_masked():
    try:
        raise ConnectionError(f"cannot reach {URL} with {KEY}")
    except ConnectionError:
        record = masked(make("lost", exc_info=sys.exc_info()))
    text = PlainFormatter().format(record)
    assert "cannot reach redis://app:***@cache" in text and KEY not in text


def test_a_message_without_secrets_is_left_as_it_was():
    record = masked(make("lag %d", 12))
    assert (record.msg, record.args) == ("lag %d", (12,))


def test_a_bad_format_is_left_to_logging():
    record = masked(make("two %s %s", "one"))
    assert record.msg == "two %s %s"
