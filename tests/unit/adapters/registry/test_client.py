"""The registry client against a fake Confluent-compatible registry over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from driftline.adapters.registry import SCHEMA_NOT_FOUND, RegistryClient
from driftline.adapters.settings import SchemaRegistrySettings
from driftline.core.errors import SchemaRegistryError, SchemaRegistryUnavailable
from driftline.stack.processes import free_port
from tests.unit.adapters.registry.fake_registry import FakeRegistry, serving

SCHEMA = {"type": "record", "name": "Loan", "fields": [{"name": "amount", "type": "double"}]}


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serving(FakeRegistry(first_id=100)) as fake:
        yield fake


def test_register_gives_the_registry_id_and_caches_it(registry: FakeRegistry) -> None:
    client = RegistryClient(registry.url)
    first = client.register("loans-value", SCHEMA)
    assert first == 100  # the registry's id, not 1
    assert client.register("loans-value", SCHEMA) == 100
    posts = [r for r in registry.requests if r[0] == "POST"]
    assert posts == [("POST", "/subjects/loans-value/versions", None)]
    # a schema registered here is known by id without asking
    assert client.schema(100) == SCHEMA
    assert [r for r in registry.requests if r[0] == "GET"] == []


def test_a_schema_by_id_is_fetched_once(registry: FakeRegistry) -> None:
    schema_id = registry.add("other", SCHEMA)
    client = RegistryClient(registry.url + "/")
    assert client.schema(schema_id) == SCHEMA
    assert client.schema(schema_id) == SCHEMA
    assert registry.requests == [("GET", f"/schemas/ids/{schema_id}", None)]


def test_subject_names_are_quoted(registry: FakeRegistry) -> None:
    client = RegistryClient(registry.url)
    client.register("dev.driftline.events/Odd Name", SCHEMA)
    assert registry.requests[0][1] == "/subjects/dev.driftline.events%2FOdd%20Name/versions"


def test_an_unknown_id_is_a_refusal_with_the_registry_code(registry: FakeRegistry) -> None:
    with pytest.raises(SchemaRegistryError) as caught:
        RegistryClient(registry.url).schema(7)
    assert caught.value.status == 404 and caught.value.error_code == SCHEMA_NOT_FOUND
    assert registry.url in str(caught.value) and "Schema not found" in str(caught.value)


def test_an_invalid_schema_is_refused(registry: FakeRegistry) -> None:
    with pytest.raises(SchemaRegistryError, match="HTTP 422 .error 42201.: Invalid schema"):
        RegistryClient(registry.url).register("s", "{not json")


def test_a_server_error_is_transient(registry: FakeRegistry) -> None:
    client = RegistryClient(registry.url)
    with pytest.raises(SchemaRegistryUnavailable, match="HTTP 500"):
        client._call("GET", "/boom")


def test_no_registry_is_transient_and_says_where() -> None:
    url = f"http://127.0.0.1:{free_port()}/apis/ccompat/v6"
    with pytest.raises(SchemaRegistryUnavailable, match="did not answer GET .*/subjects"):
        RegistryClient(url, timeout_s=2).subjects()


def test_basic_auth_is_sent_and_never_shown() -> None:
    with serving(FakeRegistry(auth=("svc", "s3cret-pw"))) as registry:
        settings = SchemaRegistrySettings(url=registry.url, username="svc", password="s3cret-pw")
        client = RegistryClient.from_settings(settings)
        assert client is not None
        assert client.register("s", SCHEMA) == 100
        wrong = RegistryClient(registry.url, auth=("svc", "wrong-pw"))
        with pytest.raises(SchemaRegistryError) as caught:
            wrong.subjects()
    assert caught.value.status == 401
    assert "s3cret-pw" not in str(caught.value) and "wrong-pw" not in str(caught.value)
    assert "svc" not in str(caught.value)


def test_no_url_no_client() -> None:
    assert RegistryClient.from_settings(SchemaRegistrySettings()) is None


def test_a_url_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        SchemaRegistrySettings(url="https://svc:pw123@sr.example")
    message = caught.value.errors()[0]["msg"]  # what driftline prints of it
    assert "DRIFTLINE_SCHEMA_REGISTRY_USERNAME" in message and "pw123" not in message
