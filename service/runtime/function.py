"""Functions and how they are invoked: the one seam between the gateway and handler code.

A function is code (`FunctionCode.load(config)` is the Lambda init phase and returns the
`handler(event, context)`) plus a `FunctionConfig` (version, timeout, memory, table...).
The gateway invokes an `Invoker`. `FunctionRuntime` is the one implementation that runs a
handler: the invocation's deadline, the timeout (504), unhandled exceptions and malformed
responses (502) are enforced there and nowhere else. Control-plane behaviour (versions and
alias LIVE, reserved concurrency, injected faults) wraps a runtime:
`service.control.controlled_function.ControlledFunction`.
"""

from __future__ import annotations

import asyncio
import functools
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.proxy import ProxyResponse, error_response

Event = dict[str, Any]


@dataclass(frozen=True)
class FunctionConfig:
    """What a published version carries besides its code (Lambda's function configuration)."""

    function_name: str = "todo-api"
    version: str = "1"
    timeout_s: float = 10.0
    memory_mb: int = 256
    region: str = "ap-northeast-2"
    table_name: str = "todos"
    environment: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}:{self.version}"

    def env(self) -> dict[str, str]:
        """The environment the handler sees (TABLE_NAME and the Lambda-provided variables)."""
        return {
            "TABLE_NAME": self.table_name,
            "AWS_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            **self.environment,
        }


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """The `error` object of a log line."""

    name: str
    message: str
    stack: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorDetail:
        message = str(exc)
        return cls(type(exc).__name__, message, _stack(exc, message))


# Formatted tracebacks by where the exception was raised. A broken release fails the same way
# on every request; formatting its traceback again each time cost more than serving a request.
_STACKS: dict[tuple[object, ...], str] = {}
_STACKS_MAX = 256


def _stack(exc: BaseException, message: str) -> str:
    """`traceback.format_exception(exc)` as text, memoised by type, message and each frame's code
    and instruction (which fix every line of the text)."""
    if (exc.__cause__ is not None or exc.__context__ is not None or hasattr(exc, "__notes__")
            or isinstance(exc, (SyntaxError, BaseExceptionGroup))):
        return "".join(traceback.format_exception(exc))  # chained or annotated: its text has more in it
    parts: list[object] = [type(exc), message]
    tb = exc.__traceback__
    while tb is not None:
        parts.append(tb.tb_frame.f_code)
        parts.append(tb.tb_lasti)
        tb = tb.tb_next
    key = tuple(parts)
    text = _STACKS.get(key)
    if text is None:
        if len(_STACKS) >= _STACKS_MAX:
            _STACKS.clear()
        text = _STACKS[key] = "".join(traceback.format_exception(exc))
    return text


class LambdaContext:
    """The Lambda context object, plus what the handler wants in this request's log line."""

    __slots__ = ("config", "aws_request_id", "deadline",
                 "log_level", "log_message", "log_extra", "user_id", "error")

    def __init__(self, config: FunctionConfig, request_id: str) -> None:
        self.config = config
        self.aws_request_id = request_id
        self.deadline = time.monotonic() + config.timeout_s  # on the monotonic clock; the invocation starts now
        self.log_level: str | None = None  # e.g. WARN for a security event
        self.log_message: str | None = None
        self.log_extra: dict[str, object] | None = None  # merged into the line's metadata
        self.user_id: str | None = None
        self.error: ErrorDetail | None = None

    # The static part comes from the configuration: nothing to build per request.
    function_name = property(lambda self: self.config.function_name)
    function_version = property(lambda self: self.config.version)
    memory_limit_in_mb = property(lambda self: self.config.memory_mb)
    invoked_function_arn = property(lambda self: self.config.invoked_function_arn)
    log_group_name = property(lambda self: f"/aws/lambda/{self.config.function_name}")
    log_stream_name = property(lambda self: f"local/{self.config.version}")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


Handler = Callable[[Event, LambdaContext], ProxyResponse]


class FunctionCode(Protocol):
    """Deployable code: `load` runs once per loaded version (cold start) and returns the handler."""

    def load(self, config: FunctionConfig) -> Handler: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Invocation:
    response: ProxyResponse
    context: LambdaContext
    error: ErrorDetail | None  # set when the function failed (unhandled exception / bad response)


def function_error(detail: ErrorDetail) -> ProxyResponse:
    """What API Gateway answers when the Lambda integration fails."""
    return error_response(502, "function_error", f"{detail.name}: {detail.message}")


@dataclass(frozen=True, slots=True)
class Failure:
    """An answer every invocation that fails this way gets (a timeout, a throttle, an injected
    fault): built once, not per failed request."""

    response: ProxyResponse
    detail: ErrorDetail

    def invocation(self, context: LambdaContext) -> Invocation:
        return Invocation(dict(self.response), context, self.detail)  # a copy: each caller owns its response


class Invoker(Protocol):
    """What the gateway invokes: a `FunctionRuntime`, or a wrapper adding behaviour around one."""

    @property
    def config(self) -> FunctionConfig: ...

    async def invoke(self, event: Event) -> Invocation: ...

    def close(self) -> None: ...


class FunctionRuntime:
    """Runs one loaded version of a function; inline on the event loop, or in a thread for blocking code."""

    def __init__(
        self,
        code: FunctionCode,
        config: FunctionConfig,
        *,
        executor: Executor | None = None,
    ) -> None:
        self.code = code
        self.config = config
        self._executor = executor  # None: the handler is fast and non-blocking, call it inline
        self._handler = code.load(config)
        message = f"Task timed out after {config.timeout_s:.2f} seconds"
        self._timed_out = Failure(error_response(504, "timeout", message), ErrorDetail("Sandbox.Timedout", message))

    def start(self, event: Event) -> LambdaContext:
        """The invocation begins: its context, whose deadline counts from now."""
        return LambdaContext(self.config, event["requestContext"]["requestId"])

    async def invoke(self, event: Event, context: LambdaContext | None = None) -> Invocation:
        """Run the handler within the invocation's time. `context`: an invocation `start`ed
        earlier, whose time has been running (e.g. through an injected start delay)."""
        if context is None:
            context = LambdaContext(self.config, event["requestContext"]["requestId"])
        try:
            if self._executor is None:
                response = self._handler(event, context)
            else:
                future = asyncio.get_running_loop().run_in_executor(self._executor, self._handler, event, context)
                try:
                    response = await asyncio.wait_for(future, max(context.deadline - time.monotonic(), 0.0))
                except TimeoutError:
                    if not future.cancelled():
                        raise  # the handler's own TimeoutError: the function failing
                    return self.timed_out(context)
        except Exception as exc:  # an unhandled exception is the function failing, not the runtime
            detail = ErrorDetail.from_exception(exc)
            return Invocation(function_error(detail), context, detail)
        if time.monotonic() > context.deadline:
            # It ran past its timeout (inline code cannot be stopped): Lambda would have stopped
            # it, so its answer is lost.
            return self.timed_out(context)
        if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
            detail = ErrorDetail("MalformedProxyResponse", f"handler returned {type(response).__name__}")
            return Invocation(function_error(detail), context, detail)
        return Invocation(response, context, context.error)

    def timed_out(self, context: LambdaContext) -> Invocation:
        """504: the invocation's time ran out."""
        return self._timed_out.invocation(context)

    def close(self) -> None:
        self.code.close()
