"""GOPAYCARE_SECRET_KEY: refused for `serve` while it is the development default; made once for the demo.

The key makes the keyed hashes of tokens, codes and ID numbers, and (derived) seals channel secrets
and signs visitor tokens. The default is public, so with it an ID number's hash (16 digits, the last
4 stored beside it) can be reversed offline in seconds: `serve` refuses it unless
GOPAYCARE_ALLOW_DEV_SECRET_KEY=true says this is a development machine. `demo` (the README's
`make run`) instead makes a random key the first time and keeps it beside its database (mode 0600),
and every command run against that database without a key set reads it from there, so the demo
server, `gopaycare tokens create` and `gopaycare outbox` agree.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .settings import DEV_SECRET_KEY, Settings, SettingsError

SUFFIX = ".secret-key"


def key_path(settings: Settings) -> Path:
    """Beside a SQLite database file (`gopaycare.db.secret-key`); in the working directory otherwise."""
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path + SUFFIX)
    return Path("gopaycare" + SUFFIX)


def with_stored_key(settings: Settings) -> Settings:
    """The settings with the key a demo stored beside the database, when no key was set."""
    if settings.secret_key != DEV_SECRET_KEY:
        return settings
    path = key_path(settings)
    if not path.is_file():
        return settings
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise SettingsError(f"{path} does not hold a secret key (delete it, or set GOPAYCARE_SECRET_KEY)")
    return settings.model_copy(update={"secret_key": key})


def ensure_demo_key(settings: Settings) -> Settings:
    """For the demo: the key set, or the one stored beside the database, or a new random one stored
    there now (readable by this user only)."""
    settings = with_stored_key(settings)
    if settings.secret_key != DEV_SECRET_KEY:
        return settings
    path = key_path(settings)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return with_stored_key(settings)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    return settings.model_copy(update={"secret_key": key})


def check_serving_key(settings: Settings) -> None:
    """Refuse to serve with the public development key unless told this is a development machine."""
    if settings.secret_key == DEV_SECRET_KEY and not settings.allow_dev_secret_key:
        raise SettingsError(
            "GOPAYCARE_SECRET_KEY is not set: the development default is public, and ID numbers hashed with it "
            "can be recovered. Set GOPAYCARE_SECRET_KEY to a long random value (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'), or GOPAYCARE_ALLOW_DEV_SECRET_KEY=true on a development machine.")
