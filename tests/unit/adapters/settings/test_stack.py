"""StackSettings: the stack and its clients agree on the TLS files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftline.adapters.settings import StackSettings
from driftline.stack.certificates import TlsFiles


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DRIFTLINE_* variable of the shell running the tests leaks into them."""
    for name in list(os.environ):
        if name.upper().startswith("DRIFTLINE_"):
            monkeypatch.delenv(name)


def test_the_stack_and_its_clients_agree_on_the_files(tmp_path: Path) -> None:
    files = StackSettings(home=tmp_path).client_files
    tls = TlsFiles(files.tls_dir)
    assert (tls.ca_cert, tls.client_cert, tls.client_key) == (
        files.ca_cert,
        files.client_cert,
        files.client_key,
    )
