"""The local stack's secrets as its servers and clients use them: the checkpoint key, the
Redis password and the Redis URL that carries it, and, on a secured stack, the brokers'
TLS and SCRAM settings and the client's certificates (made on first use; see
:mod:`driftline.stack.secret_files` and :mod:`driftline.stack.certificates`)."""

from __future__ import annotations

from driftline.adapters.settings import STACK_USER, StackSettings
from driftline.core.errors import StackError
from driftline.stack.certificates import TlsFiles, ensure_tls
from driftline.stack.kafka_node import KafkaServerSecurity
from driftline.stack.redis_node import RedisTls, secured_url, with_password
from driftline.stack.secret_files import (
    CHECKPOINT_KEY,
    REDIS_PASSWORD,
    ensure_secured_secrets,
    read_secret,
)

__all__ = ["StackCredentials"]


class StackCredentials:
    """The secrets under ``<home>/secrets`` of the stack ``config`` describes."""

    def __init__(self, config: StackSettings) -> None:
        self.config = config
        self.secrets_dir = config.home / "secrets"

    def checkpoint_key(self) -> bytes | None:
        """The key the stack made for sealing checkpoints, ``None`` before the first ``up``.

        The bytes of ``secrets/checkpoint.key``'s text (64 hex digits): the same key as
        ``DRIFTLINE_CHECKPOINT_KEY`` set to that text.
        """
        key = read_secret(self.secrets_dir / CHECKPOINT_KEY)
        return key.encode() if key is not None else None

    def redis_password(self) -> str | None:
        return read_secret(self.secrets_dir / REDIS_PASSWORD)

    def client_redis_url(self, url: str, password: str | None, secure: bool) -> str:
        """``url`` (as ``stack.json`` records it, without a secret) as a client uses it:
        with ``password``, and on a ``secure`` stack with the ACL user and TLS files."""
        if not secure:
            return with_password(url, password)
        if password is None:
            raise StackError(f"the secured stack in {self.config.home} has lost its Redis password")
        files = self.config.client_files
        return secured_url(url, password, self.redis_tls(), files.client_cert, files.client_key)

    def redis_tls(self) -> RedisTls:
        """A secured Redis server's TLS files and ACL user."""
        tls = self._tls()
        return RedisTls(tls.server_cert, tls.server_key, tls.ca_cert, STACK_USER)

    def kafka_security(self) -> KafkaServerSecurity:
        """The brokers' security, with the secrets and certificates made if need be."""
        secured = ensure_secured_secrets(self.secrets_dir)
        tls = ensure_tls(self._tls().directory, secured.keystore_password)
        return KafkaServerSecurity(
            keystore=tls.server_keystore,
            keystore_password=secured.keystore_password,
            truststore=tls.ca_cert,
            broker_user="broker",
            broker_password=secured.broker_password,
            client_user=STACK_USER,
            client_password=secured.kafka_password,
        )

    def _tls(self) -> TlsFiles:
        return TlsFiles(self.config.client_files.tls_dir)
