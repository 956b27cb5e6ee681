import pytest

from loadtests.records import LedgerRecord, WriteOp, WriteOutcome
from verify.integrity import Observation, ObservedItem, ReadStatus, check_integrity

FAULT = 1_000.0
ACK, FAIL, UNK = WriteOutcome.ACKNOWLEDGED, WriteOutcome.FAILED, WriteOutcome.UNKNOWN


def rec(op, item_id, sent, outcome=ACK, title=None, done=None, user="u1"):
    if op is WriteOp.CREATE and title is None:
        title = f"title {item_id}"
    return LedgerRecord(op=op, id=item_id, user=user, sent_at=sent, completed_at=sent + 0.05,
                        outcome=outcome, title=title, done=done)


def seen(*items, users=("u1",)):
    return Observation(users=list(users), items=list(items))


def present(item_id, title=None, done=False, user="u1"):
    return ObservedItem(user=user, id=item_id, status=ReadStatus.PRESENT, title=title or f"title {item_id}", done=done)


def test_seven_lost_writes_count_seven_and_rpo_is_the_oldest_lost_age():
    ledger = [rec(WriteOp.CREATE, f"t{i}", 900.0 + i) for i in range(50)]
    lost = {3, 11, 12, 20, 31, 40, 49}
    observed = seen(*(present(f"t{i}") for i in range(50) if i not in lost))
    summary = check_integrity(ledger, observed, FAULT)
    assert summary.lost == 7 and summary.corrupted == 0 and summary.unexpected == 0
    assert summary.acknowledged == 50 and summary.writes == 50
    assert summary.rpo_s == pytest.approx(FAULT - 903.0)
    assert sorted(summary.lost_ids) == sorted(f"u1/t{i}" for i in lost)


def test_nothing_lost_gives_rpo_zero():
    ledger = [rec(WriteOp.CREATE, "a", 990.0), rec(WriteOp.UPDATE, "a", 991.0, done=True)]
    summary = check_integrity(ledger, seen(present("a", done=True)), FAULT)
    assert summary.lost == 0 and summary.rpo_s == 0.0


def test_unknown_outcomes_are_not_lost_whether_or_not_they_landed():
    ledger = [rec(WriteOp.CREATE, "landed", 995.0, UNK), rec(WriteOp.CREATE, "vanished", 996.0, UNK),
              rec(WriteOp.CREATE, "kept", 990.0), rec(WriteOp.DELETE, "kept", 997.0, UNK)]
    summary = check_integrity(ledger, seen(present("landed"), present("kept")), FAULT)
    assert summary.lost == 0 and summary.unknown == 3 and summary.unexpected == 0


def test_an_update_reverted_to_the_older_state_is_lost_and_dates_the_rpo_from_the_update():
    ledger = [rec(WriteOp.CREATE, "a", 900.0), rec(WriteOp.UPDATE, "a", 980.0, title="renamed")]
    summary = check_integrity(ledger, seen(present("a")), FAULT)
    assert summary.lost == 1 and summary.corrupted == 0
    assert summary.rpo_s == pytest.approx(20.0)


def test_partial_updates_keep_the_fields_they_did_not_write():
    ledger = [rec(WriteOp.CREATE, "a", 900.0), rec(WriteOp.UPDATE, "a", 901.0, title="x"),
              rec(WriteOp.UPDATE, "a", 902.0, done=True)]
    assert check_integrity(ledger, seen(present("a", title="x", done=True)), FAULT).lost == 0
    assert check_integrity(ledger, seen(present("a", title="x", done=False)), FAULT).lost == 1


def test_wrong_content_and_unreadable_items_are_corrupted():
    ledger = [rec(WriteOp.CREATE, "a", 900.0), rec(WriteOp.CREATE, "b", 901.0)]
    broken = ObservedItem(user="u1", id="b", status=ReadStatus.UNREADABLE, error="HTTP 503")
    summary = check_integrity(ledger, seen(present("a", title="\x00garbage"), broken), FAULT)
    assert summary.corrupted == 2 and summary.lost == 0
    assert summary.corrupted_ids == ["u1/a", "u1/b"]


