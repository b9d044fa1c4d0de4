"""The secured local stack's certificates, made once with the ``openssl`` command.

::

    secrets/tls/           mode 0700, made whole in a temporary folder then renamed into place
        ca.crt             the stack's own certificate authority (clients trust it)
        ca.key             its key (signs the two certificates below; owner-only)
        server.crt/.key    the brokers' and Redis's certificate, for 127.0.0.1 and localhost
        client.crt/.key    the certificate driftline's clients present (mutual TLS)
        kafka-server.p12   server.crt + server.key as a PKCS12 keystore for the brokers

Every key is written under ``umask 077`` in an owner-only folder: no other user may read
one, not even for a moment. Keys are ECDSA P-256, certificates valid for 825 days.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from driftline.core.errors import StackError

__all__ = ["TlsFiles", "ensure_tls", "server_extensions"]

_DAYS = "825"
_PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class TlsFiles:
    """Where the stack's certificates and keys are (see the module's docstring)."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    @property
    def server_keystore(self) -> Path:
        return self.directory / "kafka-server.p12"

    def complete(self) -> bool:
        """Whether every file is there (a folder is only renamed into place whole)."""
        files = (self.ca_cert, self.ca_key, self.server_cert, self.server_key)
        more = (self.client_cert, self.client_key, self.server_keystore)
        return all(path.is_file() for path in (*files, *more))


def server_extensions() -> str:
    """The X.509 extensions of the server certificate: names and key usages.

    >>> "subjectAltName = IP:127.0.0.1, DNS:localhost" in server_extensions()
    True
    """
    return "\n".join(
        [
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature, keyEncipherment",
            # the brokers also present it to each other (inter-broker TLS): client too
            "extendedKeyUsage = serverAuth, clientAuth",
            "subjectAltName = IP:127.0.0.1, DNS:localhost",
            "",
        ]
    )


def _client_extensions() -> str:
    return "\n".join(
        [
            "basicConstraints = critical, CA:FALSE",
            "keyUsage = critical, digitalSignature",
            "extendedKeyUsage = clientAuth",
            "",
        ]
    )


def ensure_tls(directory: Path, keystore_password: str) -> TlsFiles:
    """The certificates in ``directory``, made on first use and kept from then on.

    ``keystore_password`` seals the brokers' PKCS12 keystore (it is passed to ``openssl``
    through a private file, never on its command line).
    """
    files = TlsFiles(directory)
    if files.complete():
        return files
    if directory.exists():
        raise StackError(
            f"{directory} is incomplete; delete it to have new certificates made "
            "(clients then need the new ca.crt)"
        )
    work = directory.with_name(f".{directory.name}.{secrets.token_hex(6)}.tmp")
    work.mkdir(mode=0o700)
    try:
        _make_all(TlsFiles(work), keystore_password)
        work.rename(directory)
    except FileExistsError:  # pragma: no cover - another 'up' made them first: keep theirs
        pass
    except OSError as exc:
        if not files.complete():
            raise StackError(f"cannot put the certificates in {directory}: {exc}") from exc
    finally:
        if work.exists():
            shutil.rmtree(work)
    return files


def _make_all(files: TlsFiles, keystore_password: str) -> None:
    work = files.directory
    _openssl(
        "req", "-x509", "-new", *_new_key(files.ca_key), "-sha256", "-days", _DAYS,
        "-subj", "/O=driftline/CN=driftline local stack CA",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", str(files.ca_cert),
    )  # fmt: skip
    _issue(files, "server", "/O=driftline/CN=localhost", server_extensions())
    _issue(files, "client", "/O=driftline/CN=driftline", _client_extensions())
    password_file = work / ".keystore.password"
    password_file.write_text(keystore_password)
    _openssl(
        "pkcs12", "-export", "-name", "kafka",
        "-in", str(files.server_cert), "-inkey", str(files.server_key),
        "-certfile", str(files.ca_cert),
        "-passout", f"file:{password_file}",
        "-out", str(files.server_keystore),
    )  # fmt: skip
    password_file.unlink()
    for leftover in (work / "server.csr", work / "client.csr", work / "extensions.cnf"):
        leftover.unlink(missing_ok=True)


def _new_key(path: Path) -> list[str]:
    """``openssl req`` options making a new unencrypted P-256 key in ``path``."""
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(path)]


def _issue(files: TlsFiles, name: str, subject: str, extensions: str) -> None:
    """Make ``<name>.key`` and ``<name>.crt`` signed by the stack's CA."""
    work = files.directory
    csr, cnf = work / f"{name}.csr", work / "extensions.cnf"
    cnf.write_text(extensions)
    _openssl("req", "-new", *_new_key(work / f"{name}.key"), "-subj", subject, "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-sha256", "-days", _DAYS,
        "-CA", str(files.ca_cert), "-CAkey", str(files.ca_key), "-set_serial",
        str(secrets.randbits(120)), "-extfile", str(cnf), "-out", str(work / f"{name}.crt"),
    )  # fmt: skip


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise StackError(
            "the 'openssl' command is needed for 'stack up --secure' (Debian: apt-get "
            "install openssl)"
        )
    done = subprocess.run(
        [binary, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        umask=_PRIVATE_UMASK,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise StackError(f"openssl {args[0]} failed: {done.stderr.strip()[-800:]}")
