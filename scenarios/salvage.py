"""Validate one entry of the file, and keep checking the valid parts of an invalid one.

An entry with one bad field still takes part in the cross-checks (references, actions), so
one run of `validate` reports every problem of the file, not only the first of each entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from common.durations import parse_duration
from scenarios.problems import PathT, Problems, show_value


@dataclass
class Salvaged:
    """A model built from the valid parts of an entry; `dropped` fields and items were invalid."""

    value: BaseModel | None
    dropped: set[str] = field(default_factory=set)
    index: dict[str, list[int]] = field(default_factory=dict)  # kept list item -> original index


def validate_entry(model: type[BaseModel], raw: Any, prefix: PathT, problems: Problems) -> Salvaged:
    """Validate one entry, report its problems, and salvage what is valid for the cross-checks."""
    if not isinstance(raw, dict):
        problems.add(prefix, f"must be a mapping (got {show_value(raw)})")
        return Salvaged(None)
    try:
        value = model.model_validate(raw)
        return Salvaged(value, index={k: list(range(len(v))) for k, v in raw.items() if isinstance(v, list)})
    except ValidationError as exc:
        problems.add_validation(prefix, exc, model)
        errors = [tuple(e["loc"]) for e in exc.errors()]
    cleaned = dict(raw)
    salvaged = Salvaged(None)
    for loc in errors:
        if not loc:
            return salvaged
        name = str(loc[0])
        if len(loc) > 1 and isinstance(loc[1], int) and isinstance(raw.get(name), list):
            continue  # a bad item: dropped below, the rest of the list survives
        cleaned.pop(name, None)
        salvaged.dropped.add(name)
    for name, items in raw.items():
        if isinstance(items, list) and name in cleaned:
            bad = {loc[1] for loc in errors if len(loc) > 1 and loc[0] == name and isinstance(loc[1], int)}
            salvaged.index[name] = [i for i in range(len(items)) if i not in bad]
            cleaned[name] = [items[i] for i in salvaged.index[name]]
    try:
        salvaged.value = model.model_validate(cleaned)
    except ValidationError:
        pass  # nothing more to salvage; what was wrong is already reported
    return salvaged


def normalize_durations(block: Any, prefix: PathT, problems: Problems) -> Any:
    """In load/slo/detection blocks, keys ending in `_s` also accept a duration like `5m`."""
    if not isinstance(block, dict):
        return block
    out: dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, dict):
            out[key] = normalize_durations(value, prefix + (key,), problems)
        elif key.endswith("_s") and isinstance(value, str):
            try:
                out[key] = parse_duration(value)
            except ValueError as exc:
                problems.add(prefix + (key,), str(exc))
        else:
            out[key] = value
    return out
