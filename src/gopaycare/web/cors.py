"""CORS for the chat widget on other sites (ADR 0025), and nothing else.

A host page on another origin loads `widget.js` with a script tag (no CORS needed) and the widget then
calls this API from that page's origin. Only the routes the widget uses answer CORS, only for the exact
origins in GOPAYCARE_WIDGET_ORIGINS, and never with credentials: the widget carries a visitor token, a
customer's bearer token or a single-use ticket, never a cookie (`credentials: "omit"`), so no
`Access-Control-Allow-Credentials`. Every other route — the agents' API, the pages, the merchant API —
and every other origin get no CORS header at all; the browser then refuses the answer to the script.

The chat socket is not covered by CORS: a browser opens a WebSocket to anywhere and sends its Origin.
`socket_origin_allowed` is the socket's check: no Origin (an app or a server), this host's own, or a
listed origin; anything else is refused before the credential is looked at.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

# The widget's routes (widget.js): path pattern → the methods it calls there.
WIDGET_ROUTES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"/api/v1/chat/visitors"), frozenset({"POST"})),
    (re.compile(r"/api/v1/me/chat/ws/tickets"), frozenset({"POST"})),
    (re.compile(r"/api/v1/me/conversations"), frozenset({"GET"})),
    (re.compile(r"/api/v1/me/conversations/[0-9]{1,18}/messages"), frozenset({"GET"})),
    (re.compile(r"/api/v1/me/conversations/[0-9]{1,18}/read"), frozenset({"POST"})),
    (re.compile(r"/api/v1/me/attachments"), frozenset({"POST"})),
    (re.compile(r"/widget/texts\.json"), frozenset({"GET"})),
)
# The request headers the widget sends beyond the CORS-safelisted ones.
ALLOWED_HEADERS = b"authorization, content-type, x-visitor-token"
EXPOSED_HEADERS = b"x-request-id"
MAX_AGE = b"600"
MAX_ORIGIN = 300  # characters; a longer Origin is nobody's


def parse_origins(value: str) -> frozenset[str]:
    """The allow-list from the setting (validated and lower-cased there)."""
    return frozenset(o for o in value.split(",") if o)


def widget_methods(path: str) -> frozenset[str]:
    """The methods the widget calls on this path (empty: not a widget route)."""
    for pattern, methods in WIDGET_ROUTES:
        if pattern.fullmatch(path):
            return methods
    return frozenset()


class WidgetCorsMiddleware:
    """Pure ASGI: answers the widget's preflights and adds the CORS headers to its calls' answers."""

    def __init__(self, app: ASGIApp, *, origins: frozenset[str]) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)
            return
        methods = widget_methods(scope["path"])
        if not methods:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = _listed(headers.get(b"origin"), self.origins)
        requested = headers.get(b"access-control-request-method")
        if scope["method"] == "OPTIONS" and requested is not None:
            requested_method = requested.decode("latin-1")
            origin = origin if requested_method in methods else None
            if origin is not None:
                await _preflight(send, origin, methods)
                return
        elif scope["method"] not in methods:
            origin = None
        # Anything else goes on as it would without CORS: an unlisted origin's preflight gets the route's
        # 405 with no CORS header, so the browser stops the call.

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = message.setdefault("headers", [])
                out.append((b"vary", b"Origin"))
                if origin is not None:
                    out.append((b"access-control-allow-origin", origin))
                    out.append((b"access-control-expose-headers", EXPOSED_HEADERS))
            await send(message)

        await self.app(scope, receive, with_cors)


def _listed(raw: bytes | None, origins: frozenset[str]) -> bytes | None:
    """The Origin header's value when it is exactly a listed origin (as the browser sent it)."""
    if raw is None or len(raw) > MAX_ORIGIN:
        return None
    return raw if raw.decode("latin-1") in origins else None


async def _preflight(send: Send, origin: bytes, methods: frozenset[str]) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": [
        (b"access-control-allow-origin", origin),
        (b"access-control-allow-methods", ", ".join(sorted(methods)).encode()),
        (b"access-control-allow-headers", ALLOWED_HEADERS),
        (b"access-control-max-age", MAX_AGE),
        (b"vary", b"Origin"),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": b""})


def socket_origin_allowed(websocket: WebSocket, origins: frozenset[str]) -> bool:
    """A socket's handshake from no browser (no Origin), this host's own page, or a listed origin."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if len(origin) > MAX_ORIGIN:
        return False
    host = websocket.headers.get("host", "")
    if host and origin.lower() in (f"http://{host}".lower(), f"https://{host}".lower()):
        return True
    return origin in origins
