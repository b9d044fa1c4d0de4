"""The error tree: every error driftline raises on purpose is a :class:`DriftlineError`.

Third-party errors are wrapped (``raise ... from exc``) so callers catch one family.

>>> issubclass(SchemaViolation, DecodeError) and issubclass(DecodeError, DriftlineError)
True
>>> issubclass(ServiceUnavailable, TransientError) and issubclass(PublishError, TransientError)
True
>>> issubclass(MappingRefused, DecodeError) and issubclass(SourceFileError, ConfigError)
True
>>> issubclass(StoreFull, ServiceUnavailable), issubclass(RedisScriptError, TransientError)
(True, False)

Each error says how the ``driftline`` command exits on it (:class:`ExitCode`, the table
of docs/reference/cli.md):

>>> [int(e.exit_code) for e in (ConfigError, CheckpointRefused, PublishError, StackError)]
[2, 3, 4, 1]
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

__all__ = [
    "CheckpointRefused",
    "ConfigError",
    "DecodeError",
    "DriftlineError",
    "EventValidationError",
    "ExitCode",
    "MappingRefused",
    "MissingExtra",
    "PublishError",
    "RedisScriptError",
    "SchemaRegistryError",
    "SchemaRegistryUnavailable",
    "SchemaViolation",
    "ServiceUnavailable",
    "SourceFileError",
    "StackError",
    "StoreFull",
    "TransientError",
    "WriteRefused",
]


class ExitCode(IntEnum):
    """The exit statuses of the ``driftline`` command, one meaning each."""

    OK = 0
    #: the command ran and failed: no prediction for the key, a stack not running, an
    #: error met at run time
    FAILURE = 1
    #: a usage error or an invalid setting: nothing was done
    USAGE = 2
    #: a checkpoint refused: its HMAC does not verify (forged, or another key's), or it is
    #: unreadable (not a checkpoint, another version's format or another configuration's)
    CHECKPOINT_REFUSED = 3
    #: a service (Kafka, Redis, a schema registry) did not answer or refused for now:
    #: the same command may succeed later
    UNAVAILABLE = 4


class DriftlineError(Exception):
    """Root of every error driftline raises on purpose; ``exit_code`` is the command's
    exit status when one ends it."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE


class ConfigError(DriftlineError):
    """Settings or command-line options that cannot work together."""

    exit_code = ExitCode.USAGE


class CheckpointRefused(DriftlineError):
    """A checkpoint that cannot be trusted or used: its HMAC does not verify (forged, or
    sealed with another key), or it is not a checkpoint of this version and configuration.
    Nothing of it was unpickled."""

    exit_code = ExitCode.CHECKPOINT_REFUSED


class StackError(DriftlineError):
    """The local Kafka/Redis stack could not be fetched, started, or stopped."""


class MissingExtra(DriftlineError):
    """A command needs an optional extra (the flights demo's ``[demo]``) that is not
    installed; the message says how to install it."""

    exit_code = ExitCode.USAGE


class TransientError(DriftlineError):
    """A service did not answer or refused for now: the same call may succeed later.

    The worker waits these out (retrying with back-off) instead of stopping.
    """

    exit_code = ExitCode.UNAVAILABLE


class ServiceUnavailable(TransientError):
    """Kafka or Redis did not answer where the settings say it is."""


class StoreFull(ServiceUnavailable):
    """Redis refused a write because it is full (``maxmemory`` reached under the
    ``noeviction`` policy): waited out like an outage, until memory frees."""


class RedisScriptError(DriftlineError):
    """One of driftline's Redis scripts failed for a reason waiting cannot mend (a bug in
    the script, or data it cannot read): the worker stops instead of retrying for ever."""


class SchemaRegistryError(DriftlineError):
    """A schema registry refused a request (``status``, its ``error_code``) or answered
    something unusable. The message names the registry's URL, never its credentials."""

    def __init__(self, message: str, status: int | None = None, error_code: int | None = None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class SchemaRegistryUnavailable(ServiceUnavailable):
    """A schema registry did not answer (refused connection, timeout, 5xx): retry later."""


class WriteRefused(DriftlineError):
    """A sink wrote a batch except some predictions it can never hold (a Redis key of
    another type): ``refused`` pairs each with why, ``stored`` counts what was written."""

    def __init__(self, stored: int, refused: list[tuple[Any, str]]) -> None:
        super().__init__(f"{len(refused)} prediction(s) refused: {refused[0][1]}")
        self.stored = stored
        self.refused = refused


class EventValidationError(DriftlineError, ValueError):
    """An event that breaks its schema's rules (naive or absurd time, non-finite value...)."""


class DecodeError(DriftlineError):
    """Bytes read from Kafka that are not a valid driftline event.

    ``reason`` is a short, stable, kebab-case code used as the dead-letter reason and the
    metric label, e.g. ``bad-magic-byte``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SchemaViolation(DecodeError):
    """The bytes decoded as Avro but the event breaks the pydantic model's rules."""


class MappingRefused(DecodeError):
    """A record of a user's topic that cannot become a driftline event: not a record, no
    field where the source file says, a time or label that cannot be read.

    ``reason`` is one of the ``source-*`` rules of :mod:`driftline.core.quality.reasons`
    (the dead-letter reason); ``detail`` names the topic and the field path.
    """


class SourceFileError(ConfigError):
    """A source file (``driftline consume --source FILE``) that cannot be read or is not a
    valid description of a source: the message names the file and the place in it."""


class PublishError(TransientError):
    """Kafka did not acknowledge one or more records; none is silently dropped."""

    def __init__(self, message: str, failed: int, first_error: BaseException | None) -> None:
        super().__init__(message)
        self.failed = failed
        self.first_error = first_error
