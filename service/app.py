"""Assemble one worker's app: user pool, functions, authorizer, gateway.

`create_app` is the uvicorn factory each worker process calls; it reads the
instance's settings from the environment (see `service.settings.ENV_VAR`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import orjson

from service.api.auth import AuthCode, SignInPolicy
from service.api.openapi import build_openapi
from service.api.routes import Integration, Router
from service.api.todos import TodoApiCode
from service.control.worker_control import WorkerControl
from service.identity import PasswordHasher, RevocationList, TokenService, UserDirectory, load_or_create_key
from service.runtime.authorizer import JwtAuthorizer
from service.runtime.function import FunctionConfig, FunctionRuntime, Invoker
from service.runtime.gateway import Gateway
from service.runtime.metrics import Metrics
from service.runtime.request_log import RequestLog
from service.settings import ServiceSettings
from service.store import StoreKind, open_store

AUTH_THREADS = 4  # scrypt needs 16 MiB each; 4 keep both cores busy without a memory spike
IO_THREADS = 32  # DynamoDB calls wait on the network


def todo_function_config(settings: ServiceSettings) -> FunctionConfig:
    return FunctionConfig(
        function_name="todo-api",
        version=settings.function_version,
        timeout_s=settings.function_timeout_s,
        memory_mb=settings.function_memory_mb,
        region=settings.region,
        table_name=settings.table_name,
    )


def build_gateway(settings: ServiceSettings) -> Gateway:
    users = UserDirectory(settings.users_db)
    revocations = RevocationList(users)
    tokens = TokenService(load_or_create_key(settings.key_file), issuer=settings.issuer,
                          ttl_s=settings.token_ttl_s)
    policy = SignInPolicy(settings.signin_max_failures, settings.signin_window_s, settings.signin_lockout_s)
    auth_pool = ThreadPoolExecutor(AUTH_THREADS, thread_name_prefix="auth")
    auth = FunctionRuntime(
        AuthCode(users, revocations, PasswordHasher(settings.password_cost_log2), tokens, policy),
        FunctionConfig(function_name="auth", version="1", region=settings.region),
        executor=auth_pool,
    )
    opener = partial(open_store, settings.store, sqlite_path=settings.todos_db, region=settings.region,
                     dynamodb_endpoint_url=settings.dynamodb_endpoint_url)
    io_pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="io") if settings.store is StoreKind.DYNAMODB else None
    authorizer = JwtAuthorizer(tokens, revocations)
    # Under the supervisor the function follows the control plane (versions, alias LIVE, faults,
    # concurrency, throttling, not-before); started alone it is the plain runtime.
    control = WorkerControl.from_env(settings)
    todo_api: Invoker
    if control is None:
        todo_api = FunctionRuntime(TodoApiCode(opener), todo_function_config(settings), executor=io_pool)
    else:
        todo_api = control.todo_function(opener, todo_function_config(settings), io_pool)
        authorizer = control.authorizer(authorizer)
    gateway = Gateway(
        router=Router(),
        functions={Integration.TODO_API: todo_api, Integration.AUTH: auth},
        authorizer=authorizer,
        log=RequestLog(settings.log_file),
        metrics=Metrics(settings.metrics_dir),
        openapi=orjson.dumps(build_openapi()),
    )
    worker_file = settings.workers_dir / f"{os.getpid()}"

    def announce() -> None:
        settings.workers_dir.mkdir(parents=True, exist_ok=True)
        worker_file.write_text(str(os.getpid()))

    def retire() -> None:
        worker_file.unlink(missing_ok=True)
        for pool in (auth_pool, io_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        revocations.close()
        users.close()

    gateway.on_startup(announce)
    gateway.on_shutdown(retire)
    if control is not None:
        gateway.on_startup(control.start)
        gateway.on_shutdown(control.stop)
    return gateway


def create_app() -> Gateway:
    return build_gateway(ServiceSettings.from_env())
