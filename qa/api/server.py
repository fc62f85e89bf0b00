"""The API and MCP in the chat's own server: ``/v1/*`` (OpenAI-compatible) and ``/mcp``
(MCP, Streamable HTTP) are answered here, behind the key check, and every other path goes on
to the Gradio chat. ``Api.app_kwargs`` is what Gradio's ``launch(app_kwargs=…)`` needs: a
middleware that routes those paths here, and a lifespan that runs MCP's session manager."""
from __future__ import annotations

import contextlib
import traceback

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from qa.api import openai_routes
from qa.api.errors import ApiError, error_body
from qa.api.gate import Gate
from qa.api.keys import KeyGuard, configured, refusal
from qa.api.mcp_tools import tools

MCP_PATH = "/mcp"
API_PREFIX = "/v1"


def _Raw(status: int, body: bytes, headers=None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="application/json; charset=utf-8")


def openai_app(qa, gate: Gate) -> FastAPI:
    """The /v1 routes, every refusal in OpenAI's error shape."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(openai_routes.router(qa, gate))

    @app.exception_handler(ApiError)
    async def refused(request, exc: ApiError):
        return _Raw(exc.status, error_body(exc.message, exc.kind, exc.code), exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        if exc.status_code == 404:
            return _Raw(404, error_body(f"There is no {request.method} {request.url.path}; the API serves GET /v1/models and "
                                        "POST /v1/chat/completions.", "invalid_request_error", "not_found"))
        if exc.status_code == 405:
            return _Raw(405, error_body(f"{request.url.path} does not take {request.method}.", "invalid_request_error",
                                        "method_not_allowed"))
        return _Raw(exc.status_code, error_body(str(exc.detail), "invalid_request_error", "http_error"))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        return _Raw(400, error_body("The request is not valid; see GET /v1/models and the OpenAI chat completions format.",
                                    "invalid_request_error", "invalid_request"))

    @app.exception_handler(Exception)
    async def unexpected(request, exc: Exception):
        traceback.print_exc()
        return _Raw(500, error_body(f"Unexpected error ({type(exc).__name__}); the server keeps running, try again or report it.",
                                    "server_error", "internal_error"))

    return app


class Api:
    """The OpenAI-compatible routes and the MCP tools over ``qa``, guarded by ``keys``."""

    def __init__(self, qa, keys: tuple[str, ...] = (), host: str = "127.0.0.1", gate: Gate | None = None) -> None:
        self.gate = gate or Gate()
        self.keys = keys
        self.openai = openai_app(qa, self.gate)
        self.mcp = tools(qa, self.gate)
        # Stateless, JSON answers: each tool call is one POST, nothing kept between them.
        self.mcp_app = self.mcp.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, json_response=True,
                                                    max_request_body_size=openai_routes.MAX_BODY, host=host)
        self.asgi = KeyGuard(self._route, keys)

    @staticmethod
    def serves(path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in (API_PREFIX, MCP_PATH))

    async def _route(self, scope, receive, send):
        path = scope.get("path", "")
        await (self.mcp_app if path == MCP_PATH or path.startswith(MCP_PATH + "/") else self.openai)(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(self, app=None):
        async with self.mcp.session_manager.run():
            yield

    def app_kwargs(self, middleware: list | None = None) -> dict:
        """Gradio's ``app_kwargs`` with the API routed in front of the chat."""
        return {"middleware": [*(middleware or []), Middleware(_InFront, api=self)], "lifespan": self.lifespan}

    def urls(self, base: str) -> str:
        return (f"MCP {base.rstrip('/')}{MCP_PATH} · OpenAI API {base.rstrip('/')}{API_PREFIX}"
                + ("  (key required: Authorization: Bearer KEY)" if self.keys else ""))


class _InFront:
    """ASGI middleware: the API's paths to the API, the rest to the app behind."""

    def __init__(self, app, api: Api) -> None:
        self.app, self.api = app, api

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and Api.serves(scope.get("path", "")):
            await self.api.asgi(scope, receive, send)
        else:
            await self.app(scope, receive, send)



def serve_api(qa, host: str, given_keys: list[str] | None, base_url: str, say) -> Api | None:
    """The Api for a server on ``host`` (keys from ``given_keys`` and $ZHQA_API_KEYS), its
    URLs told through ``say``; None, with one sentence why, when it must not be served."""
    keys = configured(given_keys)
    why = refusal(host, keys)
    if why:
        say(why)
        return None
    api = Api(qa, keys, host)
    say(api.urls(base_url))
    return api
