"""driftline's public API: run_worker's configuration from a model object, a factory or a
spec and a feature function; ``import driftline`` stays cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from river import linear_model

import driftline
from driftline.adapters.settings import Settings
from driftline.api import run_worker, task_config
from driftline.core.errors import ConfigError, ServiceUnavailable
from driftline.core.events.model import FeatureValue, Observation
from driftline.core.learning.models import ModelSource


def ratio(obs: Observation) -> dict[str, FeatureValue]:
    return {"ratio": 1.0}


def make() -> linear_model.LogisticRegression:
    return linear_model.LogisticRegression()


def not_a_model() -> str:
    return "nope"


SETTINGS = Settings(_env_file=None, namespace="api")


def test_the_public_names_resolve() -> None:
    for name in driftline.__all__:
        assert getattr(driftline, name) is not None
    assert driftline.run_worker is run_worker
    assert driftline.Observation is Observation


def test_importing_driftline_loads_no_worker_nor_client() -> None:
    code = (
        "import sys, driftline; print(sorted(m for m in sys.modules"
        " if 'consumers' in m or m in ('kafka', 'redis', 'river')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_model_object_becomes_a_spec_of_its_own() -> None:
    config = task_config(linear_model.LogisticRegression(l2=0.3), ratio, SETTINGS)
    assert isinstance(config.model, ModelSource) and "l2=0.3" in config.model
    assert config.feature_function is ratio
    assert config.seed == SETTINGS.task_config().seed


def test_a_factory_and_a_spec_are_taken_and_none_keeps_the_settings() -> None:
    assert task_config(make, settings=SETTINGS).model == f"{__name__}:make"
    spec = "linear_model.LinearRegression()"
    assert task_config(spec, settings=SETTINGS).model == spec
    assert task_config(settings=SETTINGS) == SETTINGS.task_config()


def test_what_cannot_run_is_refused_before_anything_connects() -> None:
    with pytest.raises(ConfigError, match="gave str, not a River estimator"):
        task_config(not_a_model, settings=SETTINGS)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="define it with def"):
        task_config(features=lambda obs: {}, settings=SETTINGS)


def test_run_worker_without_services_says_where_to_find_them(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, namespace="api", stack_home=tmp_path)
    with pytest.raises(ServiceUnavailable, match="driftline stack up"):
        run_worker(make, ratio, settings=settings, max_events=1)


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    yield tmp_path
    sys.modules.pop("u21_feats", None)


def test_the_settings_import_the_feature_function_from_the_working_directory(
    user_folder: Path,
) -> None:
    (user_folder / "u21_feats.py").write_text("def features(obs):\n    return {'one': 1.0}\n")
    config = SETTINGS.with_overrides(features="u21_feats:features").task_config()
    assert config.feature_function is sys.modules["u21_feats"].features
    with pytest.raises(ConfigError, match="--features u21_feats:nope: module 'u21_feats' has no"):
        SETTINGS.with_overrides(features="u21_feats:nope").task_config()
