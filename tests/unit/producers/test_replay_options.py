"""The replay options every ``produce`` command shares, and the faults they ask for, refused
before anything is published when they do not go together."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.adapters.settings import Settings
from driftline.core.errors import ConfigError
from driftline.producers.faults import FaultTargets
from driftline.producers.replay_options import ReplayOptions, fault_plan

SETTINGS = Settings(_env_file=None).with_overrides(seed=11, allowed_lateness_s=30.0)


@pytest.mark.parametrize(
    ("options", "scale"),
    [
        (ReplayOptions(), 1.0),
        (ReplayOptions(speed=60.0), 1.0),  # paced, not rebased: the source's own clock
        (ReplayOptions(speed=60.0, rebase=True), 60.0),
    ],
)
def test_only_a_rebased_replay_runs_a_faster_clock(options: ReplayOptions, scale: float) -> None:
    assert options.time_scale == scale


def test_a_rebase_needs_a_speed() -> None:
    ReplayOptions(speed=2.0, rebase=True).check()
    with pytest.raises(ConfigError, match="--rebase needs --speed"):
        ReplayOptions(rebase=True).check()


def test_no_faults_without_inject() -> None:
    assert fault_plan(ReplayOptions(), SETTINGS, None) is None


@pytest.mark.parametrize(
    "stray",
    [
        {"ground_truth": Path("truth.jsonl")},
        {"inject_seed": 3},
        {"inject_late_after": 10.0},
    ],
)
def test_the_fault_options_go_with_inject(stray: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="go with --inject"):
        fault_plan(ReplayOptions(**stray), SETTINGS, None)  # type: ignore[arg-type]


def test_inject_needs_a_ground_truth_in_a_folder_that_exists(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--inject needs --ground-truth"):
        fault_plan(ReplayOptions(inject="duplicate=0.1"), SETTINGS, None)
    nowhere = tmp_path / "gone" / "truth.jsonl"
    with pytest.raises(ConfigError, match="does not exist"):
        fault_plan(ReplayOptions(inject="duplicate=0.1", ground_truth=nowhere), SETTINGS, None)


def test_without_targets_late_faults_exceed_the_workers_lateness_on_the_sources_clock(
    tmp_path: Path,
) -> None:
    truth = tmp_path / "truth.jsonl"
    options = ReplayOptions(inject="late=0.1", ground_truth=truth, speed=4.0, rebase=True)
    plan = fault_plan(options, SETTINGS, None)
    assert plan is not None
    assert plan.targets.allowed_lateness_s == 120.0  # 30 s of the warped clock, 4 times faster
    assert plan.seed == 11  # the settings' seed


def test_a_source_without_lateness_cannot_take_late_faults(tmp_path: Path) -> None:
    options = ReplayOptions(inject="late=0.1", ground_truth=tmp_path / "truth.jsonl")
    none = Settings(_env_file=None).with_overrides(allowed_lateness_s=0.0)
    with pytest.raises(ConfigError, match="cannot inject late"):
        fault_plan(options, none, None)


def test_the_sources_targets_their_seed_and_lateness_override(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    targets = FaultTargets(allowed_lateness_s=7200.0, required=("distance",))
    options = ReplayOptions(inject="late=0.1,missing=0.1", ground_truth=truth, inject_seed=5)
    plan = fault_plan(options, SETTINGS, lambda: targets)
    assert plan is not None
    assert plan.seed == 5 and plan.rates == {"late": 0.1, "missing": 0.1}
    assert plan.targets == targets
    later = fault_plan(
        ReplayOptions(inject="late=0.1", ground_truth=truth, inject_late_after=60.0),
        SETTINGS,
        lambda: targets,
    )
    assert later is not None and later.targets.allowed_lateness_s == 60.0
    assert later.targets.required == ("distance",)
