"""Article files: one markdown file per article with a YAML front matter and one section per language.

The format is described in `articles/README.md`. This module only reads and checks files; writing to
the database is `loading.py`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..platform.errors import ValidationFailed
from ..platform.i18n import LANGUAGES
from ..vocabulary import SERVICE_AREAS

# Articles are grouped by the help desk's service areas.
AREAS = SERVICE_AREAS
STATUSES = ("draft", "published", "archived")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
INTENT = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
MAX_SLUG = 80
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_INTENTS = 20

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)
_LANG_MARKER = re.compile(r"^<!--[ \t]*lang:[ \t]*([A-Za-z-]+)[ \t]*-->[ \t]*$", re.M)
_TITLE = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$")
_META_KEYS = {"slug", "area", "intents", "status"}


@dataclass(frozen=True)
class ArticleSource:
    """One article as read from a file (or given by an editor): texts are (title, markdown body)."""

    slug: str
    area: str
    intents: tuple[str, ...]
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    status: str = "published"
    path: str | None = None


def clean_body(body: str) -> str:
    """Line endings unified, trailing spaces and surrounding blank lines dropped: the form stored and
    compared, so a file saved by another editor is not a new version."""
    lines = [line.rstrip() for line in (body or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def clean_title(title: str) -> str:
    return " ".join((title or "").split())


def check_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG.match(slug) or len(slug) > MAX_SLUG:
        raise ValidationFailed("a slug is 1 to 80 lower-case letters, digits and single hyphens",
                               field="slug", value=str(slug)[:100])
    return slug


def check_area(area: object) -> str:
    if area not in AREAS:
        raise ValidationFailed(f"area must be one of {', '.join(AREAS)}", field="area", value=str(area)[:40])
    return str(area)


def check_intents(intents: object) -> tuple[str, ...]:
    if not isinstance(intents, (list, tuple)) or len(intents) > MAX_INTENTS:
        raise ValidationFailed(f"intents is a list of at most {MAX_INTENTS} intent names", field="intents")
    seen: dict[str, None] = {}
    for name in intents:
        if not isinstance(name, str) or not INTENT.match(name):
            raise ValidationFailed("an intent name is lower-case letters, digits and underscores",
                                   field="intents", value=str(name)[:60])
        seen[name] = None
    return tuple(seen)


def check_language(lang: object) -> str:
    """A language of the knowledge base, exactly (zh-CN, en or id; case and _ forgiven)."""
    if isinstance(lang, str):
        wanted = lang.strip().replace("_", "-").lower()
        for known in LANGUAGES:
            if known.lower() == wanted:
                return known
    raise ValidationFailed(f"language must be one of {', '.join(LANGUAGES)}", field="lang", value=str(lang)[:20])


def check_text(lang: str, title: object, body: object) -> tuple[str, str]:
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValidationFailed("a text needs a title and a body", field=f"texts.{lang}")
    title, body = clean_title(title), clean_body(body)
    if not title or len(title) > MAX_TITLE:
        raise ValidationFailed(f"a title is 1 to {MAX_TITLE} characters", field=f"texts.{lang}.title")
    if not body.strip() or len(body) > MAX_BODY:
        raise ValidationFailed(f"a body is 1 to {MAX_BODY} characters of markdown", field=f"texts.{lang}.body")
    return title, body


def parse_article(text: str, *, source: str = "<text>") -> ArticleSource:
    """Read one article file's text; raises ValidationFailed (with the file in the details)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        return _parse(text)
    except ValidationFailed as exc:
        raise ValidationFailed(f"{source}: {exc.message}", code="kb_file_invalid", file=source,
                               **exc.details) from None


def _parse(text: str) -> ArticleSource:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ValidationFailed("the file must start with a YAML front matter between two --- lines")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"the front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ValidationFailed("the front matter must be a mapping")
    unknown = sorted(set(meta) - _META_KEYS)
    if unknown:
        raise ValidationFailed(f"unknown front matter keys: {', '.join(map(str, unknown))}")
    for key in ("slug", "area", "intents"):
        if key not in meta:
            raise ValidationFailed(f"the front matter needs {key!r}")
    status = meta.get("status", "published")
    if status not in STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(STATUSES)}", field="status")

    rest = text[match.end():]
    pieces = _LANG_MARKER.split(rest)
    if pieces[0].strip():
        raise ValidationFailed("text before the first <!-- lang: xx --> marker")
    texts: dict[str, tuple[str, str]] = {}
    for marker, section in zip(pieces[1::2], pieces[2::2], strict=True):
        lang = check_language(marker)
        if lang in texts:
            raise ValidationFailed(f"two sections for {lang}")
        section = clean_body(section)
        first, _, body = section.partition("\n")
        title = _TITLE.match(first)
        if not title:
            raise ValidationFailed(f"the {lang} section must start with a '# Title' line")
        texts[lang] = check_text(lang, title.group(1), body)
    if not texts:
        raise ValidationFailed("no language sections (<!-- lang: zh-CN --> ...)")
    return ArticleSource(slug=check_slug(meta["slug"]), area=check_area(meta["area"]),
                         intents=check_intents(meta["intents"] or []), texts=texts, status=status)


def read_directory(path: str | Path) -> list[ArticleSource]:
    """Every `<area>/<slug>.md` under `path`, checked: the folder is the area, the file name the slug,
    no slug twice. Any problem raises before anything is returned."""
    root = Path(path)
    if not root.is_dir():
        raise ValidationFailed(f"{root} is not a directory", code="kb_directory_missing")
    articles: list[ArticleSource] = []
    seen: dict[str, str] = {}
    for file in sorted(root.glob("*/*.md")):
        rel = file.relative_to(root).as_posix()
        article = parse_article(file.read_text(encoding="utf-8"), source=rel)
        if article.slug != file.stem or article.area != file.parent.name:
            raise ValidationFailed(f"{rel}: slug and area must match the file name and its folder "
                                   f"(<area>/<slug>.md)", code="kb_file_invalid", file=rel)
        if article.slug in seen:
            raise ValidationFailed(f"{rel}: slug {article.slug!r} is also in {seen[article.slug]}",
                                   code="kb_file_invalid", file=rel)
        seen[article.slug] = rel
        articles.append(ArticleSource(article.slug, article.area, article.intents, article.texts,
                                      article.status, rel))
    return articles
