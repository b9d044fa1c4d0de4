"""The Redis node's configuration: the password required, TLS, only its owner reads it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from driftline.core.errors import StackError
from driftline.stack.redis_node import RedisTls, redis_command, render_redis_conf, write_redis_conf


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_redis_conf_requires_the_password_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text("# an older config\n")
    conf.chmod(0o644)
    write_redis_conf(conf, port=6390, home=tmp_path, password="pw-123")
    assert "requirepass pw-123" in conf.read_text().splitlines()
    assert mode(conf) == 0o600


def test_secured_redis_conf_and_command() -> None:
    tls = RedisTls(Path("/t/s.crt"), Path("/t/s.key"), Path("/t/ca.crt"), "driftline")
    text = render_redis_conf(port=6390, home=Path("/s/redis"), password="Rd-pw-4", tls=tls)
    lines = text.splitlines()
    assert "port 0" in lines and "tls-port 6390" in lines
    assert "tls-auth-clients yes" in lines and "tls-ca-cert-file /t/ca.crt" in lines
    # the default user is on (Redis replays the append-only file as it), with a password
    # nobody knows: a hash of random bytes, other on each render
    default = [line for line in lines if line.startswith("user default ")]
    assert len(default) == 1 and default[0].startswith("user default on #")
    assert "nopass" not in text and ">" not in default[0]
    again = render_redis_conf(port=6390, home=Path("/s/redis"), password="Rd-pw-4", tls=tls)
    assert default[0] not in again.splitlines()
    assert any(line.startswith("user driftline on #") and "-@admin" in line for line in lines)
    assert "Rd-pw-4" not in text and "requirepass" not in text
    assert redis_command(Path("/s/redis.conf"), 6390, tls=True)[-4:] == [
        "--port",
        "0",
        "--tls-port",
        "6390",
    ]
    with pytest.raises(StackError):
        render_redis_conf(port=6390, home=Path("/s"), password=None, tls=tls)
