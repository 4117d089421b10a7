"""One settings layer for every experiment kind, ``--set`` and the configs in ``configs/``.

Every experiment's settings are a frozen dataclass; :func:`check_settings` builds one from a
mapping (a YAML file, ``--set`` pairs) through pydantic's validation of dataclasses, once, at
the edge: numbers written as ``1e-4`` (a string to PyYAML) become floats, ``"false"`` and
``false`` become ``False``, and an unknown key or a value of the wrong type is refused with
one line that names where it came from, the key, what was expected and the valid keys. The
dataclasses' own ``__post_init__`` checks (ranges, allowed names) run as part of it.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     lr: float = 1e-3
    ...     generalized: bool = True
    >>> check_settings(Demo, {"lr": "1e-4", "generalized": "false"})
    Demo(lr=0.0001, generalized=False)
    >>> check_settings(Demo, {"lrr": 1}, source="demo.yaml")
    Traceback (most recent call last):
    ...
    xtutor.settings.SettingsError: demo.yaml: unknown setting 'lrr'; valid keys: generalized, lr
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ConfigDict, TypeAdapter, ValidationError

T = TypeVar("T")

_STRICT_KEYS = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class SettingsError(ValueError):
    """A setting that is unknown or has the wrong type or value (one line, no traceback)."""


def _forbid_extra(cls: type) -> None:
    """Mark ``cls`` and its nested dataclasses as refusing unknown keys (pydantic reads
    ``__pydantic_config__`` on standard-library dataclasses)."""
    if not dataclasses.is_dataclass(cls) or "__pydantic_config__" in vars(cls):
        return
    cls.__pydantic_config__ = _STRICT_KEYS  # type: ignore[attr-defined]
    for f in dataclasses.fields(cls):
        if isinstance(f.type, type) and dataclasses.is_dataclass(f.type):
            _forbid_extra(f.type)


def _valid_keys(cls: type, loc: tuple[Any, ...]) -> list[str]:
    """The field names at ``loc`` inside ``cls`` (nested dataclasses followed by name)."""
    hints = cls
    for part in loc[:-1]:
        if not dataclasses.is_dataclass(hints):
            return []
        f = {x.name: x for x in dataclasses.fields(hints)}.get(str(part))
        if f is None:
            return []
        hints = f.default_factory() if f.default_factory is not dataclasses.MISSING \
            else f.default  # type: ignore[misc]
        hints = type(hints)
    return sorted(x.name for x in dataclasses.fields(hints)) \
        if dataclasses.is_dataclass(hints) else []


_EXPECTED = {
    "float_parsing": "a number", "float_type": "a number", "int_parsing": "an integer",
    "int_type": "an integer", "int_from_float": "an integer", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "tuple_type": "a list",
    "list_type": "a list", "dict_type": "a mapping", "dataclass_type": "a mapping",
    "none_required": "null",
}


def _message(e: ValidationError, cls: type, source: str) -> str:
    err = e.errors()[0]
    loc = tuple(err.get("loc", ()))
    # a union (``int | None``) reports each member; the key is the part before the member name
    loc = tuple(p for p in loc if not (isinstance(p, str) and p in (
        "int", "float", "str", "bool", "none", "function-after[__post_init__()]")))
    key = ".".join(str(p) for p in loc if not isinstance(p, int)) or "(settings)"
    kind = err.get("type", "")
    if kind == "unexpected_keyword_argument":
        keys = _valid_keys(cls, loc)
        return f"{source}: unknown setting {key!r}; valid keys: {', '.join(keys)}"
    if kind == "missing_argument":
        return f"{source}: setting {key!r} is required"
    if kind == "value_error":
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        return f"{source}: {msg}"
    what = _EXPECTED.get(kind, err.get("msg", "a valid value"))
    got = err.get("input")
    return f"{source}: setting {key!r}: expected {what}, got {got!r}"


def check_settings(cls: type[T], values: Mapping[str, Any] | None, *, source: str = "settings"
                   ) -> T:
    """Build the settings dataclass ``cls`` from ``values``, converting types once.

    ``source`` names where the values came from (a file, ``--set``) in the error message.
    Raises :class:`SettingsError` (a ``ValueError``) with one line for the first problem.

    Example:
        >>> from xtutor.training import FinetuneConfig
        >>> check_settings(FinetuneConfig, {"lr": "1e-4", "epochs": 3}).lr
        0.0001
    """
    if values is not None and not isinstance(values, Mapping):
        raise SettingsError(f"{source}: expected a mapping of settings, got "
                            f"{type(values).__name__}")
    _forbid_extra(cls)
    try:
        return TypeAdapter(cls).validate_python(dict(values or {}))
    except ValidationError as e:
        raise SettingsError(_message(e, cls, source)) from None
    except (TypeError, ValueError) as e:  # a check outside pydantic's reach
        raise SettingsError(f"{source}: {e}") from None


def settings_dict(obj: Any) -> dict[str, Any]:
    """A settings dataclass as a plain JSON-able dict (tuples become lists).

    Example:
        >>> from xtutor.training import FinetuneConfig
        >>> settings_dict(FinetuneConfig())["batch_size"]
        32
    """
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"settings_dict expects a dataclass instance, got {type(obj).__name__}")

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, Mapping):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return conv(obj)


def override(obj: T, changes: Mapping[str, Any], *, source: str = "--set") -> T:
    """``obj`` (a settings dataclass) with dotted-key ``changes`` applied and re-checked.

    Example:
        >>> from xtutor.lab import LabConfig
        >>> cfg = override(LabConfig.preset("tiny"), {"mlm.steps": "30", "generalized": "false"})
        >>> cfg.mlm.steps, cfg.generalized
        (30, False)
    """
    data = settings_dict(obj)
    for key, value in changes.items():
        parts = str(key).split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                where = ".".join(parts[:i + 1])
                if part not in node:
                    keys = ", ".join(sorted(node))
                    raise SettingsError(f"{source}: unknown setting {where!r}; valid keys: "
                                        f"{keys}")
                raise SettingsError(f"{source}: {where!r} is not a group of settings; set it "
                                    f"directly")
            node = node[part]
        if isinstance(node.get(parts[-1]), dict) and not isinstance(value, Mapping):
            first = next(iter(node[parts[-1]]), "x")
            raise SettingsError(f"{source}: {key!r} is a group; set one of its fields, e.g. "
                                f"{key}.{first}")
        node[parts[-1]] = value
    return check_settings(type(obj), data, source=source)


__all__ = ["SettingsError", "check_settings", "override", "settings_dict"]
