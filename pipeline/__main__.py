"""``python -m pipeline`` runs the driftline command."""

from pipeline.app.cli import main

main()