def test_acknowledged_delete_that_came_back_is_lost():
    ledger = [rec(WriteOp.CREATE, "a", 900.0), rec(WriteOp.DELETE, "a", 1_010.0)]
    summary = check_integrity(ledger, seen(present("a")), FAULT)
    assert summary.lost == 1
    assert summary.rpo_s == 0.0  # written after the fault: the loss is not older than the fault


def test_unexpected_items_never_acknowledged():
    ledger = [rec(WriteOp.CREATE, "failed-but-there", 950.0, FAIL)]
    observed = seen(present("failed-but-there"), present("stranger"), present("seeded"))
    summary = check_integrity(ledger, observed, FAULT, preexisting=[("u1", "seeded")])
    assert summary.unexpected == 2 and summary.lost == 0 and summary.writes == 1 and summary.acknowledged == 0


def test_failed_writes_that_did_not_land_are_fine():
    ledger = [rec(WriteOp.CREATE, "a", 950.0, FAIL), rec(WriteOp.CREATE, "b", 950.0),
              rec(WriteOp.UPDATE, "b", 951.0, FAIL, title="never")]
    summary = check_integrity(ledger, seen(present("b")), FAULT)
    assert (summary.lost, summary.corrupted, summary.unexpected) == (0, 0, 0)


def test_unknown_write_after_the_last_ack_makes_both_states_acceptable():
    ledger = [rec(WriteOp.CREATE, "a", 900.0), rec(WriteOp.UPDATE, "a", 950.0, UNK, title="maybe")]
    assert check_integrity(ledger, seen(present("a")), FAULT).lost == 0
    assert check_integrity(ledger, seen(present("a", title="maybe")), FAULT).lost == 0
    assert check_integrity(ledger, seen(present("a", title="other")), FAULT).corrupted == 1


def test_other_users_are_separate_and_unread_accounts_are_refused():
    ledger = [rec(WriteOp.CREATE, "a", 900.0, user="u1"), rec(WriteOp.CREATE, "a", 900.0, user="u2")]
    summary = check_integrity(ledger, seen(present("a", user="u2"), users=("u1", "u2")), FAULT)
    assert summary.lost_ids == ["u1/a"]
    with pytest.raises(ValueError, match="not read back: u2"):
        check_integrity(ledger, seen(present("a")), FAULT)


def test_the_ledger_file_reads_back_and_bad_lines_name_their_place(tmp_path):
    from common.errors import InvalidInputError
    from verify.integrity import ledger_ids, read_ledger

    path = tmp_path / "ledger.jsonl"
    good = [rec(WriteOp.CREATE, "a", 1.0), rec(WriteOp.UPDATE, "a", 2.0, done=True, user="u2")]
    path.write_text("".join(r.model_dump_json() + "\n" for r in good) + "\n")
    assert read_ledger(path) == good
    assert ledger_ids(good) == {"u1": {"a"}, "u2": {"a"}}
    path.write_text(good[0].model_dump_json() + '\n{"op": "create"}\n')
    with pytest.raises(InvalidInputError, match=r"ledger.jsonl:2: id: Field required"):
        read_ledger(path)


def test_a_write_lost_between_two_that_landed_is_lost_not_corrupted():
    # A restore to just before the fault dropped the completion; a rename after the restore landed.
    ledger = [rec(WriteOp.CREATE, "a", 990.0), rec(WriteOp.UPDATE, "a", 1_001.0, done=True),
              rec(WriteOp.UPDATE, "a", 1_008.0, title="renamed")]
    summary = check_integrity(ledger, seen(present("a", title="renamed", done=False)), FAULT)
    assert summary.lost == 1 and summary.corrupted == 0
    assert summary.rpo_s == 0.0  # the lost write was sent after the fault


def test_content_no_subset_of_writes_explains_is_corrupted():
    ledger = [rec(WriteOp.CREATE, "a", 990.0), rec(WriteOp.UPDATE, "a", 991.0, title="renamed")]
    summary = check_integrity(ledger, seen(present("a", title="r\x00nam\ufffdd")), FAULT)
    assert summary.corrupted == 1 and summary.lost == 0
