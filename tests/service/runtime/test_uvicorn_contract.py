"""`SingleWriteHttpToolsProtocol` overrides a private method of uvicorn's httptools protocol.

Its `on_response_complete` is uvicorn's with one change (the keep-alive timer), so it is only right
while uvicorn's stays what it was copied from. pyproject caps uvicorn below the next minor; this test
is what fails, loudly, on a uvicorn whose method or helpers changed shape: re-read uvicorn's new
method, carry its change into `service/runtime/http_protocol.py`, then update the fingerprint here.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.runtime.http_protocol import SingleWriteHttpToolsProtocol

# sha256 of the method's AST (docstring and comments excluded), uvicorn 0.45 to 0.55.
COPIED_FROM = {"on_response_complete": "26638112a3eac637"}


def fingerprint(function: object) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(tree, ast.FunctionDef)
    tree.body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]


def test_the_overridden_method_is_still_the_one_it_was_copied_from() -> None:
    for name, expected in COPIED_FROM.items():
        assert name in vars(SingleWriteHttpToolsProtocol), f"{name} is no longer overridden: drop it from this test"
        found = fingerprint(getattr(HttpToolsProtocol, name))
        assert found == expected, (
            f"uvicorn {uvicorn.__version__} changed HttpToolsProtocol.{name} (fingerprint {found}, was {expected}); "
            f"bring its change into SingleWriteHttpToolsProtocol.{name} before raising uvicorn's upper bound"
        )


def test_the_private_helpers_the_override_calls_keep_their_signatures() -> None:
    assert list(inspect.signature(HttpToolsProtocol._start_asgi_task).parameters) == ["self", "cycle", "app"]
    assert list(inspect.signature(HttpToolsProtocol.timeout_keep_alive_handler).parameters) == ["self"]
    # Attributes set in __init__ that the override reads.
    init = inspect.getsource(HttpToolsProtocol.__init__)
    for attribute in ("self.server_state", "self.pipeline", "self.timeout_keep_alive", "self.loop", "self.scope"):
        assert f"{attribute} =" in init or f"{attribute}:" in init, f"uvicorn no longer sets {attribute}"
    assert "self.flow =" in inspect.getsource(HttpToolsProtocol.connection_made)
