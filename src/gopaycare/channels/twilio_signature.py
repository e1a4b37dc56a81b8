"""Twilio's request signature (X-Twilio-Signature) and the URL it covers.

Twilio signs each webhook with the account's auth token: HMAC-SHA1 over the full URL it requested
(query string included) followed, for a form POST, by every parameter name and value sorted by name
(the values of a repeated name sorted too), base64-encoded. The URL is the one Twilio called, which
behind a proxy is not the one this server sees (another scheme, host or port, a path prefix the proxy
took off): `signed_url` rebuilds it from `GOPAYCARE_PUBLIC_URL` when that is set. Twilio has signed
https URLs both with and without an explicit :443, so both spellings are tried (as Twilio's own
libraries do). Every comparison takes constant time. A missing signature is 401, a wrong one 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from ..platform.errors import PermissionDenied, Unauthenticated

HEADER = "X-Twilio-Signature"


def compute(token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature Twilio sends for a POST of `params` to `url`."""
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _spellings(url: str) -> list[str]:
    """The URL as given, with the scheme's default port written out, and without it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [url]
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    found = [url]
    if port is None and default is not None:
        found.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")))
    elif port == default:
        found.append(urlunsplit(parts._replace(netloc=f"{prefix}{host}")))
    return found


def check(token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> None:
    """Raises Unauthenticated without a signature, PermissionDenied when it does not match."""
    if not signature:
        raise Unauthenticated("the X-Twilio-Signature header is missing")
    given = signature.strip().encode()
    params = list(params)
    matched = False
    for spelling in _spellings(url):
        # No early exit: every spelling is compared, each in constant time.
        matched |= hmac.compare_digest(given, compute(token, spelling, params).encode())
    if not matched:
        raise PermissionDenied("the X-Twilio-Signature does not match this request")


def signed_url(public_url: str | None, request_url: str, path: str, query: str) -> str:
    """The URL Twilio signed: the public address (`GOPAYCARE_PUBLIC_URL`) plus the request's path and
    query when one is set, else the URL as this server saw it."""
    if not public_url:
        return request_url
    return public_url.rstrip("/") + path + (f"?{query}" if query else "")
