"""Drift: detectors, monitors of errors, features and labels, alarms and reports."""
