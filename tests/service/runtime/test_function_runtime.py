"""The invocation seam: FunctionRuntime turns handler failures into API Gateway's 502, and time-outs into 504."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest

from service.runtime.function import ErrorDetail, FunctionConfig, FunctionRuntime, LambdaContext


class _Code:
    def __init__(self, handler) -> None:
        self.handler = handler
        self.loaded_with: FunctionConfig | None = None
        self.closed = False

    def load(self, config: FunctionConfig):
        self.loaded_with = config
        return self.handler

    def close(self) -> None:
        self.closed = True


def _event() -> dict:
    return {"httpMethod": "GET", "resource": "/x", "requestContext": {"requestId": "req-1"}}


def _invoke(runtime: FunctionRuntime):
    return asyncio.run(runtime.invoke(_event()))


def test_handler_gets_event_and_a_lambda_context() -> None:
    seen = {}

    def handler(event, context: LambdaContext):
        seen.update(
            request_id=context.aws_request_id, name=context.function_name, version=context.function_version,
            arn=context.invoked_function_arn, remaining=context.get_remaining_time_in_millis(),
            table=context.config.env()["TABLE_NAME"], memory=context.memory_limit_in_mb,
        )
        return {"statusCode": 200, "headers": {}, "body": "{}"}

    config = FunctionConfig(version="7", timeout_s=3, table_name="todos-restored", memory_mb=512)
    code = _Code(handler)
    runtime = FunctionRuntime(code, config)
    assert code.loaded_with is config  # the init phase ran with the version's configuration
    invocation = _invoke(runtime)
    assert invocation.response["statusCode"] == 200 and invocation.error is None
    assert seen["request_id"] == "req-1" and (seen["name"], seen["version"]) == ("todo-api", "7")
    assert seen["arn"].endswith(":function:todo-api:7") and 0 < seen["remaining"] <= 3000
    assert (seen["table"], seen["memory"]) == ("todos-restored", 512)
    runtime.close()
    assert code.closed


def test_unhandled_exception_is_502_function_error_with_its_name() -> None:
    def handler(event, context):
        raise KeyError("title")

    invocation = _invoke(FunctionRuntime(_Code(handler), FunctionConfig()))
    assert invocation.response["statusCode"] == 502
    error = orjson.loads(invocation.response["body"])["error"]
    assert error["code"] == "function_error" and "KeyError" in error["message"]
    assert invocation.error is not None and invocation.error.name == "KeyError"


@pytest.mark.parametrize("bad", [None, "ok", {"body": "{}"}, {"statusCode": "200"}])
def test_malformed_proxy_response_is_502(bad) -> None:
    invocation = _invoke(FunctionRuntime(_Code(lambda e, c: bad), FunctionConfig()))
    assert invocation.response["statusCode"] == 502
    assert invocation.error is not None and invocation.error.name == "MalformedProxyResponse"


def test_blocking_code_runs_in_the_executor_not_on_the_loop() -> None:
    import threading

    threads = []

    def handler(event, context):
        threads.append(threading.current_thread().name)
        return {"statusCode": 200, "headers": {}, "body": ""}

    with ThreadPoolExecutor(1, thread_name_prefix="fn") as pool:
        _invoke(FunctionRuntime(_Code(handler), FunctionConfig(), executor=pool))
    _invoke(FunctionRuntime(_Code(handler), FunctionConfig()))
    assert threads[0].startswith("fn") and threads[1] == threading.main_thread().name


def test_a_handler_past_its_timeout_is_504_without_waiting_for_it() -> None:
    import threading

    release, finished = threading.Event(), threading.Event()

    def handler(event, context):
        release.wait(30)
        finished.set()
        return {"statusCode": 200, "headers": {}, "body": ""}

    with ThreadPoolExecutor(1) as pool:
        invocation = _invoke(FunctionRuntime(_Code(handler), FunctionConfig(timeout_s=0.05), executor=pool))
        assert not finished.is_set()  # answered while the handler still ran
        release.set()
    assert invocation.response["statusCode"] == 504
    assert orjson.loads(invocation.response["body"])["error"] == {
        "code": "timeout", "message": "Task timed out after 0.05 seconds"}
    assert invocation.error is not None and invocation.error.name == "Sandbox.Timedout"


def test_inline_handler_that_ran_past_its_timeout_loses_its_answer() -> None:
    import time

    def handler(event, context):
        time.sleep(0.1)
        return {"statusCode": 200, "headers": {}, "body": ""}

    invocation = _invoke(FunctionRuntime(_Code(handler), FunctionConfig(timeout_s=0.01)))
    assert invocation.response["statusCode"] == 504 and invocation.error.name == "Sandbox.Timedout"


def test_the_handlers_own_timeout_error_is_a_function_error_not_a_timeout() -> None:
    def handler(event, context):
        raise TimeoutError("the table did not answer")

    with ThreadPoolExecutor(1) as pool:
        invocation = _invoke(FunctionRuntime(_Code(handler), FunctionConfig(), executor=pool))
    assert invocation.response["statusCode"] == 502
    assert invocation.error.name == "TimeoutError" and invocation.error.message == "the table did not answer"


def _raise(message: str) -> BaseException:
    try:
        {}[message]
    except KeyError as exc:
        return exc
    raise AssertionError


def test_error_details_of_the_same_failure_share_one_formatted_stack() -> None:
    import traceback

    first = ErrorDetail.from_exception(_raise("TABLE_CONFIG"))
    second = ErrorDetail.from_exception(_raise("TABLE_CONFIG"))
    assert first == second and first.stack is second.stack  # formatted once
    assert first.stack == "".join(traceback.format_exception(_raise("TABLE_CONFIG")))
    other = ErrorDetail.from_exception(_raise("title"))
    assert other.message == "'title'" and "KeyError: 'title'" in other.stack


def test_a_chained_exception_keeps_its_whole_story() -> None:
    try:
        try:
            {}["x"]
        except KeyError as inner:
            raise RuntimeError("config is broken") from inner
    except RuntimeError as exc:
        detail = ErrorDetail.from_exception(exc)
    assert "KeyError: 'x'" in detail.stack and "direct cause" in detail.stack
    assert detail.stack.endswith("RuntimeError: config is broken\n")


def test_slow_sign_in_does_not_block_other_requests(client_for, tmp_path) -> None:
    """scrypt at a high cost runs in the auth pool: a health check answers while it hashes."""
    from service.settings import ServiceSettings

    client = client_for(ServiceSettings(data_dir=tmp_path / "d", password_cost_log2=16))

    async def scenario():
        slow = asyncio.ensure_future(
            client.http.post("/auth/signup", json={"username": "alice", "password": "long-password"}))
        await asyncio.sleep(0.01)
        health = await client.http.get("/health")
        signup_pending = not slow.done()
        return health, signup_pending, await slow

    health, signup_pending, signup = client.loop.run_until_complete(scenario())
    assert health.status_code == 200 and signup.status_code == 201
    assert signup_pending  # health was answered before the sign-up finished hashing
