"""``python -m driftline`` runs the driftline command."""

from driftline.app.cli import main

main()
