"""OpenAI's error shape, ``{"error": {"message", "type", "param", "code"}}``, for every
refusal of the API and of MCP over HTTP: one sentence a person can act on, never a traceback."""
from __future__ import annotations

import json

from qa.text.wellformed import well_formed


class ApiError(Exception):
    """A request refused with ``status`` and one sentence."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str = "invalid_request",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.headers = status, message, kind, code, headers or {}


def error_body(message: str, kind: str, code: str) -> bytes:
    return json.dumps({"error": {"message": well_formed(message), "type": kind, "param": None, "code": code}},
                      ensure_ascii=False).encode("utf-8")


async def send_error(send, status: int, message: str, kind: str, code: str, headers=()) -> None:
    """Answer a raw ASGI request with the error (for middleware, before any route)."""
    body = error_body(message, kind, code)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
