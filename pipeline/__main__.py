"""The ``driftline`` command's entry point, also run by ``python -m driftline``.

``driftline --version`` is answered here, before the command and its imports (River,
pydantic, the Kafka clients: seconds) are loaded; anything else goes to
:func:`driftline.app.cli.main`, which knows ``--version`` too (``driftline -v --version``).
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``driftline`` command on ``sys.argv``."""
    if sys.argv[1:] == ["--version"]:
        from driftline.app.version import version_line

        print(version_line())
        return
    from driftline.app.cli import main as run_command

    run_command()


if __name__ == "__main__":
    main()
