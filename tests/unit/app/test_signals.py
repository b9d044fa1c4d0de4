"""SIGTERM/SIGINT: the first sets the stop flag, the second exits at once."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from driftline.app.signals import stop_on_signals

CHILD = """
import os, signal, sys
from driftline.app.signals import stop_on_signals

signum = int(sys.argv[1])
with stop_on_signals() as stop:
    os.kill(os.getpid(), signum)
    assert stop.is_set(), "the first signal sets the flag"
    print("flag set", flush=True)
    try:
        os.kill(os.getpid(), signum)
        signal.sigtimedwait([], 0)  # a point where the pending handler surely ran
    except BaseException:  # what kafka-python 3 does around its waits
        pass
    print("survived the second signal", flush=True)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_sets_the_flag_second_exits_whatever_catches(signum: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(int(signum))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.splitlines() == ["flag set"], done.stdout + done.stderr
    assert done.returncode == 128 + signum, done.stderr


def test_handlers_are_restored_after_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_signal_during_the_first_ones_log_line_exits_at_once(monkeypatch) -> None:
    """A signal handled inside the first one's handler (Python runs handlers between
    bytecodes, so the second can arrive while the first is logged) is the second."""
    import os
    import signal

    from driftline.app import signals

    class Exited(Exception):
        pass

    def exit_at_once(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", exit_at_once)
    with signals.stop_on_signals() as stop:
        handler = signal.getsignal(signal.SIGTERM)
        nested = []

        def log_then_second_signal(*_args: object) -> None:
            if not nested:
                nested.append(True)
                handler(signal.SIGINT, None)  # type: ignore[operator]

        monkeypatch.setattr(signals.log, "info", log_then_second_signal)
        try:
            handler(signal.SIGTERM, None)  # type: ignore[operator]
        except Exited as exited:
            code = exited.args[0]
        else:
            code = None
        assert stop.is_set()
    assert code == 128 + signal.SIGINT
