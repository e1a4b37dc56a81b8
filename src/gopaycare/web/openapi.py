"""The schema at /openapi.json, made truthful where FastAPI's generator is not.

FastAPI files a route's extra responses under the route's own media type: a webhook answering
text/plain would "answer" its 401 as text/plain too, though every error is JSON (errors.py). Here each
error response is filed under application/json.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .schemas.common import ERRORS


def declare_errors_as_json(app: FastAPI) -> None:
    generate = app.openapi
    statuses = {str(status) for status in ERRORS}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if status in statuses and content and "application/json" not in content:
                        answer["content"] = {"application/json": next(iter(content.values()))}
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
