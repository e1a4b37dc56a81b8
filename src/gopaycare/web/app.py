"""The ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from .. import __version__
from ..channels.webhook import MAX_PAYLOAD_BYTES
from ..container import Services
from ..platform.jobs import start_in_process_consumer
from .cors import WidgetCorsMiddleware, parse_origins
from .docs import install_docs
from .errors import install_error_handlers
from .headers import SecurityHeadersMiddleware
from .limits import BodyLimitMiddleware, body_limits
from .middleware import Metrics, RequestContextMiddleware
from .openapi import declare_errors_as_json
from .pages import install_pages, landing_page
from .params import check_params
from .routes import (
    admin,
    agent,
    assistant,
    attachments,
    channel_accounts,
    credentials,
    customer,
    customer_live,
    desk,
    disputes,
    events,
    health,
    kb,
    my_conversations,
    payment_callbacks,
    promotions,
    refunds,
    visitors,
    webhooks,
)
from .schemas.common import ERRORS

API = (health.router, customer.router, my_conversations.router, customer_live.router, agent.router, desk.router,
       events.router, admin.router, admin.csat_router, assistant.router, kb.router, promotions.router,
       visitors.router, webhooks.cti_router, attachments.router, channel_accounts.router, credentials.router,
       refunds.router, disputes.router)


def create_app(services: Services, *, run_jobs_in_process: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        consumer = None
        if run_jobs_in_process and not services.huey.immediate:
            consumer = start_in_process_consumer(services.huey)
        yield
        if consumer is not None:
            consumer.stop(graceful=True)

    settings = services.settings
    app = FastAPI(title="GoPay Care", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json" if settings.docs_enabled else None,
                  description="The customer-service platform for the GoPay e-wallet.")
    install_docs(app, enabled=settings.docs_enabled)
    app.state.services = services
    app.state.metrics = Metrics()
    # Added innermost first: the request id and the security headers wrap everything, the body limit
    # included, so a 413 has both.
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(
        attachment_bytes=settings.attachment_max_bytes, webhook_bytes=MAX_PAYLOAD_BYTES))
    # The chat widget on the sites GOPAYCARE_WIDGET_ORIGINS lists, on the widget's routes only (cors.py).
    app.state.widget_origins = parse_origins(settings.widget_origins)
    app.add_middleware(WidgetCorsMiddleware, origins=app.state.widget_origins)
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    install_error_handlers(app)
    for router in API:
        # Every API route refuses query parameters it does not take, and NUL characters (params.py);
        # errors document their one shape (errors.py).
        app.include_router(router, dependencies=[Depends(check_params)], responses=ERRORS)
    # Providers' webhooks are not held to our query rules: a provider may add parameters.
    app.include_router(webhooks.router, responses=ERRORS)
    app.include_router(payment_callbacks.router, responses=ERRORS)

    declare_errors_as_json(app)
    # The agent console's pages and its live socket (web/pages/): the same services, the same checks.
    install_pages(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return landing_page(request)

    return app
