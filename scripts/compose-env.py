#!/usr/bin/env python3
"""Write compose.env: the secrets docker-compose.yml needs, random, readable by you only.

    python3 scripts/compose-env.py            # or: make compose-env
    docker compose up --build -d

It holds the Redis password (Redis requires it; the workers' DRIFTLINE_REDIS_URL carries
it) and DRIFTLINE_CHECKPOINT_KEY (the HMAC key of checkpoints). An existing file is kept:
a new key would make every checkpoint unreadable. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path


def render(password: str, key: str) -> str:
    return (
        "# written by scripts/compose-env.py: secrets of docker-compose.yml (keep private)\n"
        f"REDIS_PASSWORD={password}\n"
        f"DRIFTLINE_REDIS_URL=redis://:{password}@redis:6379/0\n"
        f"DRIFTLINE_CHECKPOINT_KEY={key}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("compose.env"))
    args = parser.parse_args()
    if args.output.exists():
        print(f"{args.output} exists: kept (delete it to make new secrets)", file=sys.stderr)
        return 0
    text = render(secrets.token_urlsafe(32), secrets.token_hex(32))
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(f"wrote {args.output} (mode 600)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
