"""A Confluent-compatible schema registry in a thread (stdlib http.server), for unit tests:
it assigns global ids starting at ``first_id``, records the requests and may demand basic
auth."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeRegistry:
    def __init__(self, first_id: int = 100, auth: tuple[str, str] | None = None) -> None:
        self.next_id = first_id
        self.by_text: dict[str, int] = {}
        self.by_id: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.expected_auth = (
            "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode() if auth else None
        )
        self.url = ""

    def add(self, subject: str, schema: dict[str, Any] | str) -> int:
        text = schema if isinstance(schema, str) else json.dumps(schema)
        schema_id = self.by_text.get(text)
        if schema_id is None:
            schema_id = self.by_text[text] = self.next_id
            self.by_id[schema_id] = text
            self.next_id += 1
        self.subjects.setdefault(subject, []).append(schema_id)
        return schema_id


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _allowed(self) -> bool:
            given = self.headers.get("Authorization")
            registry.requests.append((self.command, self.path, given))
            if registry.expected_auth and given != registry.expected_auth:
                self._answer(401, {"error_code": 40101, "message": "Unauthorized"})
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            parts = self.path.strip("/").split("/")
            if parts == ["subjects"]:
                self._answer(200, sorted(registry.subjects))
            elif parts[:2] == ["schemas", "ids"] and int(parts[2]) in registry.by_id:
                self._answer(200, {"schema": registry.by_id[int(parts[2])]})
            elif parts[:2] == ["schemas", "ids"]:
                self._answer(404, {"error_code": 40403, "message": "Schema not found"})
            elif parts == ["boom"]:
                self._answer(500, {"error_code": 50001, "message": "store down"})
            else:
                self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

        def do_POST(self) -> None:  # noqa: N802
            if not self._allowed():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                try:
                    json.loads(body["schema"])
                except ValueError:
                    self._answer(422, {"error_code": 42201, "message": "Invalid schema"})
                    return
                self._answer(200, {"id": registry.add(parts[1], body["schema"])})
            else:
                self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    return Handler


@contextmanager
def serving(registry: FakeRegistry) -> Iterator[FakeRegistry]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
