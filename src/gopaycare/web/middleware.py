"""Request ids, access logs and Prometheus metrics for every request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..platform.logging import request_id_var
from .errors import internal_error

log = logging.getLogger("gopaycare.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("gopaycare_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("gopaycare_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so WebSockets and streaming pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        start = time.perf_counter()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                raise
            # Answer a crash here, while the request id is still set. Starlette's own 500 handler
            # runs outside this middleware, after the id is reset: its answer had
            # "request_id": null and no X-Request-ID header, and its log line no request id,
            # so a customer's report could not be matched to the traceback.
            log.exception("unhandled error")
            await internal_error()(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            route_name = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route_name, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route_name).observe(elapsed)
            log.info("request", extra={"method": scope["method"], "path": scope["path"], "status": status,
                                       "ms": round(elapsed * 1000, 1)})
            request_id_var.reset(token)
