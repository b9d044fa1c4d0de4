"""Learning: models, their contest, costs, metrics and windows, features, label history, the
pending store."""
