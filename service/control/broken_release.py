"""A release of `todo-api` with a genuine bug, for the bad-deploy drill.

This release moved the table settings into one structured `TABLE_CONFIG` variable
(JSON: name, region, consistent reads), but its deploy never set that variable: every
invocation fails in the handler with the KeyError the real code raises, and the gateway
answers 502 `function_error` naming it. Nothing here checks a flag; the code is broken.
"""

from __future__ import annotations

import json

from service.api.todos import TodoApi, TodoApiCode
from service.proxy import ProxyResponse
from service.runtime.function import Event, FunctionConfig, Handler, LambdaContext


class StructuredConfigTodoApi(TodoApi):
    def __call__(self, event: Event, context: LambdaContext) -> ProxyResponse:
        settings = self._table_settings()
        if settings.get("name") != self.store.table:
            raise RuntimeError(f"TABLE_CONFIG names {settings.get('name')!r}, the store is {self.store.table!r}")
        return super().__call__(event, context)

    def _table_settings(self) -> dict[str, object]:
        environment = self.config.env()
        return json.loads(environment["TABLE_CONFIG"])


class BrokenReleaseCode(TodoApiCode):
    """Deployable code of the broken release: same stores, the buggy handler."""

    def load(self, config: FunctionConfig) -> Handler:
        api = super().load(config)
        return StructuredConfigTodoApi(api.store, config)
