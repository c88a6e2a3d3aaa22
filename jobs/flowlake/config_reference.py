"""docs/config.md, the reference of every config key, rendered from the schema in flowlake.config.

Run: `python -m flowlake.config_reference > docs/config.md` (`make config-docs`).
tests/unit/test_config.py fails when docs/config.md differs from what this renders, so the
reference cannot drift from the keys load_config accepts.
"""

import inspect
import json
import sys
import types
import typing
from typing import Annotated, Literal

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from flowlake.config import ConfigFile

BOUNDS = ((annotated_types.Ge, "ge", ">="), (annotated_types.Gt, "gt", ">"),
          (annotated_types.Le, "le", "<="), (annotated_types.Lt, "lt", "<"))
SCALARS = {str: "string", int: "integer", float: "number", bool: "true or false"}


def _settings(annotation) -> type | None:
    """The settings class of a section or a list of them, else None."""
    while typing.get_origin(annotation) in (tuple, Annotated):
        annotation = typing.get_args(annotation)[0]
    return annotation if hasattr(annotation, "__pydantic_fields__") else None


def _type(annotation, metadata: list) -> str:
    """A key's type in words: `integer >= 1`, `list of string`, `'ldap' or 'none'`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _type(args[0], [*metadata, *args[1:]])
    bounds = [f"{sign} {getattr(m, name)}" for m in metadata for kind, name, sign in BOUNDS if isinstance(m, kind)]
    if origin is Literal:
        text = " or ".join(f"`{a}`" for a in args)
    elif origin in (typing.Union, types.UnionType):
        text = " or ".join("null" if a is type(None) else _type(a, metadata) for a in args)
    elif origin is tuple:
        text = f"list of {_type(args[0], [])}"
    elif _settings(annotation):
        text = f"mapping ([{_heading(annotation)}](#{_heading(annotation)}))"
    else:
        text = SCALARS[annotation]
    return f"{text} {' and '.join(bounds)}" if bounds and origin not in (typing.Union, types.UnionType) else text


def _heading(settings: type) -> str:
    return next(name for name, f in ConfigFile.__pydantic_fields__.items() if _settings(f.annotation) is settings)


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined:
        return "its keys below" if field.default_factory else "**required**"
    return f"`{json.dumps(field.default)}`"


def _table(settings: type) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in settings.__pydantic_fields__.items():
        # A section is described by its settings class's docstring.
        description = " ".join((field.description or _settings(field.annotation).__doc__).split()).replace("|", "\\|")
        lines.append(f"| `{name}` | {_type(field.annotation, field.metadata)} | {_default(field)} | {description} |")
    return lines


def render() -> str:
    """The whole of docs/config.md."""
    lines = ["# Config reference", "",
             "Every key of a flowlake config file, rendered from the schema in `jobs/flowlake/config.py` by",
             "`python -m flowlake.config_reference > docs/config.md` (`make config-docs`): edit the schema,",
             "not this file. README \"Config\" shows a whole file.", "",
             "`load_config` refuses an unknown key, a value of the wrong type (a quoted `\"6\"` is no integer;",
             "an unquoted `no` or `NO` is a boolean to YAML, no string) and a number YAML 1.1 would read in",
             "another base (`1:10`, `025`): each problem on a line of its own, naming the file, the key and",
             "what was expected, before any Spark work starts.", "", "## Top level", ""]
    lines += _table(ConfigFile)
    for name, field in ConfigFile.__pydantic_fields__.items():
        settings = _settings(field.annotation)
        if settings:
            lines += ["", f"## {name}", "", " ".join(inspect.cleandoc(settings.__doc__).split()),
                      *(["", f"Each item of the list `{name}`:"] if typing.get_origin(field.annotation) is tuple
                        else []), "", *_table(settings)]
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
