"""The stack's certificates: made once, private and valid; an incomplete folder is not used."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from driftline.core.errors import StackError
from driftline.stack.certificates import ensure_tls


def test_certificates_are_made_once_private_and_valid(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    files = ensure_tls(secrets_dir / "tls", "Ks-pw-5")
    assert files.complete()
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for path in files.directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert [p.name for p in files.directory.iterdir() if p.name.startswith(".")] == []
    ca = files.ca_cert.read_bytes()
    assert ensure_tls(secrets_dir / "tls", "other").ca_cert.read_bytes() == ca  # kept

    def openssl(*args: str) -> str:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=True)
        return done.stdout

    chain = openssl("verify", "-CAfile", str(files.ca_cert), str(files.server_cert))
    assert "OK" in chain
    assert "OK" in openssl("verify", "-CAfile", str(files.ca_cert), str(files.client_cert))
    server = openssl("x509", "-in", str(files.server_cert), "-noout", "-text")
    assert "IP Address:127.0.0.1" in server and "DNS:localhost" in server
    client = openssl("x509", "-in", str(files.client_cert), "-noout", "-text")
    assert "TLS Web Client Authentication" in client and "CN = driftline" in client
    keystore = openssl(
        "pkcs12", "-in", str(files.server_keystore), "-passin", "pass:Ks-pw-5", "-nokeys"
    )
    assert "CN = localhost" in keystore or "CN=localhost" in keystore


def test_an_incomplete_certificate_folder_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.crt").write_text("half")
    with pytest.raises(StackError, match="incomplete"):
        ensure_tls(tmp_path / "tls", "pw")
