"""``python -m pipeline`` runs the driftline command."""

from pipeline.cli import main

main()
