"""KafkaSettings: unknown fields refused; the SASL mechanism and the password source checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from driftline.adapters.settings import KafkaSettings


def test_groups_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        KafkaSettings(partitons=3)  # type: ignore[call-arg]


def test_the_sasl_mechanism_and_the_password_source_are_checked() -> None:
    with pytest.raises(ValidationError, match="SCRAM-SHA-512"):
        KafkaSettings(sasl_mechanism="GSSAPI")
    with pytest.raises(ValidationError, match="not both"):
        KafkaSettings(sasl_password="pw", sasl_password_file=Path("pw.txt"))
