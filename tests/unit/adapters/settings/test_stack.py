"""StackSettings: the stack and its clients agree on the TLS files."""

from __future__ import annotations

from pathlib import Path

from driftline.adapters.settings import StackSettings
from driftline.stack.certificates import TlsFiles


def test_the_stack_and_its_clients_agree_on_the_files(tmp_path: Path) -> None:
    files = StackSettings(home=tmp_path).client_files
    tls = TlsFiles(files.tls_dir)
    assert (tls.ca_cert, tls.client_cert, tls.client_key) == (
        files.ca_cert,
        files.client_cert,
        files.client_key,
    )
