"""SIGTERM/SIGINT: the first sets the stop flag, the second exits at once."""

from __future__ import annotations

import os
import signal

import pytest

from pipeline.app.signals import stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_sets_the_flag_second_exits(signum: int) -> None:
    with stop_on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        assert stop.is_set()
        with pytest.raises(SystemExit) as exited:
            os.kill(os.getpid(), signum)
            signal.sigtimedwait([], 0)  # a point where the pending handler surely ran
    assert exited.value.code == 128 + signum


def test_handlers_are_restored_after_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
