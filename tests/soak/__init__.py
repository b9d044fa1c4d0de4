"""The soak: the worker living with faults for a long time, several kinds in one run.

``make soak`` (``python -m tests.soak``) runs 30 minutes; its short form, a few minutes,
runs in ``make test`` (``tests/integration/test_soak.py``). See :mod:`tests.soak.run`.
"""
