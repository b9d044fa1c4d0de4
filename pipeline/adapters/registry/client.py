"""A small client of a Confluent-compatible schema registry, over the standard library.

Two calls are all driftline needs: register a schema under a subject (its global id back)
and fetch a schema by id. Ids are global across subjects and never change, so a schema
fetched by id is cached for good; a registration is cached per (subject, schema text).
Errors name the registry's URL without its credentials: :class:`SchemaRegistryError` for a
refusal (4xx), :class:`SchemaRegistryUnavailable` (a transient error) when it does not answer.

>>> RegistryClient("http://127.0.0.1:8081/apis/ccompat/v6/").url
'http://127.0.0.1:8081/apis/ccompat/v6'
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from driftline.adapters.settings import SchemaRegistrySettings
from driftline.core.errors import (
    DriftlineError,
    SchemaRegistryError,
    SchemaRegistryUnavailable,
)

__all__ = ["SUBJECT_NOT_FOUND", "SCHEMA_NOT_FOUND", "RegistryClient"]

#: Confluent's error codes for an unknown subject and an unknown schema id.
SUBJECT_NOT_FOUND = 40401
SCHEMA_NOT_FOUND = 40403
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryClient:
    """Register schemas and fetch them by id from the registry at ``url``.

    ``url`` is the base of the Confluent API (for Apicurio, ``<base>/apis/ccompat/v6``);
    ``auth`` is a basic-auth ``(user, password)``. Thread-safe; no connection is kept.
    """

    def __init__(
        self, url: str, *, auth: tuple[str, str] | None = None, timeout_s: float = 10.0
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._authorization = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None
        )
        self._by_id: dict[int, dict[str, Any]] = {}
        self._registered: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: SchemaRegistrySettings) -> RegistryClient | None:
        """The client of the configured registry, ``None`` when no URL is set."""
        if settings.url is None:
            return None
        return cls(settings.url, auth=settings.auth(), timeout_s=settings.timeout_s)

    def register(self, subject: str, schema: Mapping[str, Any] | str) -> int:
        """Register ``schema`` (Avro, parsed JSON or its text) under ``subject``; its id.

        Registering a schema the subject already has gives its existing id; a schema the
        subject's compatibility rule refuses is a :class:`SchemaRegistryError` (409).
        """
        text = schema if isinstance(schema, str) else json.dumps(schema, separators=(",", ":"))
        key = (subject, text)
        with self._lock:
            known = self._registered.get(key)
        if known is not None:
            return known
        path = f"/subjects/{quote(subject, safe='')}/versions"
        answer = self._call("POST", path, {"schema": text})
        schema_id = _int_field(answer, "id", self.url)
        with self._lock:
            self._registered[key] = schema_id
            self._by_id.setdefault(schema_id, json.loads(text))
        return schema_id

    def schema(self, schema_id: int) -> dict[str, Any]:
        """The schema with global id ``schema_id`` (parsed JSON), fetched once.

        An id the registry does not know is a :class:`SchemaRegistryError` with
        ``error_code`` :data:`SCHEMA_NOT_FOUND`.
        """
        with self._lock:
            known = self._by_id.get(schema_id)
        if known is not None:
            return known
        answer = self._call("GET", f"/schemas/ids/{int(schema_id)}")
        text = answer.get("schema")
        if not isinstance(text, str):
            raise SchemaRegistryError(f"registry {self.url} sent no schema for id {schema_id}")
        try:
            parsed: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaRegistryError(
                f"schema {schema_id} of {self.url} is not JSON (not Avro?): {exc}"
            ) from exc
        with self._lock:
            self._by_id[schema_id] = parsed
        return parsed

    def subjects(self) -> list[str]:
        """Every subject the registry holds (a cheap liveness check)."""
        answer = self._call("GET", "/subjects")
        if not isinstance(answer, list):
            raise SchemaRegistryError(f"schema registry {self.url} sent no list of subjects")
        return [str(s) for s in answer]

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", f"{_CONTENT_TYPE}, application/json")
        if data is not None:
            request.add_header("Content-Type", _CONTENT_TYPE)
        if self._authorization:
            request.add_header("Authorization", self._authorization)
        where = f"{method} {self.url}{path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise _refusal(exc, where) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SchemaRegistryUnavailable(
                f"schema registry did not answer {where}: {reason}"
            ) from exc
        try:
            return json.loads(payload) if payload else None
        except json.JSONDecodeError as exc:
            raise SchemaRegistryError(f"schema registry answered {where} with no JSON") from exc


def _refusal(exc: urllib.error.HTTPError, where: str) -> DriftlineError:
    """The error of an HTTP error answer: its status, the registry's code and message."""
    try:
        detail = json.loads(exc.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        detail = {}
    detail = detail if isinstance(detail, dict) else {}
    code = detail.get("error_code")
    message = detail.get("message") or exc.reason
    text = f"schema registry refused {where}: HTTP {exc.code}" + (
        f" (error {code}): {message}" if code else f": {message}"
    )
    if exc.code >= 500:
        return SchemaRegistryUnavailable(text)
    return SchemaRegistryError(text, exc.code, code if isinstance(code, int) else None)


def _int_field(answer: Any, name: str, url: str) -> int:
    value = answer.get(name) if isinstance(answer, dict) else None
    if not isinstance(value, int):
        raise SchemaRegistryError(f"schema registry {url} answered without an integer {name!r}")
    return value
