"""Secrets in settings: text read from files only their owner may read, and URLs and
free text (a log line, an error) shown without their passwords."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from driftline.core.errors import ConfigError

__all__ = ["mask_text", "mask_url", "read_private_file"]


def read_private_file(path: Path, variable: str) -> str:
    """The text of a secret file (surrounding whitespace dropped) that only its owner may
    read; anything else is a :class:`ConfigError` naming ``variable``, never the text."""
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{variable} {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{variable} {path} may be read by others: chmod 600 it")
    if not text:
        raise ConfigError(f"{variable} {path} is empty")
    return text


_SECRET_QUERY = re.compile(r"(?i)((?:^|&)(?:password|pass|pwd|token|secret)=)[^&]*")


def mask_url(url: str) -> str:
    """Hide the password of a URL, in its user part and in its query string.

    >>> mask_url("redis://user:hunter2@cache:6379/0")
    'redis://user:***@cache:6379/0'
    >>> mask_url("redis://cache:6379/0?password=hunter2&db=1")
    'redis://cache:6379/0?password=***&db=1'
    >>> mask_url("redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}"
    query = _SECRET_QUERY.sub(r"\1***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


#: ``scheme://user:password@``, anywhere in a text: the password is what is hidden.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+@")
#: ``password=...`` in a URL's query string, anywhere in a text.
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|pass|pwd|token|secret)=)[^&\s]*")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL password and every one of ``secrets`` (as they appear in
    it) replaced by ``***``.

    >>> mask_text("lost redis://:hunter2@cache:6379/0, retrying")
    'lost redis://:***@cache:6379/0, retrying'
    >>> mask_text("https://sr/x?token=abc&y=1 key=Ck3y-0123", ["Ck3y-0123"])
    'https://sr/x?token=***&y=1 key=***'
    """
    # longest first, so a secret that contains another is hidden whole
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***@", text)
    return _QUERY_PASSWORD.sub(r"\1***", text)
