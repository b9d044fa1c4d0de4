"""Settings the core declares: a setting that sets a field of the core's
:class:`~driftline.core.task.config.TaskConfig` takes that field's default, bounds and
description from the core (:meth:`TaskConfig.field_info`) instead of repeating them, and
remembers which field it sets, so the task's configuration is built by path.

>>> from pydantic import BaseModel
>>> class Example(BaseModel):
...     promote_window: int = core_field("promotion.window")
...     drift_concept: str = core_field("drift.concept", off="off")
>>> info = Example.model_fields["promote_window"]
>>> info.default, info.metadata[0], info.description
(2000, Ge(ge=1), 'labels a promotion compares')
>>> core_values(Example(drift_concept="off"))
{'promotion.window': 2000, 'drift.concept': None}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from driftline.core.task.config import TaskConfig

__all__ = ["CoreTarget", "core_field", "core_targets", "core_values"]

#: Marks an argument of :func:`core_field` as not given (``None`` is a value).
_CORE: Any = object()


@dataclass(frozen=True)
class CoreTarget:
    """The core field a setting sets, by its path (``"features.raw_only"``).

    ``off``: the setting's word for the core's ``None``; ``to_core``: how the setting's
    value becomes the core's (JSON's mapping into the core's pairs, say). Kept in the
    setting's metadata, where pydantic leaves what it does not know alone.
    """

    path: str
    off: str | None = None
    to_core: Callable[[Any], Any] | None = None

    def value(self, setting: Any) -> Any:
        """The core's value for the setting's."""
        if self.off is not None and setting == self.off:
            return None
        return setting if self.to_core is None else self.to_core(setting)


def core_field(
    path: str,
    *,
    default: Any = _CORE,
    default_factory: Callable[[], Any] | None = None,
    description: str | None = _CORE,
    off: str | None = None,
    to_core: Callable[[Any], Any] | None = None,
) -> Any:
    """A setting of the core's field at ``path``: the core's default, bounds and
    description, but for what is given here (a setting's own default, or the description
    of its variable's format)."""
    core = TaskConfig.field_info(path)
    if description is _CORE:
        description = core.description
    if default_factory is None and default is _CORE:
        default_factory = core.default_factory  # type: ignore[assignment]
        default = core.default
        if off is not None and default is None:
            default = off
    given = (
        Field(default, description=description)
        if default_factory is None
        else Field(default_factory=default_factory, description=description)
    )
    annotated: Any = Annotated[(Any, *core.metadata, CoreTarget(path, off, to_core))]
    return FieldInfo.from_annotated_attribute(annotated, given)


def core_targets(group: type[BaseModel]) -> dict[str, CoreTarget]:
    """The fields of ``group`` that set a core field, and the field each sets."""
    targets = {}
    for name, info in group.model_fields.items():
        for mark in info.metadata:
            if isinstance(mark, CoreTarget):
                targets[name] = mark
    return targets


def core_values(settings: BaseModel) -> dict[str, Any]:
    """The core's values of ``settings``, by the path of the field each sets."""
    return {
        target.path: target.value(getattr(settings, name))
        for name, target in core_targets(type(settings)).items()
    }
