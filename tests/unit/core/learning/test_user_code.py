"""import_attr and qualified_name: the user's module:attr found in the working directory,
clear errors naming the spec, and functions a checkpoint cannot name refused."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftline.core.errors import ConfigError
from driftline.core.learning.user_code import import_attr, qualified_name


@pytest.fixture
def user_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory of the user's, not on ``sys.path`` (as under the console
    script); the modules imported from it are forgotten afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("u21_"):
            del sys.modules[name]


def test_a_module_of_the_working_directory_is_found(user_folder: Path) -> None:
    (user_folder / "u21_mymodel.py").write_text("def make():\n    return 'a model'\n")
    assert str(user_folder) not in sys.path
    make = import_attr("u21_mymodel:make", "--model")
    assert make() == "a model"
    assert sys.path[0] == str(user_folder)
    import_attr("u21_mymodel:make", "--model")
    assert sys.path.count(str(user_folder)) == 1  # inserted once


def test_a_dotted_attribute_is_followed(user_folder: Path) -> None:
    (user_folder / "u21_holder.py").write_text("class Box:\n    value = 3\n")
    assert import_attr("u21_holder:Box.value", "--model") == 3


def test_a_missing_module_names_the_spec_the_error_and_where_it_looked(user_folder: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        import_attr("u21_nowhere:make", "--model")
    assert str(caught.value) == (
        f"--model u21_nowhere:make: No module named 'u21_nowhere' "
        f"(looked in {user_folder} and sys.path)"
    )


def test_a_missing_attribute_and_a_module_that_raises_are_config_errors(user_folder: Path) -> None:
    (user_folder / "u21_empty.py").write_text("")
    (user_folder / "u21_broken.py").write_text("raise RuntimeError('half written')\n")
    with pytest.raises(ConfigError, match="--features u21_empty:feats: module 'u21_empty' has no"):
        import_attr("u21_empty:feats", "--features")
    with pytest.raises(ConfigError, match="raised RuntimeError\\('half written'\\)"):
        import_attr("u21_broken:feats", "--features")


@pytest.mark.parametrize("spec", ["nocolon", ":attr", "module:"])
def test_a_spec_without_module_and_attr_is_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="expected module:attr"):
        import_attr(spec, "--features")


def module_level(obs: object) -> dict[str, float]:
    return {}


def test_a_module_level_function_is_named_by_module_and_qualname() -> None:
    assert qualified_name(module_level, "--features") == f"{__name__}:module_level"


def test_a_lambda_a_local_function_and_a_stray_object_are_refused() -> None:
    def local(obs: object) -> dict[str, float]:
        return {}

    functions: list[Any] = [lambda obs: {}, local]
    for function in functions:
        with pytest.raises(ConfigError, match="define it with def at the top level"):
            qualified_name(function, "--features")
    with pytest.raises(ConfigError, match="is not callable"):
        qualified_name(3, "--features")


def test_a_function_whose_name_leads_elsewhere_is_refused() -> None:
    def impostor(obs: object) -> dict[str, float]:
        return {}

    impostor.__qualname__ = "module_level"  # the name of another function
    with pytest.raises(ConfigError, match="does not lead back to it"):
        qualified_name(impostor, "--features")
