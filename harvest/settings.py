"""Config loading shared by every command: pydantic model defaults < YAML file < flags.

Each command's settings are one pydantic model whose field descriptions double as `--help`,
so a default or a help line is written once.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """A config file or flag value that cannot be used; the message names the key."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def add_model_flags(
    parser: argparse.ArgumentParser, model: type[BaseModel], *, skip: tuple[str, ...] = ()
) -> None:
    """Add one flag per scalar or list field of `model`; unset flags stay None."""
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        annotation = _unwrap_optional(field.annotation)
        origin = typing.get_origin(annotation)
        help_text = field.description or ""
        default = field.get_default(call_default_factory=True)
        if default not in (None, [], ()) and not isinstance(default, BaseModel):
            help_text += f" (default: {default})"
        kwargs: dict[str, Any] = {"dest": name, "default": None, "help": help_text}
        if annotation is SecretStr or (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)
        ):
            continue
        if annotation is bool:
            parser.add_argument(_flag(name), action=argparse.BooleanOptionalAction, **kwargs)
        elif origin is typing.Literal:
            parser.add_argument(_flag(name), choices=list(typing.get_args(annotation)), **kwargs)
        elif origin in (list, tuple):
            (item,) = typing.get_args(annotation)[:1]
            item = item if item in (int, float, Path) else str
            parser.add_argument(
                _flag(name), action="append", type=item, metavar=name.upper(), **kwargs
            )
        elif annotation in (int, float, Path):
            parser.add_argument(_flag(name), type=annotation, metavar=name.upper(), **kwargs)
        elif annotation is str or origin is None:
            parser.add_argument(_flag(name), type=str, metavar=name.upper(), **kwargs)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file or a non-mapping is a SettingsError."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path} must hold a mapping of keys to values")
    return data


def load_settings(
    model: type[M],
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> M:
    """Build `model` from its defaults, then the YAML file, then the non-None overrides."""
    values: dict[str, Any] = read_yaml(config_path) if config_path else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(format_validation_error(exc, config_path)) from None


def format_validation_error(exc: ValidationError, config_path: Path | None) -> str:
    """One line per bad key, naming the key as a flag and as a config key."""
    where = f" (config {config_path})" if config_path else ""
    lines = [f"invalid settings{where}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        flag = _flag(str(err["loc"][0])) if err["loc"] else ""
        lines.append(f"  {key} ({flag}): {err['msg']}")
    return "\n".join(lines)


def overrides_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The flags the user actually gave, keyed by field name."""
    return {
        name: getattr(args, name)
        for name in model.model_fields
        if getattr(args, name, None) is not None
    }
