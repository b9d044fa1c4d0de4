"""resolve_endpoints: the Redis URL carries the password file and the TLS files."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.adapters.endpoints import resolve_endpoints
from driftline.adapters.settings import KafkaSettings, RedisSettings
from driftline.core.errors import ConfigError


def private_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_redis_settings_add_the_password_file_and_tls_files(tmp_path: Path) -> None:
    password = private_file(tmp_path / "redis.pw", "p@ss/word")
    redis = RedisSettings(
        url="rediss://app@cache:6380/0",
        password_file=password,
        ssl_ca_file=Path("/t/ca.crt"),
        ssl_certfile=Path("/t/c.crt"),
        ssl_keyfile=Path("/t/c.key"),
    )
    found = resolve_endpoints(KafkaSettings(bootstrap="k:9093"), redis, lambda: None)
    assert found.redis_url == (
        "rediss://app:p%40ss%2Fword@cache:6380/0?ssl_ca_certs=%2Ft%2Fca.crt"
        "&ssl_certfile=%2Ft%2Fc.crt&ssl_keyfile=%2Ft%2Fc.key"
    )
    assert "p%40ss" not in found.describe() and "app:***@cache" in found.describe()
    with pytest.raises(ConfigError, match="need a rediss:// URL"):
        RedisSettings(ssl_ca_file=Path("/t/ca.crt")).client_url("redis://cache:6379/0")
    loose = RedisSettings(password_file=private_file(tmp_path / "loose", "pw", mode=0o640))
    with pytest.raises(ConfigError, match="DRIFTLINE_REDIS_PASSWORD_FILE .* chmod 600"):
        loose.client_url("rediss://app@cache:6380/0")
