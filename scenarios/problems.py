"""Problems found in a scenario file, each located by the path of the value it concerns.

`Problems` collects them with the line of that value (recorded while the YAML was read) and
renders `FILE:LINE: path: message`; the helpers turn pydantic errors into those messages and
suggest the key that was probably meant.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

PathT = tuple[str | int, ...]
_SECRET = re.compile(r"secret|access_key|password|token|credential", re.IGNORECASE)


def render_path(path: PathT) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Problems:
    """Collects problems; each is located by the path of the value it concerns."""

    filename: str
    lines: dict[PathT, int] = field(default_factory=dict)
    _items: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self._items)

    def line_of(self, path: PathT) -> int:
        while path and path not in self.lines:
            path = path[:-1]  # a missing key: point at its parent
        return self.lines.get(path, 1)

    def add(self, path: PathT, message: str, *, line: int | None = None) -> None:
        where = render_path(path) or "(file)"
        item = (line if line is not None else self.line_of(path), f"{where}: {message}")
        if item not in self._items:
            self._items.append(item)

    def add_validation(self, prefix: PathT, exc: ValidationError, model: type[BaseModel], *, skip_root: bool = False) -> None:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if skip_root and not loc:
                continue
            self.add(prefix + loc, problem_message(err, model, loc))

    def merge(self, other: Problems) -> None:
        self.lines.update(other.lines)
        self._items.extend(item for item in other._items if item not in self._items)

    def render(self) -> list[str]:
        ordered = sorted(self._items, key=lambda item: item[0])  # stable: file order, then found order
        return [f"{self.filename}:{line}: {text}" for line, text in ordered]


def problem_message(err: Any, model: type[BaseModel], loc: PathT) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        if _SECRET.search(key):
            return "unknown key (credentials come from the environment, never from the file)"
        return "unknown key" + suggest(key, known_keys(model, loc[:-1]), listing="allowed")
    if kind == "missing":
        return "missing required key"
    if kind in ("value_error", "assertion_error"):
        return msg.split(", ", 1)[1] if ", " in msg else msg
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (got {show_value(value)})"
    if kind == "list_type":
        return f"must be a list (got {show_value(value)})"
    msg = msg.replace("Input should be", "must be", 1)
    return f"{msg} (got {show_value(value)})"


def show_value(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def suggest(word: str, choices: list[str], *, listing: str = "", cutoff: float = 0.7) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if listing and choices:
        return f" ({listing}: {', '.join(choices)})"
    return ""


def known_keys(model: type[BaseModel], loc: PathT) -> list[str]:
    """The keys a mapping at `loc` inside `model` may have (for `did you mean`)."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(f.alias or name): f for name, f in tp.model_fields.items()}
            if part not in fields:
                return []
            tp = fields[part].annotation
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or name for name, f in tp.model_fields.items()]
    return []


def _unwrap(tp: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> X."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
            tp = args[0]
            continue
        return tp
