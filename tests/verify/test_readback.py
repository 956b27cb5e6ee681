import pytest

from common.errors import TargetError
from verify.integrity import ReadStatus
from verify.readback import read_back


def _todo(i, **kw):
    return {"id": f"t{i:03d}", "title": f"title {i}", "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z", **kw}


def test_reads_every_page_of_every_account(todo_api):
    todo_api.add("alice", "pw-a", *(_todo(i) for i in range(250)))
    todo_api.add("bob", "pw-b", _todo(1, done=True))
    observed = read_back(todo_api.base_url, [("alice", "pw-a"), ("bob", "pw-b")])
    assert observed.users == ["alice", "bob"]
    assert observed.listed == 251 and observed.probed == 0
    keys = observed.by_key()
    assert keys[("bob", "t001")].done is True
    assert keys[("alice", "t249")].title == "title 249"
    assert sum(r == "GET /todos" for r in todo_api.requests) == 4  # 3 pages for alice, 1 for bob


def test_ids_no_list_vouches_for_are_fetched_one_by_one(todo_api):
    todo_api.add("alice", "pw", _todo(1), _todo(2), _todo(3))
    todo_api.hidden_from_list = {"t002"}
    todo_api.broken_ids = {"t003"}
    observed = read_back(todo_api.base_url, [("alice", "pw")], probe={"alice": ["t001", "t002", "t003", "t404"]})
    keys = observed.by_key()
    assert observed.probed == 3
    assert keys[("alice", "t002")].status is ReadStatus.PRESENT
    assert keys[("alice", "t003")].status is ReadStatus.UNREADABLE and "503" in keys[("alice", "t003")].error
    assert keys[("alice", "t404")].status is ReadStatus.ABSENT


def test_a_transient_list_failure_is_retried(todo_api):
    todo_api.add("alice", "pw", _todo(1))
    todo_api.fail_list_requests = 2
    observed = read_back(todo_api.base_url, [("alice", "pw")], backoff_s=0.01)
    assert observed.listed == 1


def test_a_list_that_keeps_failing_falls_back_to_single_reads(todo_api):
    todo_api.add("alice", "pw", _todo(1))
    todo_api.fail_list_requests = 100
    observed = read_back(todo_api.base_url, [("alice", "pw")], probe={"alice": ["t001"]}, retries=1, backoff_s=0.01)
    assert observed.listed == 0 and observed.by_key()[("alice", "t001")].status is ReadStatus.PRESENT


def test_bad_credentials_and_unreachable_targets_are_target_errors(todo_api):
    todo_api.add("alice", "pw")
    with pytest.raises(TargetError, match="cannot sign in"):
        read_back(todo_api.base_url, [("alice", "wrong")])
    with pytest.raises(TargetError, match="failed"):
        read_back("http://127.0.0.1:9", [("alice", "pw")], retries=1, backoff_s=0.01, timeout_s=1)


def test_verify_writes_finds_the_lost_and_corrupted_items_over_http(todo_api):
    from loadtests.records import LedgerRecord, WriteOp, WriteOutcome
    from verify.readback import verify_writes

    records = [LedgerRecord(op=WriteOp.CREATE, id=f"t{i:03d}", user="alice", sent_at=900.0 + i, completed_at=900.5 + i,
                            outcome=WriteOutcome.ACKNOWLEDGED, title=f"title {i}") for i in range(30)]
    kept = [i for i in range(30) if i not in {2, 5, 8, 13, 21, 22, 29}]  # 7 writes lost by the "restore"
    todo_api.add("alice", "pw", *(_todo(i, done=False) for i in kept))
    todo_api.broken_ids = {"t010"}
    todo_api.hidden_from_list = {"t011"}
    summary = verify_writes(todo_api.base_url, [("alice", "pw")], records, fault_at=1_000.0)
    assert summary.lost == 7 and summary.corrupted == 1 and summary.unexpected == 0
    assert summary.corrupted_ids == ["alice/t010"]
    assert summary.rpo_s == 98.0  # t002 was sent at 902: 98 s before the fault


def test_given_tokens_are_used_instead_of_signing_in(todo_api):
    """An aws target's accounts sign in with Cognito: the API has no /auth/token, the load's tokens are used."""
    todo_api.add("alice", "pw-a", _todo(1))
    todo_api.add("bob", "pw-b", _todo(2))
    observed = read_back(todo_api.base_url, [("alice", "not-the-password"), ("bob", "")],
                         tokens={"alice": "tok-alice", "bob": "tok-bob"})
    assert sorted(observed.by_key()) == [("alice", "t001"), ("bob", "t002")]
    assert not any(r == "POST /auth/token" for r in todo_api.requests)


def test_an_account_without_a_token_is_a_target_error(todo_api):
    todo_api.add("alice", "pw")
    with pytest.raises(TargetError, match="no token for account"):
        read_back(todo_api.base_url, [("alice", "pw")], tokens={})


def test_only_this_runs_ids_are_read_back(todo_api):
    """A reused account keeps earlier runs' todos: they are neither this run's writes nor unexpected ones."""
    from loadtests.records import LedgerRecord, WriteOp, WriteOutcome
    from verify.integrity import check_integrity

    earlier = [_todo(0, id=f"run1-w0-{i}") for i in range(3)]
    mine = [_todo(0, id=f"run2-w0-{i}") for i in range(2)]
    todo_api.add("alice", "pw", *earlier, *mine)
    records = [LedgerRecord(op=WriteOp.CREATE, id=item["id"], user="alice", sent_at=900.0, completed_at=900.5,
                            outcome=WriteOutcome.ACKNOWLEDGED, title=item["title"]) for item in mine]
    observed = read_back(todo_api.base_url, [("alice", "pw")], id_prefix="run2-")
    assert sorted(i.id for i in observed.items) == ["run2-w0-0", "run2-w0-1"]
    assert check_integrity(records, observed, None).unexpected == 0
    unfiltered = read_back(todo_api.base_url, [("alice", "pw")])
    assert check_integrity(records, unfiltered, None).unexpected == 3  # what the filter keeps out
