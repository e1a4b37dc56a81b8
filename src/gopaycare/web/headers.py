"""Security headers on every HTTP answer (pure ASGI, so streaming and WebSockets pass untouched).

The API answers JSON and the few pages load only their own assets, so the policy is strict: nothing
from elsewhere, no inline script, no framing by anyone (frame-ancestors 'none', and X-Frame-Options for
old browsers). A page that needs more (/docs runs one inline script) sets its own Content-Security-Policy,
naming that script by its hash; this middleware keeps a policy the answer already has. HSTS goes only on
answers to requests that came over TLS: uvicorn sets the scheme from the socket, or from X-Forwarded-Proto
when the proxy is trusted (GOPAYCARE_TRUSTED_PROXIES).
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"


def script_hash(source: str) -> str:
    """A CSP source naming one inline script by its content."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_seconds}; includeSubDomains".encode() if hsts_seconds else b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                wanted = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                          (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
                          (b"cross-origin-opener-policy", b"same-origin")]
                if over_tls and self.hsts:
                    wanted.append((b"strict-transport-security", self.hsts))
                headers.extend((name, value) for name, value in wanted if name not in present)
            await send(message)

        await self.app(scope, receive, with_headers)
