"""Data quality: the record rules, dedupe windows, lateness watch, figures per dimension, window
comparison."""
