"""API keys: ``Authorization: Bearer KEY`` on every API and MCP request when keys are set.

Keys are compared in constant time; wrong keys from one client address are slowed down as
failed logins are (``qa.web.login.LoginLimiter``: after a few, each attempt must wait,
longer each time, and one made while waiting is refused unchecked). Answers are OpenAI's
error JSON: 401 without a key, 403 for a wrong one, 429 while the client must wait."""
from __future__ import annotations

import hmac
import ipaddress
import os

from qa.api.errors import send_error
from qa.web.login import LoginLimiter

ENV = "ZHQA_API_KEYS"


def configured(given: list[str] | None = None, environ=os.environ) -> tuple[str, ...]:
    """The keys of ``--api-key`` (repeatable) and $ZHQA_API_KEYS (comma-separated)."""
    keys = [k.strip() for k in (given or [])] + [k.strip() for k in environ.get(ENV, "").split(",")]
    return tuple(dict.fromkeys(k for k in keys if k))


def loopback(host: str) -> bool:
    """Whether a server listening on ``host`` is reachable from this machine only."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


def refusal(host: str, keys: tuple[str, ...]) -> str | None:
    """Why the API must not start on ``host`` without a key (None: it may)."""
    if keys or loopback(host):
        return None
    return (f"The API and MCP are not served: the server listens on {host}, beyond this machine, without a key; "
            f"give --api-key KEY (or {ENV}=KEY) to serve them.")


class KeyGuard:
    """ASGI: lets a request through to ``app`` only with one of ``keys`` (all pass when
    there are none)."""

    def __init__(self, app, keys: tuple[str, ...], limiter: LoginLimiter | None = None) -> None:
        self.app, self.keys = app, tuple(k.encode("utf-8") for k in keys)
        self.limiter = limiter or LoginLimiter()

    def _matches(self, given: bytes) -> bool:
        found = False
        for key in self.keys:  # every key compared, so the time says nothing of which matched
            found |= hmac.compare_digest(given, key)
        return found

    async def __call__(self, scope, receive, send):
        if not self.keys or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.limiter.wait(client)
        if wait > 0:
            seconds = int(wait) + 1
            await send_error(send, 429, f"Too many wrong API keys; try again in {seconds} s.", "rate_limit_error",
                             "too_many_failed_keys", [(b"retry-after", str(seconds).encode())])
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            await send_error(send, 401, "No API key given; send the header Authorization: Bearer KEY.",
                             "authentication_error", "missing_api_key", [(b"www-authenticate", b"Bearer")])
            return
        if not self._matches(given.strip()):
            self.limiter.failed(client)
            await send_error(send, 403, "The API key is not one this server accepts; check the key you were given.",
                             "authentication_error", "invalid_api_key")
            return
        self.limiter.succeeded(client)
        await self.app(scope, receive, send)
