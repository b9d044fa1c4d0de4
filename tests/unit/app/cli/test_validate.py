"""``driftline validate``'s windows: bad ones are clear errors."""

from __future__ import annotations

import pytest

from driftline.app.cli.validate import parse_window
from driftline.core.errors import ConfigError


@pytest.mark.parametrize(
    "text", ["2013-01-01", "2013-02-01/2013-01-01", "yesterday/today", "2013-01-01/"]
)
def test_bad_windows_are_clear_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="window"):
        parse_window(text)
