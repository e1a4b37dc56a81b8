"""What a file is, from its first bytes: the declared type and the file name are the sender's word,
and a browser or a viewer trusts the type we answer with, so only the magic bytes decide it.

`sniff` names the type (or None: nothing we know); `same_family` tells a declared type that merely
spells it differently (image/jpg, audio/opus, audio/x-m4a) from one that contradicts it; `safe_name`
makes a file name fit to keep and to put in a Content-Disposition header.
"""

from __future__ import annotations

import re
import unicodedata

# Every type we can recognize, with its kind (how a client shows it) and the extension of a name.
TYPES = {
    "image/jpeg": ("image", ".jpg"),
    "image/png": ("image", ".png"),
    "image/gif": ("image", ".gif"),
    "image/webp": ("image", ".webp"),
    "application/pdf": ("document", ".pdf"),
    "audio/ogg": ("audio", ".ogg"),
    "audio/mpeg": ("audio", ".mp3"),
    "audio/mp4": ("audio", ".m4a"),
    "video/mp4": ("video", ".mp4"),
    "audio/amr": ("audio", ".amr"),
    "text/plain": ("text", ".txt"),
}
# Other spellings of the same thing; MP4 audio and video are one container (a voice note may be
# declared video/mp4 and an .m4a is often plain ISO media), so they are one family.
_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
    "audio/opus": "audio/ogg", "application/ogg": "audio/ogg", "audio/vorbis": "audio/ogg", "video/ogg": "audio/ogg",
    "audio/mp3": "audio/mpeg", "audio/mpeg3": "audio/mpeg", "audio/x-mpeg": "audio/mpeg",
    "audio/m4a": "audio/mp4", "audio/x-m4a": "audio/mp4", "audio/aac": "audio/mp4", "video/mp4": "audio/mp4",
    "audio/amr-nb": "audio/amr", "audio/3gpp": "audio/amr",
    "application/x-pdf": "application/pdf",
}
_EXTENSIONS = {ext: kind for kind, (_, ext) in TYPES.items()} | {
    ".jpeg": "image/jpeg", ".opus": "audio/ogg", ".oga": "audio/ogg", ".mpeg": "audio/mpeg", ".amr": "audio/amr"}
_MP4_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"F4A ")
_NAME_MAX = 120
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')


def sniff(data: bytes) -> str | None:
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return "audio/amr"
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:12] in _MP4_AUDIO_BRANDS else "video/mp4"
    if head.startswith(b"ID3") or _mpeg_frame(head):
        return "audio/mpeg"
    return "text/plain" if _is_text(data) else None


def _mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame header: the sync bits, then a version, a layer, a bitrate and a sample rate
    that exist (a UTF-16 byte-order mark has the sync bits too)."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer, bitrate, rate = (head[1] >> 3) & 3, (head[1] >> 1) & 3, head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _is_text(data: bytes) -> bool:
    """UTF-8 without control characters (but tabs and line ends): what a person would read as text."""
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(decoded) and not any(ord(c) < 32 and c not in "\t\n\r" or c == "\x7f" for c in decoded)


def canonical(declared: str | None) -> str | None:
    """A declared type without parameters, by its family's name; None when it says nothing (absent,
    application/octet-stream) or names something we do not know."""
    kind = (declared or "").split(";")[0].strip().lower()
    kind = _ALIASES.get(kind, kind)
    return kind if kind in TYPES else None


def same_family(declared: str | None, sniffed: str) -> bool:
    """False when the sender's word contradicts the bytes (a "PDF" that is a PNG)."""
    said = canonical(declared)
    return said is None or said == _ALIASES.get(sniffed, sniffed)


def type_of_name(name: str | None) -> str | None:
    """The type a file name's extension claims, if it is one we know."""
    match = re.search(r"\.[A-Za-z0-9]{1,5}$", name or "")
    return _EXTENSIONS.get(match.group(0).lower()) if match else None


def safe_name(name: str | None, content_type: str) -> str:
    """The name without a path, control or bidirectional characters, or header syntax; bounded, and
    ending in the extension of what the file really is (a download keeps what it was sent as)."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    base = _UNSAFE.sub("_", base).strip(" .")
    extension = TYPES[content_type][1]
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", base) if type_of_name(base) else base
    stem = stem[: _NAME_MAX - len(extension)].strip(" .") or "attachment"
    return stem + extension
