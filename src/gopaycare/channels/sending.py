"""What every provider's sender shares: reading its JSON answer, and cutting a long reply into the
pieces its API takes."""

from __future__ import annotations

from typing import Any

import httpx


def response_json(response: httpx.Response) -> dict[str, Any]:
    """The provider's answer as a JSON object; {} when it is not one (a proxy's HTML error page)."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def pieces(body: str, size: int) -> list[str]:
    """A long reply in pieces of at most `size` characters, cut at a line break or a space when one
    falls in the second half of the piece."""
    found = []
    while len(body) > size:
        cut = max(body.rfind("\n", 0, size), body.rfind(" ", 0, size))
        cut = cut if cut > size // 2 else size
        found.append(body[:cut])
        body = body[cut:].lstrip()
    return [*found, body] if body else found
