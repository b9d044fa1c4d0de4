"""The worker's collector settings hold while it runs and are undone when it returns."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

from driftline.consumers.process_tuning import OLDER, YOUNG, limit_allocator, steady_collector


def test_thresholds_and_the_freeze_hold_inside_and_are_undone_after() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    survivor = [object()]
    with steady_collector():
        assert gc.get_threshold() == (YOUNG, *OLDER)
        assert gc.get_freeze_count() > 0  # what existed at the start is out of the walks
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert survivor


def test_a_heap_the_caller_froze_stays_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with steady_collector():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_cycles_made_while_it_runs_are_still_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with steady_collector():
        for _ in range(3):
            Node()
        assert gc.collect() >= 3


def _limit_in_a_fresh_process(env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from {limit_allocator.__module__} import limit_allocator as f; print(f())",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return done.stdout.strip()


def test_the_users_own_glibc_variables_stand() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _limit_in_a_fresh_process(env | {"MALLOC_ARENA_MAX": "4"}) == "False"


def test_the_allocator_is_limited_in_a_fresh_process() -> None:
    """In its own process (mallopt is process-wide): on glibc, the call takes effect."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    want = "True" if libc and libc.startswith("glibc") else "False"
    assert _limit_in_a_fresh_process(env) == want
