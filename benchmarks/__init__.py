"""Benchmarks: each measures its own baselines in the same run and reports ratios."""
