"""Write-ledger integrity (the Jepsen "set" check) and the measured RPO.

For each todo (user, id) the ledger's writes are replayed in send order over
the set of states the item may be in. An acknowledged write must have
happened, a failed one did not, and an unknown one (timeout, reset) may or may
not have: both branches stay possible. The item read back after recovery must
match one of the final states. If it does not:

- absent, or present as an *older* state of its history: **lost** (the
  acknowledged writes after that older state were lost); an acknowledged
  delete whose item is back is lost the same way;
- present with content no history explains, or unreadable (5xx): **corrupted**;
- present although no write for it was acknowledged nor of unknown outcome:
  **unexpected**.

Measured RPO: how old, at the fault, the oldest lost acknowledged write was
(0 when the lost writes were all sent after the fault, or nothing was lost).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from common.errors import InvalidInputError
from loadtests.records import LedgerRecord, WriteOp, WriteOutcome
from verify.journal import LedgerSummary


class ReadStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"  # 404, or not listed by an account whose listing completed
    UNREADABLE = "unreadable"  # the read failed with 5xx or returned something that is not a todo


class ObservedItem(BaseModel):
    user: str
    id: str
    status: ReadStatus
    title: str | None = None
    done: bool | None = None
    error: str = ""


class Observation(BaseModel):
    """What `read_back` saw: every item of every account read, plus the ids probed one by one."""

    users: list[str] = Field(default_factory=list)  # accounts whose todos were all read
    items: list[ObservedItem] = Field(default_factory=list)
    listed: int = 0  # items that came from list pages
    probed: int = 0  # ids fetched one by one because no list vouched for them

    def by_key(self) -> dict[tuple[str, str], ObservedItem]:
        return {(item.user, item.id): item for item in self.items}


@dataclass(frozen=True)
class _State:
    present: bool
    title: str | None = None  # None: unknown content (matches anything)
    done: bool | None = None

    def matches(self, item: ObservedItem) -> bool:
        if item.status is ReadStatus.ABSENT:
            return not self.present
        return (
            self.present
            and (self.title is None or self.title == item.title)
            and (self.done is None or self.done == item.done)
        )


_ABSENT = _State(False)


def _apply(state: _State, op: LedgerRecord) -> _State | None:
    """The state after `op` succeeds on `state`; None if it could not have succeeded there."""
    if op.op is WriteOp.CREATE:
        if state.present:
            return state  # POST with an existing id is an idempotent replay: the stored todo stays
        return _State(True, op.title, op.done if op.done is not None else False)
    if not state.present:
        return None  # update/delete of a missing todo is a 404, never acknowledged
    if op.op is WriteOp.UPDATE:
        return _State(
            True,
            op.title if op.title is not None else state.title,
            op.done if op.done is not None else state.done,
        )
    return _ABSENT


@dataclass(frozen=True)
class _Verdict:
    kind: str  # "ok" | "lost" | "corrupted" | "unexpected"
    oldest_lost_sent_at: float | None = None


def _replay(start: _State, ops: list[LedgerRecord]) -> dict[_State, float | None]:
    """Every state the item may be in after `ops`, if any acknowledged write may also have been lost.

    Maps each state to the send time of the oldest acknowledged write lost on the way to it (None:
    none lost). Of two ways to reach a state the kinder one is kept: nothing lost, else the most
    recent oldest loss. Unknown-outcome writes may or may not have happened, at no charge.
    """
    states: dict[_State, float | None] = {start: None}

    def keep(into: dict[_State, float | None], state: _State, oldest: float | None) -> None:
        if state not in into:
            into[state] = oldest
        else:
            have = into[state]
            into[state] = None if have is None or oldest is None else max(have, oldest)

    for op in ops:
        following: dict[_State, float | None] = {}
        for state, oldest in states.items():
            applied = _apply(state, op)
            if applied is None and op.outcome is WriteOutcome.ACKNOWLEDGED:
                # The acknowledgement proves the op ran; the modelled state was wrong, not the server.
                applied = _apply(_State(True), op) or _ABSENT
            if applied is not None:
                keep(following, applied, oldest)
            if op.outcome is WriteOutcome.ACKNOWLEDGED:
                keep(following, state, op.sent_at if oldest is None else min(oldest, op.sent_at))
            else:
                keep(following, state, oldest)
        states = following
    return states


def _judge(ops: list[LedgerRecord], item: ObservedItem) -> _Verdict:
    relevant = [op for op in ops if op.outcome is not WriteOutcome.FAILED]
    if not relevant:
        return _Verdict("unexpected" if item.status is ReadStatus.PRESENT else "ok")
    if item.status is ReadStatus.UNREADABLE:
        return _Verdict("corrupted")
    # An item whose first write is not a create existed before the ledger began: content unknown.
    start = _ABSENT if relevant[0].op is WriteOp.CREATE else _State(True)
    explained = [oldest for state, oldest in _replay(start, relevant).items() if state.matches(item)]
    if not explained:
        # No subset of the writes explains what is there: a bad migration, not a lost write.
        return _Verdict("corrupted")
    if None in explained:
        return _Verdict("ok")
    # Lost writes explain it (e.g. a restore to an earlier point dropped an update, later ones landed).
    return _Verdict("lost", max(o for o in explained if o is not None))


def check_integrity(
    records: Iterable[LedgerRecord],
    observed: Observation,
    fault_at: float | None,
    preexisting: Iterable[tuple[str, str]] = (),
) -> LedgerSummary:
    """Judge every ledgered item and every observed item; `preexisting` (user, id) are never unexpected."""
    ops_by_key: dict[tuple[str, str], list[LedgerRecord]] = defaultdict(list)
    writes = acknowledged = unknown = 0
    for record in records:
        ops_by_key[(record.user, record.id)].append(record)
        writes += 1
        acknowledged += record.outcome is WriteOutcome.ACKNOWLEDGED
        unknown += record.outcome is WriteOutcome.UNKNOWN
    unread = sorted({user for user, _ in ops_by_key} - set(observed.users))
    if unread:
        raise ValueError(f"the ledger has writes by accounts that were not read back: {', '.join(unread[:5])}")
    seen = observed.by_key()
    skip = set(preexisting)
    lost: list[str] = []
    corrupted: list[str] = []
    unexpected = 0
    oldest: float | None = None
    for key in sorted(set(ops_by_key) | set(seen)):
        item = seen.get(key) or ObservedItem(user=key[0], id=key[1], status=ReadStatus.ABSENT)
        ops = sorted(ops_by_key.get(key, []), key=lambda r: (r.sent_at, r.completed_at))
        verdict = _judge(ops, item)
        label = f"{key[0]}/{key[1]}"
        if verdict.kind == "lost":
            lost.append(label)
            if verdict.oldest_lost_sent_at is not None:
                oldest = min(oldest, verdict.oldest_lost_sent_at) if oldest is not None else verdict.oldest_lost_sent_at
        elif verdict.kind == "corrupted":
            corrupted.append(label)
        elif verdict.kind == "unexpected" and key not in skip:
            unexpected += 1
    rpo: float | None
    if not lost:
        rpo = 0.0
    elif fault_at is None or oldest is None:
        rpo = None
    else:
        rpo = max(0.0, fault_at - oldest)
    return LedgerSummary(
        writes=writes,
        acknowledged=acknowledged,
        lost=len(lost),
        corrupted=len(corrupted),
        unknown=unknown,
        unexpected=unexpected,
        rpo_s=rpo,
        lost_ids=lost,
        corrupted_ids=corrupted,
    )


def read_ledger(path: Path) -> list[LedgerRecord]:
    """The load runner's ledger file (JSON lines). A damaged line is reported as FILE:LINE."""
    records: list[LedgerRecord] = []
    path = Path(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(LedgerRecord.model_validate_json(line))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "record"
            raise InvalidInputError(f"{path}:{number}: {where}: {problem['msg']}") from None
    return records


def ledger_ids(records: Iterable[LedgerRecord]) -> dict[str, set[str]]:
    """Per user, every id the ledger wrote (what `read_back` must be able to vouch for)."""
    ids: dict[str, set[str]] = defaultdict(set)
    for record in records:
        ids[record.user].add(record.id)
    return dict(ids)
