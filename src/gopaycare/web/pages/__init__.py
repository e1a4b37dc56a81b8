"""The server-rendered pages (docs/adr/0022-pages.md): the agent console, and the customer side
(docs/adr/0025-customer-pages.md): the help center, "My account" and the chat widget's server part.

Jinja2 templates (web/templates/console/), htmx and a little plain JavaScript served from
web/static/ (no CDN, no Node at run time), texts from the catalogs. Pages call the services the
JSON API calls, with the same permission checks; nothing here is a second road to the data.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ...platform.errors import DomainError
from ..errors import error_response, retry_after
from . import account, actions, admin, dashboard, help, inbox, login, merchant, socket, ticket
from .account import CustomerSignInNeeded
from .auth import SignInNeeded
from .configure import router as configure_router
from .landing import landing_page
from .render import page

__all__ = ["install_pages", "landing_page"]
CUSTOMER_PATHS = ("/help", "/account", "/widget/demo")


def install_pages(app: FastAPI) -> None:
    for router in (login.router, inbox.router, ticket.router, actions.router, socket.router, account.router,
                   help.router, merchant.router, dashboard.router, admin.router):
        app.include_router(router)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        return login.signed_out(request)

    @app.exception_handler(CustomerSignInNeeded)
    async def _customer_sign_in(request: Request, _: CustomerSignInNeeded) -> Response:
        return account.signed_out(request)

    @app.exception_handler(merchant.MerchantSignInNeeded)
    async def _merchant_sign_in(request: Request, _: merchant.MerchantSignInNeeded) -> Response:
        return merchant.signed_out(request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        """A page's refusal is a page (same status and code); the API's stays the JSON error."""
        path = request.url.path
        if path.startswith(CUSTOMER_PATHS):
            response = account.customer_page(request, "customer/error.html", {"message": exc.message},
                                             status=exc.http_status)
            response.headers["X-Error-Code"] = exc.code
            return response
        home = "/console/inbox" if path.startswith("/console/") else \
            "/merchant/cases" if path.startswith("/merchant/") else None
        if home is None:
            return error_response(exc.http_status, exc.code, exc.message, exc.details, retry_after(exc))
        back = request.headers.get("referer", "")
        host = request.headers.get("host", "")
        back = back if host and back.split("/")[2:3] == [host] else home
        response = page(request, "console/error.html", {"message": exc.message, "back": back}, status=exc.http_status)
        response.headers["X-Error-Code"] = exc.code
        return response

    app.include_router(configure_router)  # the admin pages for what was API-only (pages/configure.py)
