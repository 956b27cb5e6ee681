"""Lambda control operations on one region's function state (publish, update-alias, ...).

Each operation validates, mutates the `FunctionState` it is given and returns the
control API's answer; the caller runs it inside `StateStore.update`, so a rejected
operation writes nothing.
"""

from __future__ import annotations

import time

from pydantic import ValidationError

from service.control.errors import BadRequest, Conflict, NotFound
from service.control.state import (
    ALIAS,
    FAULT_MODELS,
    CodeRelease,
    FaultKind,
    FunctionSettings,
    FunctionState,
    FunctionVersion,
)

Answer = dict[str, object]


def _settings_answer(settings: FunctionSettings) -> dict[str, object]:
    return settings.model_dump()


class FunctionControl:
    def __init__(self, function: FunctionState) -> None:
        self.function = function

    def publish(self, code: str, description: str = "") -> Answer:
        """publish-version: the given code with a copy of $LATEST's configuration."""
        try:
            release = CodeRelease(code)
        except ValueError:
            raise BadRequest(f"code must be one of {[c.value for c in CodeRelease]}, not {code!r}") from None
        number = str(max(int(v.version) for v in self.function.versions) + 1)
        version = FunctionVersion(version=number, code=release, config=self.function.latest.model_copy(),
                                  description=description, created_at=time.time())
        self.function.versions.append(version)
        return {"version": number, "code": release.value, "config": _settings_answer(version.config)}

    def listing(self) -> Answer:
        return {
            "versions": [v.model_dump() for v in self.function.versions],
            "aliases": dict(self.function.aliases),
        }

    def update_alias(self, alias: str, version: str) -> Answer:
        if alias != ALIAS:
            raise NotFound(f"no alias {alias!r} (the function has {ALIAS})")
        if self.function.version(str(version)) is None:
            raise NotFound(f"no version {version!r} of {self.function.name}")
        previous = self.function.aliases[alias]
        self.function.aliases[alias] = str(version)
        return {"alias": alias, "version": str(version), "previous_version": previous}

    def set_concurrency(self, reserved: int | None) -> Answer:
        if reserved is not None and (isinstance(reserved, bool) or not isinstance(reserved, int) or reserved < 0):
            raise BadRequest("reserved must be an integer >= 0, or null for no limit")
        previous = self.function.reserved
        self.function.reserved = reserved
        return {"reserved": reserved, "previous": previous}

    def update_config(self, changes: dict[str, object], existing_tables: set[str]) -> Answer:
        """update-function-configuration, applied to $LATEST and to the version LIVE runs (so the
        running function changes at once, as the runbook's TABLE_NAME repoint expects)."""
        live = self.function.live()
        previous = live.config
        unknown = set(changes) - set(FunctionSettings.model_fields)
        if unknown:
            raise BadRequest(f"unknown setting(s): {', '.join(sorted(unknown))}")
        try:
            updated = FunctionSettings.model_validate({**previous.model_dump(), **changes})
        except ValidationError as exc:
            raise BadRequest(_first_error(exc)) from None
        if "table_name" in changes and updated.table_name not in existing_tables:
            raise NotFound(f"no table {updated.table_name!r} in this region")
        live.config = updated
        self.function.latest = FunctionSettings.model_validate({**self.function.latest.model_dump(), **changes})
        return {"config": _settings_answer(updated), "previous": _settings_answer(previous),
                "version": live.version}

    def put_fault(self, kind: str, body: dict[str, object]) -> Answer:
        fault_kind = _fault_kind(kind)
        try:
            fault = FAULT_MODELS[fault_kind].model_validate(body)
        except ValidationError as exc:
            raise BadRequest(_first_error(exc)) from None
        setattr(self.function.faults, fault_kind.value, fault)
        return {"faults": self.function.faults.active()}

    def delete_fault(self, kind: str) -> Answer:
        setattr(self.function.faults, _fault_kind(kind).value, None)
        return {"faults": self.function.faults.active()}

    def tables_in_use(self) -> set[str]:
        return {v.config.table_name for v in self.function.versions} | {self.function.latest.table_name}


def _fault_kind(kind: str) -> FaultKind:
    try:
        return FaultKind(kind)
    except ValueError:
        raise NotFound(f"no fault kind {kind!r}: one of {[k.value for k in FaultKind]}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def check_no_conflict(function: FunctionState, table: str) -> None:
    """A table the live version reads cannot be dropped."""
    if function.live().config.table_name == table:
        raise Conflict(f"table {table!r} is the one {ALIAS} (version {function.live().version}) uses")
