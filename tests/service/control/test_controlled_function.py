"""ControlledFunction in-process: alias LIVE, the broken release, concurrency slots, faults, timeouts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from service.api.todos import TodoApiCode
from service.control.broken_release import BrokenReleaseCode
from service.control.concurrency import ConcurrencySlots
from service.control.controlled_function import ControlledFunction
from service.control.function_control import FunctionControl
from service.control.state import PRIMARY, CodeRelease, initial_state
from service.control.store import StateStore
from service.control.watcher import StateWatcher
from service.runtime.function import FunctionConfig
from service.runtime.request_log import RequestLog
from service.store.sqlite import SqliteTodoStore


def _event(i: int = 0) -> dict:
    return {"httpMethod": "GET", "resource": "/health", "path": "/health", "headers": {},
            "requestContext": {"requestId": f"r{i}"}, "pathParameters": None, "queryStringParameters": None,
            "body": None}


@pytest.fixture
def setup(tmp_path):
    store = StateStore.create(tmp_path / "state.json", initial_state([PRIMARY]))
    watcher = StateWatcher(tmp_path / "state.json")
    opener = lambda table: SqliteTodoStore(tmp_path / "todos.db", table)
    codes = {CodeRelease.CURRENT: TodoApiCode(opener), CodeRelease.BROKEN: BrokenReleaseCode(opener)}
    function = ControlledFunction(codes, FunctionConfig(region=PRIMARY), watcher, region=PRIMARY,
                                  slots_path=tmp_path / "slots")
    loop = asyncio.new_event_loop()

    def change(mutate) -> None:
        store.update(lambda s: mutate(FunctionControl(s.regions[PRIMARY].function)))
        assert watcher.refresh()

    def invoke(i: int = 0):
        return loop.run_until_complete(function.invoke(_event(i)))

    yield function, change, invoke, loop
    function.close()
    loop.close()


def _body(invocation) -> dict:
    return orjson.loads(invocation.response["body"])


def test_live_alias_selects_the_code_and_the_broken_release_really_raises(setup):
    function, change, invoke, _ = setup
    assert invoke().response["statusCode"] == 200
    change(lambda f: f.publish("broken"))
    assert invoke().response["statusCode"] == 200  # published, not yet LIVE
    change(lambda f: f.update_alias("LIVE", "2"))
    bad = invoke()
    assert bad.response["statusCode"] == 502
    assert "KeyError" in _body(bad)["error"]["message"] and "TABLE_CONFIG" in bad.error.stack
    assert function.config.version == "2"
    change(lambda f: f.update_alias("LIVE", "1"))
    assert invoke().response["statusCode"] == 200


def test_status_exception_and_timeout_faults(setup):
    _, change, invoke, _ = setup
    change(lambda f: f.put_fault("status", {"percentage": 100, "status_code": 418}))
    assert invoke().response["statusCode"] == 418
    change(lambda f: (f.delete_fault("status"), f.put_fault("exception", {"percentage": 100})))
    failed = invoke()
    assert failed.response["statusCode"] == 502 and "FailureInjectionException" in _body(failed)["error"]["message"]
    change(lambda f: (f.delete_fault("exception"), f.update_config({"timeout_s": 0.2}, set()),
                      f.put_fault("timeout", {"percentage": 100, "duration_ms": 5000})))
    started = time.monotonic()
    timed_out = invoke()
    assert timed_out.response["statusCode"] == 504 and _body(timed_out)["error"]["code"] == "timeout"
    assert time.monotonic() - started >= 0.2  # it waited for the timeout, not for the 5 s
    assert time.monotonic() - started < 5
    change(lambda f: f.put_fault("timeout", {"percentage": 100, "duration_ms": 50}))
    assert invoke().response["statusCode"] == 200  # slower, but within the timeout


def test_a_faults_failure_is_built_once_and_answers_and_logs_as_before(setup, tmp_path):
    _, change, invoke, _ = setup
    change(lambda f: f.put_fault("exception", {"percentage": 100}))
    first, second = invoke(1), invoke(2)
    assert first.error is second.error  # built when the fault was set, not per request
    assert first.response is not second.response and first.response == second.response
    assert (first.response["statusCode"], _body(first)) == (502, {"error": {
        "code": "function_error", "message": "FailureInjectionException: injected invocation error"}})
    assert first.context.aws_request_id == "r1" and second.context.aws_request_id == "r2"
    log = RequestLog(tmp_path / "todo-api.log")
    log.write(level="ERROR", function="health", user_id=None, request_id="r1", message="GET /health 502",
              error=first.error, metadata={"status": 502})
    log.close()
    error = orjson.loads((tmp_path / "todo-api.log").read_bytes())["error"]
    assert (error["name"], error["message"]) == ("FailureInjectionException", "injected invocation error")
    assert error["stack"].startswith("Traceback (most recent call last):")
    assert error["stack"].endswith("FailureInjectionException: injected invocation error\n")
    change(lambda f: (f.delete_fault("exception"), f.put_fault("status", {"percentage": 100, "status_code": 503})))
    first, second = invoke(), invoke()
    assert first.error is second.error and (first.error.name, first.error.message) == (
        "InjectedStatus", "injected status 503")
    assert (first.response["statusCode"], _body(first)) == (503, {"error": {
        "code": "injected_status", "message": "injected HTTP status 503"}})
    change(lambda f: (f.delete_fault("status"), f.set_concurrency(0)))
    throttled = invoke()
    assert (throttled.response["statusCode"], throttled.error.name, throttled.error.message) == (
        429, "TooManyRequestsException", "reserved concurrency 0 reached")


def test_latency_fault_delays_by_percentage(setup):
    _, change, invoke, _ = setup
    change(lambda f: f.put_fault("latency", {"percentage": 100, "latency_ms": 120}))
    started = time.monotonic()
    assert invoke().response["statusCode"] == 200
    assert time.monotonic() - started >= 0.12
    change(lambda f: (f.delete_fault("latency"), f.put_fault("status", {"percentage": 50, "status_code": 500})))
    statuses = [invoke(i).response["statusCode"] for i in range(200)]
    assert 0 < statuses.count(500) < 200 and statuses.count(500) + statuses.count(200) == 200


def test_reserved_concurrency_limits_executions_in_flight(setup):
    _, change, invoke, loop = setup
    function = setup[0]
    change(lambda f: f.set_concurrency(0))
    refused = invoke()
    assert refused.response["statusCode"] == 429
    assert _body(refused)["error"]["code"] == "TooManyRequestsException"
    change(lambda f: (f.set_concurrency(2), f.put_fault("latency", {"percentage": 100, "latency_ms": 200})))

    async def burst():
        return await asyncio.gather(*(function.invoke(_event(i)) for i in range(5)))

    statuses = sorted(i.response["statusCode"] for i in loop.run_until_complete(burst()))
    assert statuses == [200, 200, 429, 429, 429]
    change(lambda f: f.set_concurrency(None))
    assert sorted(i.response["statusCode"] for i in loop.run_until_complete(burst())) == [200] * 5


class _BlockingCode:
    """Code whose handler blocks until released (in the executor: the event loop keeps going)."""

    def __init__(self) -> None:
        self.release, self.finished = threading.Event(), threading.Event()

    def load(self, config):
        def handler(event, context):
            self.release.wait(30)
            self.finished.set()
            return {"statusCode": 200, "headers": {}, "body": ""}

        return handler

    def close(self) -> None:
        self.release.set()


@pytest.mark.parametrize("reserved", [None, 5], ids=["plain-path", "with-reserved-concurrency"])
def test_function_timeout_is_enforced_through_the_controlled_function(tmp_path, reserved):
    store = StateStore.create(tmp_path / "state.json", initial_state([PRIMARY]))
    store.update(lambda s: FunctionControl(s.regions[PRIMARY].function).update_config({"timeout_s": 0.05}, set()))
    store.update(lambda s: FunctionControl(s.regions[PRIMARY].function).set_concurrency(reserved))
    watcher = StateWatcher(tmp_path / "state.json")
    code = _BlockingCode()
    with ThreadPoolExecutor(2) as pool:
        function = ControlledFunction({CodeRelease.CURRENT: code}, FunctionConfig(region=PRIMARY), watcher,
                                      region=PRIMARY, slots_path=tmp_path / "slots", executor=pool)
        try:
            timed_out = asyncio.run(function.invoke(_event()))
            assert not code.finished.is_set()  # the answer did not wait for the handler
        finally:
            function.close()
    assert timed_out.response["statusCode"] == 504 and _body(timed_out)["error"] == {
        "code": "timeout", "message": "Task timed out after 0.05 seconds"}
    assert timed_out.error is not None and timed_out.error.name == "Sandbox.Timedout"
    assert timed_out.context.function_version == "1"


def test_slots_are_shared_between_processes(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import time; from service.control.concurrency import ConcurrencySlots;"
                                f"s = ConcurrencySlots({str(tmp_path / 's')!r}); print(s.acquire(2), flush=True);"
                                " time.sleep(30)")],
        stdout=subprocess.PIPE, text=True)
    try:
        held = int(holder.stdout.readline())
        slots = ConcurrencySlots(tmp_path / "s")
        mine = slots.acquire(2)
        assert mine is not None and mine != held
        assert slots.acquire(2) is None  # one slot each: the limit of 2 is reached across processes
        holder.kill()
        holder.wait()
        assert slots.acquire(2) == held  # the kernel freed the dead process's slot
        slots.close()
    finally:
        holder.kill()
