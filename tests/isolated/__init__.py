"""Runs that need namespaces of their own (Linux): a slow link to the broker inside a
private network namespace (:mod:`.slow_broker`), a broker whose log directory fills
inside a private mount namespace (:mod:`.full_disk`). Each starts a stack of its own and
writes a JSON report; ``tests/integration/test_slow_and_full.py`` runs them under
``unshare`` where the machine allows it and skips, saying why, where it does not."""
