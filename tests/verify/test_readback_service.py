"""verify_writes against the real bundled service (subprocess on 127.0.0.1, a free port, stopped after)."""

import time

import httpx
import pytest

from loadtests.records import LedgerRecord, WriteOp, WriteOutcome

launcher = pytest.importorskip("service.launcher", reason="the bundled service is not built")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with launcher.ServiceProcess(tmp_path_factory.mktemp("svc"), port=0, workers=1) as svc:
        yield svc.url


def _client(url, user, password):
    client = httpx.Client(base_url=url, timeout=10)
    assert client.post("/auth/signup", json={"username": user, "password": password}).status_code == 201
    token = client.post("/auth/token", json={"username": user, "password": password}).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_lost_corrupted_and_unexpected_items_are_found_over_the_real_api(service):
    accounts = [("verify-alice", "pw-alice-123456"), ("verify-bob", "pw-bob-1234567")]
    alice, bob = (_client(service, u, p) for u, p in accounts)
    ledger: list[LedgerRecord] = []
    for user, client, count in (("verify-alice", alice, 130), ("verify-bob", bob, 5)):
        for i in range(count):
            sent = time.time()
            response = client.post("/todos", json={"id": f"v{i:03d}", "title": f"{user} task {i}"})
            assert response.status_code == 201
            ledger.append(LedgerRecord(op=WriteOp.CREATE, id=f"v{i:03d}", user=user, sent_at=sent,
                                       completed_at=time.time(), outcome=WriteOutcome.ACKNOWLEDGED,
                                       status=201, title=f"{user} task {i}"))
    fault_at = time.time()
    # What a bad restore would leave: 7 acknowledged todos gone, one altered, one nobody wrote.
    for i in (3, 17, 42, 99, 100, 101, 129):
        assert alice.delete(f"/todos/v{i:03d}").status_code == 204
    assert alice.patch("/todos/v050", json={"title": "garbled \ufffd"}).status_code == 200
    assert bob.post("/todos", json={"id": "ghost", "title": "never written by the load"}).status_code == 201

    from verify.readback import verify_writes

    summary = verify_writes(service, accounts, ledger, fault_at)
    assert (summary.lost, summary.corrupted, summary.unexpected) == (7, 1, 1)
    assert summary.acknowledged == 135
    assert "verify-alice/v003" in summary.lost_ids and summary.corrupted_ids == ["verify-alice/v050"]
    assert 0 < summary.rpo_s < 120  # the oldest lost write (v003) was sent shortly before the "fault"
