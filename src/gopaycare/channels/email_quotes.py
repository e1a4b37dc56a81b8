"""The new part of a reply: mail clients quote the whole history below (or, with ">", inside) what
the customer wrote; agents and the assistant read only what is new. The full text is kept beside it
(`email_inbound.py`), so nothing is lost.

Recognized: Gmail's and Apple Mail's "On <date>, <name> wrote:" (also in Indonesian and Chinese, and
folded over two lines), Outlook's "-----Original Message-----" and its "From: / Sent:" block under a
rule, and ">"-quoted lines.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(On\s.{0,300}\swrote:|Pada\s.{0,300}\smenulis:|在.{0,300}写道[:：]|Le\s.{0,300}\sa écrit\s?:)\s*$",
    re.IGNORECASE | re.DOTALL)
_OUTLOOK_RULE = re.compile(r"^\s*(-{2,}\s*(Original Message|Pesan Asli|原始邮件)\s*-{2,}|_{20,})\s*$", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\s*\**(From|Dari|发件人)\s*:?\**\s*:?", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(r"^\s*\**(Sent|Date|Dikirim|Tanggal|发送时间|日期)\s*:?\**\s*:?", re.IGNORECASE)


def new_text(full: str) -> str:
    """What the customer wrote above the quoted history; the whole text when nothing else is left."""
    lines = full.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _history_start(lines)
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    result = "\n".join(kept).strip()
    return result or full.strip()


def _history_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _ATTRIBUTION.match(line) or (i + 1 < len(lines) and _ATTRIBUTION.match(f"{line} {lines[i + 1]}")
                                        and not line.lstrip().startswith(">")):
            return i
        if _OUTLOOK_RULE.match(line):
            return i
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_SENT.match(nxt) for nxt in lines[i + 1:i + 3]):
            return i
    return len(lines)
