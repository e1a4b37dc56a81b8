"""`/docs`: Swagger UI from assets shipped in the package (static/vendor/swagger-ui, refreshed by
`make vendor`), so the API reference works without internet; FastAPI's own page loads them from a CDN.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from .headers import script_hash

STATIC_DIR = Path(__file__).resolve().parent / "static"
SWAGGER_UI = "/static/vendor/swagger-ui"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def with_policy(page: HTMLResponse) -> HTMLResponse:
    """The page's own Content-Security-Policy: our assets only, and its inline scripts by hash (Swagger
    UI's styles and icons: its stylesheet and data: images)."""
    scripts = " ".join(script_hash(s) for s in _INLINE_SCRIPT.findall(page.body.decode()))
    page.headers["content-security-policy"] = (
        f"default-src 'self'; script-src 'self' {scripts}; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
    return page


def install_docs(app: FastAPI, *, enabled: bool = True) -> None:
    """Serve /static and the Swagger UI page (the app is built with docs_url=None, redoc_url=None).
    GOPAYCARE_DOCS_ENABLED=false leaves out the page (create_app leaves out /openapi.json)."""
    if not enabled:
        return
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return with_policy(get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png", oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            # Otherwise Swagger UI sends the spec's address to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        ))

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return with_policy(get_swagger_ui_oauth2_redirect_html())
