"""One check for every API route: query parameters it does not take, and NUL characters.

FastAPI ignores query parameters a route does not declare, so a typo (`?team=3` for `?team_id=3`)
silently answers the unfiltered list. Here an unknown name answers 422 naming it, like any other
invalid parameter. NUL characters in the query, the path or a header answer 422 too: PostgreSQL
refuses them in text (request bodies are checked by schemas.common.In).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.requests import HTTPConnection


def declared_query(dependant: Dependant) -> set[str]:
    """The query parameter names a route takes, its dependencies' included (by alias)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared_query(sub)
    return names


async def check_params(connection: HTTPConnection) -> None:
    # async: a few microseconds of work, not worth a trip to the thread pool.
    route = connection.scope.get("route")
    if not isinstance(route, APIRoute | APIWebSocketRoute):
        return
    known = declared_query(route.dependant)
    errors: list[dict[str, Any]] = []
    for name in dict.fromkeys(connection.query_params.keys()):
        if name not in known:
            errors.append({"type": "extra_forbidden", "loc": ("query", name[:100]), "input": None,
                           "msg": f"unknown query parameter; this route takes: {', '.join(sorted(known)) or 'none'}"})
        elif any("\x00" in value for value in connection.query_params.getlist(name)):
            errors.append(_nul("query", name))
    errors += [_nul("path", name) for name, value in connection.path_params.items()
               if isinstance(value, str) and "\x00" in value]
    # HTTP/1.1 servers refuse NUL in headers; a proxy speaking another protocol might not.
    errors += [_nul("header", name.decode("latin-1")) for name, value in connection.scope["headers"]
               if b"\x00" in value]
    if errors:
        if connection.scope["type"] == "websocket":
            raise WebSocketRequestValidationError(errors)
        raise RequestValidationError(errors)


def _nul(where: str, name: str) -> dict[str, Any]:
    return {"type": "string_nul", "loc": (where, name), "input": None, "msg": "may not contain NUL characters"}


# Paging parameters, bounded in the schema itself (a client reads the bounds in /openapi.json; the
# services check them again for callers other than HTTP).
PageLimit = Annotated[int, Query(ge=1, le=100, description="items per page, 1 to 100")]
HistoryLimit = Annotated[int, Query(ge=1, le=200, description="items per page, 1 to 200")]
PageCursor = Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                         description="the previous page's next_cursor, as given")]
Before = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="the reference of the last transaction of the previous page")]
