"""Entities in a customer message: amounts, dates, GoPay references, phone numbers, merchant order ids
and email addresses, in Chinese, English and Bahasa Indonesia (mixed, colloquial, full-width,
Traditional characters).

`extract(text)` gives `Entity(entity, value, text, start, end)` items, in text order, that never
overlap; `start`/`end` index the ORIGINAL text (`text == original[start:end]`).

Matching runs on a folded copy (`platform.text.normalize`: full-width → half-width, lower case,
Traditional → Simplified), built one character (with its combining marks) at a time, so every folded
character knows the original characters it came from even where NFKC changes the length (ﬁ → fi).

Values:

* amount: int rupiah. "Rp50.000", "IDR 50,000", "50rb", "50 ribu", "50k", "1,5jt", "1.5 juta",
  "1jt 500rb", "50.000" (a bare number with thousands separators), "50元", "50块钱", "五十块", "五万",
  "两千五", "5万", "fifty thousand", "two million", "lima puluh ribu", "seratus ribu", "goceng".
  元/块 are rupiah in this product. A number alone ("50", "一") is not an amount; a bare whole number of 4 to
  10 digits ("95000", "480000") is one in a message about money (a payment, refund, cashback, top-up,
  transfer... word, or "Rp" nearby) or when the caller says the conversation expects one (`money=True`:
  a pending amount slot, a payment question), but never next to a code or PIN word, nor a 4-digit year.
* date: ISO "YYYY-MM-DD", the local day in `tz`, relative to `now`. Today/yesterday/the day before
  (今天 昨天 前天 大前天, hari ini, kemarin, kemarin lusa, today, yesterday), N days/weeks ago
  (3天前, 2 hari lalu, 3 days ago), weekdays (上周五: the Friday of the previous calendar week;
  "last friday" / "jumat lalu": the latest Friday before today; "friday" / 周五 alone: the latest
  Friday up to today; "this friday" / 这周五: in this week), and calendar dates (2026-11-25,
  25/11, 25/11/2026, 25 Nov, Nov 25, 25 November 2026, 11月25日, 25号, tgl 25). A date without a
  year is in the current year unless that is after today (then the year before); a day of the month
  alone ("25号", "tgl 25") likewise falls back a month. dd/mm is assumed unless only mm/dd is valid.
* transaction_reference: "GP" + 6 digits (yymmdd) + 6-10 letters or digits (the ledger issues 10 hex
  digits; older and hand-typed ones are shorter), upper-cased.
* phone: E.164 via `identity.contacts.normalize_phone` (region ID), valid numbers only.
* order_id: the id after a keyword (order #A12345, order id: ..., 订单号 123456789, no pesanan 123456,
  invoice ...) or an invoice number on its own (INV/2026/11/12345); as typed (NFKC).
* email: lower-cased.

When candidates overlap, the more specific kind wins (email, reference, order id, phone, date,
amount, in that order), then the longer match: a reference or a phone number is never also an amount.
`lang` is accepted for symmetry with the rest of the NLU; every pattern runs whatever the language,
since customers mix languages in one message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ...identity.contacts import normalize_phone
from ...platform.errors import ValidationFailed
from ...platform.text import normalize

__all__ = ["ENTITY_TYPES", "Entity", "extract"]

# Most specific first: on overlap, an earlier kind wins over a later one.
ENTITY_TYPES = ("email", "transaction_reference", "order_id", "phone", "date", "amount")
_RANK = {name: rank for rank, name in enumerate(ENTITY_TYPES)}


@dataclass(frozen=True)
class Entity:
    entity: str
    value: Any
    text: str
    start: int
    end: int

    def as_rasa(self) -> dict[str, Any]:
        return {"entity": self.entity, "value": self.value, "text": self.text, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class _Candidate:
    entity: str | None  # None: a phrase that only stops a shorter match ("minggu lalu" is not "kemarin")
    value: Any
    start: int
    end: int
    rank: int


# ---------------------------------------------------------------- folding with an offset map

# Traditional forms platform.text does not fold yet, used in amounts.
_EXTRA_FOLD = str.maketrans({"塊": "块", "貳": "贰"})


@dataclass(frozen=True)
class _Folded:
    text: str
    starts: list[int]  # per folded character: where its original character(s) start
    ends: list[int]  # ... and end

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


def _fold(original: str) -> _Folded:
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(original)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(original[j]):
            j += 1
        piece = normalize(original[i:j]).translate(_EXTRA_FOLD)
        parts.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return _Folded("".join(parts), starts, ends)


def _alternation(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# ---------------------------------------------------------------- numbers

_GROUPED_DOT = r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?"  # 50.000 / 1.500.000,00 (Indonesian)
_GROUPED_COMMA = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?"  # 50,000 / 1,500,000.00
_NUM = rf"(?:{_GROUPED_DOT}|{_GROUPED_COMMA}|\d+(?:[.,]\d+)?)"


def _number(text: str) -> Decimal:
    if re.fullmatch(_GROUPED_DOT, text):
        return Decimal(text.replace(".", "").replace(",", "."))
    if re.fullmatch(_GROUPED_COMMA, text):
        return Decimal(text.replace(",", ""))
    return Decimal(text.replace(",", "."))  # 1,5 / 1.5 / 50000


def _rupiah(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
              "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_ZH_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}


def _zh_number(text: str) -> int:
    """一万五 → 15000, 两千五 → 2500, 三百零五 → 305, 十五 → 15, 二〇二六 → 2026 (digit by digit)."""
    if text and all(c in _ZH_DIGITS for c in text):
        return int("".join(str(_ZH_DIGITS[c]) for c in text))
    total = section = number = 0
    previous_unit = 0  # the unit right before a trailing digit: 两千五 is 2500
    for ch in text:
        if ch in _ZH_DIGITS:
            number = _ZH_DIGITS[ch]
            previous_unit = 0 if number == 0 else previous_unit
        elif ch in _ZH_UNITS:
            unit = _ZH_UNITS[ch]
            section += (number or 1) * unit
            number, previous_unit = 0, unit
        else:
            big = _ZH_BIG[ch]
            section += number
            if big > 10_000:
                total = (total + section) * big
            else:
                total += section * big
            section = number = 0
            previous_unit = big
    if number and previous_unit >= 10:
        number *= previous_unit // 10
    return total + section + number


def _small_number(text: str) -> int | None:
    """A count in a relative date: digits, or a small number word in any of the languages."""
    if text.isdecimal():
        return int(text)
    if text in _COUNT_WORDS:
        return _COUNT_WORDS[text]
    if all(c in _ZH_DIGITS or c in _ZH_UNITS for c in text):
        return _zh_number(text)
    return None


_COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "se": 1, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
    "delapan": 8, "sembilan": 9, "sepuluh": 10,
}

# ---------------------------------------------------------------- amounts

_THOUSANDS = {"rb": 1000, "rbu": 1000, "rebu": 1000, "ribu": 1000, "k": 1000, "thousand": 1000}
_LATIN_SCALES = {**_THOUSANDS, "jt": 10**6, "juta": 10**6, "jeti": 10**6, "million": 10**6, "mio": 10**6,
                 "miliar": 10**9, "milyar": 10**9, "billion": 10**9}
_ZH_SCALES = {"百": 100, "千": 1000, "万": 10**4, "十万": 10**5, "百万": 10**6, "千万": 10**7, "亿": 10**8}
_LATIN_CURRENCY = r"rupiah|rp|idr|perak"
_ZH_CURRENCY = r"块钱|块(?!儿)|元|圆|印尼盾|盾"

# A scale after the number, perhaps with a smaller part: 1jt 500rb.
_SCALE_PART = (rf"(?:\s?(?P<scale>{_alternation(_LATIN_SCALES)})(?![a-z])"
               rf"(?:\s?(?P<num2>{_NUM})\s?(?P<scale2>{_alternation(_THOUSANDS)})(?![a-z]))?"
               rf"|\s?(?P<zscale>{_alternation(_ZH_SCALES)}))?")
# Rp50.000 / Rp 1,5 jt / IDR 50,000 / Rp50.000,- / ¥50
_AMOUNT_PREFIXED = re.compile(
    rf"(?<![0-9a-z])(?:rp|idr|¥)\.?\s{{0,2}}(?P<num>{_NUM}){_SCALE_PART}(?P<cur>,-|\.-)?(?![0-9])")
# 50rb / 1.5 juta / 50元 / 5万块 / 50.000 rupiah / 1jt 500rb (not the 2 juta of "1/2 juta" or "½ juta")
_AMOUNT_SUFFIXED = re.compile(
    rf"(?<![0-9a-z.,/\u2044])(?P<num>{_NUM}){_SCALE_PART}"
    rf"(?:\s?(?P<cur>{_LATIN_CURRENCY})(?![a-z])|\s?(?P<zcur>{_ZH_CURRENCY}))?")
# 150.000 / 1,000,000 alone
_AMOUNT_GROUPED = re.compile(r"(?<![0-9a-z.,])(?:[1-9]\d{0,2}(?:\.\d{3})+(?:,\d{1,2})?"
                             r"|[1-9]\d{0,2}(?:,\d{3})+(?:\.\d{1,2})?)(?![0-9]|[.,]\d)")
# 五十块 / 五万 / 两千五 (an amount when a currency or 千/万/亿 says so; not 千万 "by all means")
_ZH_NUMERAL_START = "零〇一二两三四五六七八九十壹贰叁肆伍陆柒捌玖拾"
_AMOUNT_ZH = re.compile(
    rf"(?<!第)(?P<zh>[{_ZH_NUMERAL_START}][{_ZH_NUMERAL_START}百千万亿佰仟]*)(?P<zcur>{_ZH_CURRENCY})?")

_WORD_VALUES = {
    "zero": 0, "one": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8,
    "sembilan": 9, "sepuluh": 10, "sebelas": 11, "seratus": 100, "setengah": Decimal("0.5"),
}
_WORD_SCALES = {"thousand": 1000, "ribu": 1000, "rb": 1000, "rebu": 1000, "million": 10**6, "juta": 10**6,
                "jt": 10**6, "billion": 10**9, "miliar": 10**9, "milyar": 10**9}
_WORD_SE_SCALES = {"seribu": 1000, "sejuta": 10**6, "semiliar": 10**9}
_WORD_HUNDREDS = {"hundred": 100, "ratus": 100}
_NUMBER_WORDS = {**_WORD_VALUES, **_WORD_SCALES, **_WORD_SE_SCALES, **_WORD_HUNDREDS, "puluh": 10, "belas": 10}
_WORD_TOKEN = rf"(?:{_alternation(_NUMBER_WORDS)})(?![a-z])"
_AMOUNT_WORDS = re.compile(rf"(?<![a-z]){_WORD_TOKEN}(?:(?:\s+|\s*-\s*)(?:{_WORD_TOKEN}|and(?![a-z])))*"
                           rf"(?:\s+(?P<cur>{_LATIN_CURRENCY})(?![a-z]))?")
_WORD_TOKENS = re.compile(r"[a-z]+")
# Jakarta slang for notes.
_SLANG = {"cepek": 100, "gopek": 500, "seceng": 1000, "noceng": 2000, "goceng": 5000, "ceban": 10_000,
          "goban": 50_000}
_AMOUNT_SLANG = re.compile(rf"(?<![a-z])(?:{_alternation(_SLANG)})(?![a-z])")


def _scaled_amounts(pattern: re.Pattern[str], text: str, *, needs_unit: bool) -> Iterator[tuple[int, int, int]]:
    """(rupiah, start, end) of a number with a scale and/or a currency. "1jt 500rb" is one amount;
    "50rb 20rb" matches like it but is two, so the search goes on from where the first one ends."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        value, end, whole = _number(m.group("num")), m.end("num"), True
        scale = 1
        if m.group("scale"):
            scale, end = _LATIN_SCALES[m.group("scale")], m.end("scale")
        elif m.group("zscale"):
            scale, end = _ZH_SCALES[m.group("zscale")], m.end("zscale")
        value *= scale
        if m.group("num2"):
            if scale > _THOUSANDS[m.group("scale2")]:
                value += _number(m.group("num2")) * _THOUSANDS[m.group("scale2")]
                end = m.end("scale2")
            else:
                whole = False
        currency = m.groupdict().get("cur") or m.groupdict().get("zcur")
        if whole and currency:
            end = m.end()
        pos = max(end, m.start() + 1)
        if needs_unit and scale == 1 and not (whole and currency):
            continue
        yield _rupiah(value), m.start(), end


def _words_amount(tokens: list[str]) -> Decimal | None:
    """fifty thousand / two hundred and fifty thousand / dua ratus lima puluh ribu / satu setengah juta."""
    if tokens[0] not in _WORD_VALUES and tokens[0] not in _WORD_SE_SCALES:
        return None
    total = current = Decimal(0)
    last: Decimal | None = None
    for i, token in enumerate(tokens):
        if token == "and":
            continue
        if token == "a" and (i + 1 >= len(tokens) or tokens[i + 1] not in {**_WORD_SCALES, **_WORD_HUNDREDS}):
            return None
        if token in _WORD_VALUES:
            last = Decimal(_WORD_VALUES[token])
            current += last
        elif token == "belas":  # dua belas: 12
            if last is None:
                return None
            current += 10
            last += 10
        elif token == "puluh":  # dua puluh: 20
            if last is None:
                return None
            current += last * 9
            last *= 10
        elif token in _WORD_HUNDREDS:  # two hundred, dua ratus
            if last is None:
                current, last = current + 100, Decimal(100)
            else:
                current += last * 99
                last *= 100
        elif token in _WORD_SE_SCALES:  # seribu, sejuta
            total += (current or 1) * _WORD_SE_SCALES[token]
            current, last = Decimal(0), None
        else:
            total += (current or 1) * _WORD_SCALES[token]
            current, last = Decimal(0), None
    return total + current


# Words that make a bare number a sum of money: the customer is talking about a payment.
_MONEY_CONTEXT = re.compile(
    r"(?<![a-z])(?:pay|paid|payment|payments|pembayaran|bayar|byr|dibayar|transaksi|trx|transaction|charged?|"
    r"debited|refund|refunded|cashback|cash\s+back|top\s?up|topup|isi\s+saldo|transfer|tf|withdraw|withdrawal|"
    r"tarik|saldo|balance|amount|nominal|harga|price|spent|spend|belanja|purchase|bought|beli|rp|rupiah|idr)"
    r"(?![a-z])|付|支付|花了|扣|转账|退款|返现|充值|提现|金额|那笔|块钱|元")
# ... unless the number is a code or a PIN the customer is quoting.
_CODE_CONTEXT = re.compile(r"(?<![a-z])(?:code|kode|otp|pin|sandi|password)(?![a-z])|验证码|密码")
_BARE_NUMBER = re.compile(r"(?<![0-9a-z.,/:\-])(\d{4,10})(?![0-9a-z%]|[.,/:\-]\d)")


def _bare_amounts(text: str, money: bool) -> Iterator[tuple[str, Any, int, int]]:
    if not (money or _MONEY_CONTEXT.search(text)) or _CODE_CONTEXT.search(text):
        return
    for m in _BARE_NUMBER.finditer(text):
        digits = m.group(1)
        if len(digits) == 4 and 1900 <= int(digits) <= 2099:
            continue  # a year, not Rp2.026
        yield "amount", int(digits), m.start(), m.end()


def _amounts(f: _Folded, money: bool = False) -> Iterator[tuple[str, Any, int, int]]:
    text = f.text
    yield from _bare_amounts(text, money)
    for value, start, end in _scaled_amounts(_AMOUNT_PREFIXED, text, needs_unit=False):
        yield "amount", value, start, end
    for value, start, end in _scaled_amounts(_AMOUNT_SUFFIXED, text, needs_unit=True):
        yield "amount", value, start, end
    for m in _AMOUNT_GROUPED.finditer(text):
        yield "amount", _rupiah(_number(m.group())), m.start(), m.end()
    for m in _AMOUNT_ZH.finditer(text):
        numeral, currency = m.group("zh"), m.group("zcur")
        if currency == "块" and numeral == "一":  # 一块 is also "together"
            continue
        if currency or set(numeral) & set("千万亿仟"):
            yield "amount", _zh_number(numeral), m.start(), m.end()
    for m in _AMOUNT_WORDS.finditer(text):
        words = [(w.group(), w.start(), w.end())
                 for w in _WORD_TOKENS.finditer(text, m.start(), m.end("cur") if m.group("cur") else m.end())]
        if m.group("cur"):
            words.pop()
        while words and words[-1][0] == "and":
            words.pop()
        if not words:
            continue
        tokens = [w for w, _, _ in words]
        has_scale = any(t in _WORD_SCALES or t in _WORD_SE_SCALES for t in tokens)
        if not (has_scale or m.group("cur")):
            continue
        value = _words_amount(tokens)
        if value is not None:
            yield "amount", _rupiah(value), m.start(), m.end() if m.group("cur") else words[-1][2]
    for m in _AMOUNT_SLANG.finditer(text):
        yield "amount", _SLANG[m.group()], m.start(), m.end()


# ---------------------------------------------------------------- dates

_EN_WEEKDAYS = {"monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3, "wed": 3,
                "thursday": 4, "thu": 4, "thur": 4, "thurs": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6,
                "sunday": 7, "sun": 7}
_EN_FULL_WEEKDAYS = [w for w in _EN_WEEKDAYS if w.endswith("day")]
_ID_WEEKDAYS = {"senin": 1, "selasa": 2, "rabu": 3, "kamis": 4, "jumat": 5, "jum'at": 5, "jum’at": 5,
                "jumaat": 5, "sabtu": 6, "minggu": 7, "ahad": 7}
_ZH_WEEKDAYS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_MONTHS = {
    "january": 1, "januari": 1, "jan": 1, "february": 2, "februari": 2, "pebruari": 2, "feb": 2, "march": 3,
    "maret": 3, "mar": 3, "april": 4, "apr": 4, "may": 5, "mei": 5, "june": 6, "juni": 6, "jun": 6, "july": 7,
    "juli": 7, "jul": 7, "august": 8, "agustus": 8, "aug": 8, "agu": 8, "agt": 8, "ags": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oktober": 10, "oct": 10, "okt": 10, "november": 11, "nov": 11,
    "nop": 11, "december": 12, "desember": 12, "dec": 12, "des": 12,
}
_MONTH = rf"(?P<month>{_alternation(_MONTHS)})(?![a-z])\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"
_YESTERDAY_ID = r"(?:kemarin|kemaren|kmrn|kmarin|kmaren|kemarn|kmren)"
_AGO_ID = rf"(?:lalu|yll|lewat|{_YESTERDAY_ID}|(?:yang|yg)\s+lalu)"
_BLOCK = object()  # a handler's answer for "not a date, and no shorter date inside either"


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _latest(today: date, weekday: int, *, before_today: bool) -> date:
    """The latest `weekday` up to today (or strictly before it)."""
    back = (today.isoweekday() - weekday) % 7
    if back == 0 and before_today:
        back = 7
    return today - timedelta(days=back)


def _in_week(today: date, weekday: int, weeks: int = 0) -> date:
    """`weekday` of this calendar week (Monday first), or of `weeks` weeks later/earlier."""
    monday = today - timedelta(days=today.isoweekday() - 1)
    return monday + timedelta(weeks=weeks, days=weekday - 1)


def _next(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.isoweekday()) % 7 or 7)


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = _zh_number(text) if not text.isdecimal() else int(text)
    return year + 2000 if year < 100 else year


def _calendar(today: date, day: int, month: int, year: int | None) -> date | None:
    """A calendar date; without a year the latest one up to today."""
    if year is not None:
        return _date(year, month, day)
    found = _date(today.year, month, day)
    if found is None or found > today:
        found = _date(today.year - 1, month, day)
    return found


def _day_of_month(today: date, day: int) -> date | None:
    """The `day` of this month, or of last month when that is still to come."""
    found = _date(today.year, today.month, day)
    if found is not None and found <= today:
        return found
    first = today.replace(day=1) - timedelta(days=1)
    return _date(first.year, first.month, day)


def _numeric(today: date, a: int, b: int, year: int | None) -> date | None:
    """dd/mm, unless only mm/dd makes sense (11/25)."""
    day, month = (b, a) if a <= 12 < b else (a, b)
    return _calendar(today, day, month, year)


def _num(m: re.Match[str], group: str) -> int:
    text = m.group(group)
    return int(text) if text.isdecimal() else _zh_number(text)


_DateRule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Any]]
_ZH_COUNT = r"\d{1,3}|[一二两三四五六七八九十]{1,3}"
_ZH_DAY = r"\d{1,2}|[一二三四五六七八九十]{1,3}"
_ZH_RELATIVE = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨儿": -1, "今天": 0, "今日": 0, "今儿": 0,
                "明天": 1, "明日": 1, "后天": 2}
_ZH_WEEK_SHIFT = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1}
# 一 starts many words: 这周一直 is "all this week", not "this Monday".
_NOT_MONDAY = frozenset("直下样定般些点共切旦起会")
# 上周五 / 上个星期五 / 这周一 / 下礼拜天 / 周五 (not 每周五, "every Friday")
_ZH_WEEK = re.compile(r"(?<!每)(?:(?P<shift>上上|上|下|这|本)个?)?(?:周|星期|礼拜)(?P<day>[一二三四五六日天])")


def _zh_weekday(m: re.Match[str], today: date, text: str) -> Any:
    weekday = _ZH_WEEKDAYS[m.group("day")]
    if m.group("day") == "一" and text[m.end():m.end() + 1] in _NOT_MONDAY:
        return _BLOCK
    shift = m.group("shift")
    if shift is None:
        return _latest(today, weekday, before_today=False)
    return _in_week(today, weekday, _ZH_WEEK_SHIFT[shift])


def _en_weekday(m: re.Match[str], today: date) -> date:
    weekday, which = _EN_WEEKDAYS[m.group("day")], m.group("which")
    if which in ("last", "past"):
        return _latest(today, weekday, before_today=True)
    if which == "this":
        return _in_week(today, weekday)
    if which == "next":
        return _next(today, weekday)
    return _latest(today, weekday, before_today=False)  # on friday


def _id_weekday(m: re.Match[str], today: date) -> Any:
    day, which = m.group("day"), m.group("which")
    if day == "minggu" and not m.group().startswith("hari"):
        return _BLOCK  # "minggu lalu" is last week
    weekday = _ID_WEEKDAYS[day]
    if which == "ini":
        return _in_week(today, weekday)
    if which == "depan":
        return _in_week(today, weekday, 1)
    return _latest(today, weekday, before_today=True)


# A number followed by one of these is a range or a count, not a date: "1-2 hari", "1/2 juta".
_NOT_A_DATE_AFTER = (r"(?!\s*(?:hari|hr|jam|menit|mnt|minggu|bulan|tahun|kali|x|days?|hours?|hrs?|minutes?|mins?"
                     r"|weeks?|months?|years?|times|rb|ribu|k|jt|juta|million|thousand)(?![a-z])"
                     r"|\s*(?:天|小时|分钟|周|个|次|万|千|块|元))")

_DATE_RULES: list[_DateRule] = [
    # ---- Chinese
    (re.compile(_alternation(_ZH_RELATIVE)),
     lambda m, today: today + timedelta(days=_ZH_RELATIVE[m.group()])),
    (re.compile(rf"(?P<n>{_ZH_COUNT})\s?个?(?P<unit>天|日|周|星期|礼拜)(?:以|之)?前"),
     lambda m, today: today - timedelta(days=_num(m, "n") * (1 if m.group("unit") in "天日" else 7))),
    (re.compile(rf"(?:(?P<year>\d{{4}}|[零〇一二三四五六七八九]{{4}})\s?年\s?)?(?P<month>{_ZH_DAY})\s?月\s?"
                rf"(?P<day>{_ZH_DAY})\s?[日号]"),
     lambda m, today: _calendar(today, _num(m, "day"), _num(m, "month"), _year(m.group("year")))),
    (re.compile(r"(?<![0-9月])(?:(?P<day>\d{1,2})\s?[号日]|(?P<zday>[一二三四五六七八九十]{1,3})号)"),
     lambda m, today: _day_of_month(today, int(m.group("day")) if m.group("day") else _zh_number(m.group("zday")))),
    # ---- English
    (re.compile(r"(?<![a-z])(?:today|tonight|this\s+(?:morning|afternoon|evening))(?![a-z])"), lambda m, today: today),
    (re.compile(r"(?<![a-z])(?:yesterday|yday|last\s+night)(?![a-z])"), lambda m, today: today - timedelta(1)),
    (re.compile(r"(?<![a-z])(?:the\s+)?day\s+before\s+yesterday(?![a-z])"), lambda m, today: today - timedelta(2)),
    (re.compile(r"(?<![a-z])(?:tomorrow|tmr|tmrw)(?![a-z])"), lambda m, today: today + timedelta(1)),
    (re.compile(r"(?<![a-z0-9])(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
                r"(?P<unit>days?|weeks?)\s+ago(?![a-z])"),
     lambda m, today: today - timedelta(days=_small_number(m.group("n")) * (7 if m.group("unit")[0] == "w" else 1))),
    (re.compile(rf"(?<![a-z])(?P<which>last|past|this|next|on)\s+(?P<day>{_alternation(_EN_WEEKDAYS)})(?![a-z])\.?"),
     lambda m, today: _en_weekday(m, today)),
    (re.compile(rf"(?<![a-z])(?P<day>{_alternation(_EN_FULL_WEEKDAYS)})(?![a-z])"),
     lambda m, today: _latest(today, _EN_WEEKDAYS[m.group("day")], before_today=False)),
    # ---- Indonesian
    (re.compile(r"(?<![a-z])hari\s+ini(?![a-z])"), lambda m, today: today),
    (re.compile(rf"(?<![a-z]){_YESTERDAY_ID}(?:\s+lusa)?(?![a-z])"),
     lambda m, today: today - timedelta(days=2 if m.group().endswith("lusa") else 1)),
    (re.compile(r"(?<![a-z])(?:besok|bsk|besuk)(?![a-z])"), lambda m, today: today + timedelta(1)),
    (re.compile(r"(?<![a-z])lusa(?![a-z])"), lambda m, today: today + timedelta(2)),
    (re.compile(rf"(?<![a-z0-9])(?:(?P<n>\d{{1,3}}|satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh)\s*"
                rf"|(?P<se>se))(?P<unit>hari|hr|minggu|mgg|pekan)\s+{_AGO_ID}(?![a-z])"),
     lambda m, today: today - timedelta(
         days=(1 if m.group("se") else _small_number(m.group("n"))) * (1 if m.group("unit") in ("hari", "hr") else 7))),
    (re.compile(rf"(?<![a-z])(?:hari\s+)?(?P<day>{_alternation(_ID_WEEKDAYS)})\s+(?P<which>{_AGO_ID}|ini|depan)(?![a-z])"),
     lambda m, today: _id_weekday(m, today)),
    (re.compile(rf"(?<![a-z])hari\s+(?P<day>{_alternation(_ID_WEEKDAYS)})(?![a-z])"),
     lambda m, today: _latest(today, _ID_WEEKDAYS[m.group("day")], before_today=False)),
    # minggu alone is usually "week", not Sunday
    (re.compile(rf"(?<![a-z])(?P<day>{_alternation(d for d in _ID_WEEKDAYS if d != 'minggu')})(?![a-z])"),
     lambda m, today: _latest(today, _ID_WEEKDAYS[m.group("day")], before_today=False)),
    # last week / month / year: not a day, and its "kemarin" is not yesterday
    (re.compile(rf"(?<![a-z])(?:minggu|mgg|pekan|bulan|bln|tahun|thn)\s+(?:{_AGO_ID}|ini|depan)(?![a-z])"),
     lambda m, today: _BLOCK),
    # ---- calendar dates, any language
    (re.compile(r"(?<![0-9/.\-])(?P<year>\d{4})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
                r"(?![0-9]|[/\-]\d)"),
     lambda m, today: _date(int(m.group("year")), int(m.group("month")), int(m.group("day")))),
    (re.compile(r"(?<![0-9/.\-])(?P<a>\d{1,2})(?P<sep>[/\-.])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})"
                r"(?![0-9]|[/\-.]\d)"),
     lambda m, today: _numeric(today, int(m.group("a")), int(m.group("b")), _year(m.group("year")))),
    (re.compile(r"(?<![0-9/.\-])(?P<a>\d{1,2})[/\-](?P<b>\d{1,2})(?![0-9]|[/\-.]\d)" + _NOT_A_DATE_AFTER),
     lambda m, today: None if m.group() == "24/7" else _numeric(today, int(m.group("a")), int(m.group("b")), None)),
    (re.compile(rf"(?<![0-9])(?P<day>\d{{1,2}}){_ORDINAL}\s*(?:of\s+)?{_MONTH}(?:,?\s*(?P<year>\d{{4}}))?(?![0-9])"),
     lambda m, today: _calendar(today, int(m.group("day")), _MONTHS[m.group("month")], _year(m.group("year")))),
    (re.compile(rf"(?<![a-z]){_MONTH}\s*(?P<day>\d{{1,2}})(?P<ordinal>st|nd|rd|th)?(?![0-9])"
                rf"(?:,?\s*(?P<year>\d{{4}})(?![0-9]))?"),
     # "may 2" is a month only with an ordinal or a year ("I may 2 ..." is not)
     lambda m, today: None if m.group("month") == "may" and not (m.group("ordinal") or m.group("year"))
     else _calendar(today, int(m.group("day")), _MONTHS[m.group("month")], _year(m.group("year")))),
    (re.compile(rf"(?<![a-z])(?:tanggal|tgl\.?|tg\.?)\s*(?P<day>\d{{1,2}})(?![0-9])(?!\s*[/\-.]\s*\d)"
                rf"(?!{_ORDINAL}\s*(?:of\s+)?(?:{_alternation(_MONTHS)})(?![a-z]))"),
     lambda m, today: _day_of_month(today, int(m.group("day")))),
]


def _dates(f: _Folded, today: date) -> Iterator[tuple[str | None, Any, int, int]]:
    for pattern, handler in _DATE_RULES:
        for m in pattern.finditer(f.text):
            found = handler(m, today)
            if found is _BLOCK:
                yield None, None, m.start(), m.end()
            elif found is not None:
                yield "date", found.isoformat(), m.start(), m.end()
    for m in _ZH_WEEK.finditer(f.text):
        found = _zh_weekday(m, today, f.text)
        if found is _BLOCK:
            yield None, None, m.start(), m.end()
        else:
            yield "date", found.isoformat(), m.start(), m.end()


# ---------------------------------------------------------------- references, phones, orders, emails

_REFERENCE = re.compile(r"(?<![0-9a-z])gp\d{6}[0-9a-z]{6,10}(?![0-9a-z])")
_PHONE = re.compile(r"(?<![0-9a-z+])(?:\+ ?[1-9]\d{0,2}|62|0)(?:[ .\-]?\d){7,13}(?![0-9])")
_EMAIL = re.compile(r"(?<![a-z0-9._%+\-])[a-z0-9][a-z0-9._%+\-]*@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
                    r"(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}(?![a-z0-9\-])")
_ORDER_KEYWORD = (r"(?:(?<![a-z])(?:order\s*(?:id|no\.?|number|num|ref)?|(?:no|nomor|nomer|id|kode)\.?\s*"
                  r"(?:pesanan|order|invoice|inv|psn)|pesanan|invoice\s*(?:no\.?|number)?)(?:nya)?"
                  r"|订单号码|订单编号|订单号|订单id|订单|单号)")
_ORDER = re.compile(rf"{_ORDER_KEYWORD}\s*(?:(?:saya|sy|ku|my|is|adalah|:|#|=|是|为)\s*)*"
                    rf"(?P<id>[a-z0-9](?:[a-z0-9\-_/]*[a-z0-9])?)(?![a-z0-9])(?!\s*(?:{_ZH_CURRENCY}|(?:rupiah|rp|idr)(?![a-z])))")
_INVOICE = re.compile(r"(?<![a-z0-9/\-])inv(?P<sep>[/\-])[a-z0-9]+(?:(?P=sep)[a-z0-9]+){1,6}(?![a-z0-9/\-])")
_AMOUNT_LIKE_ID = re.compile(rf"\d+(?:{_alternation(_LATIN_SCALES)})")


def _references(f: _Folded) -> Iterator[tuple[str, Any, int, int]]:
    for m in _REFERENCE.finditer(f.text):
        yield "transaction_reference", m.group().upper(), m.start(), m.end()


def _phones(f: _Folded) -> Iterator[tuple[str, Any, int, int]]:
    for m in _PHONE.finditer(f.text):
        raw = m.group()
        # The longest valid number, cutting at separators: "0812 3456 7890 50" is 0812 3456 7890.
        ends = [i for i in range(len(raw), 0, -1) if raw[i - 1].isdigit() and (i == len(raw) or not raw[i].isdigit())]
        for end in ends:
            digits = re.sub(r"\D", "", raw[:end])
            if len(digits) < 9:
                break
            try:
                phone = normalize_phone(("+" if raw.startswith("+") else "") + digits)
            except ValidationFailed:
                continue
            yield "phone", phone, m.start(), m.start() + end
            break


def _orders(f: _Folded, original: str) -> Iterator[tuple[str, Any, int, int]]:
    def as_typed(start: int, end: int) -> str:
        o_start, o_end = f.span(start, end)
        return unicodedata.normalize("NFKC", original[o_start:o_end])

    for m in _ORDER.finditer(f.text):
        order_id = m.group("id")
        digits = sum(c.isdigit() for c in order_id)
        if digits < 3 or len(order_id) < 4 or (order_id.isdigit() and len(order_id) < 5):
            continue
        if _AMOUNT_LIKE_ID.fullmatch(order_id):
            continue
        yield "order_id", as_typed(m.start("id"), m.end("id")), m.start("id"), m.end("id")
    for m in _INVOICE.finditer(f.text):
        if sum(c.isdigit() for c in m.group()) >= 4:
            yield "order_id", as_typed(m.start(), m.end()), m.start(), m.end()


def _emails(f: _Folded) -> Iterator[tuple[str, Any, int, int]]:
    for m in _EMAIL.finditer(f.text):
        yield "email", m.group(), m.start(), m.end()


# ---------------------------------------------------------------- extract


def _today(now: datetime | None, tz: str) -> date:
    zone = ZoneInfo(tz)
    if now is None:
        return datetime.now(zone).date()
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(zone).date()


def extract(text: str, lang: str | None = None, *, now: datetime | None = None,
            tz: str = "Asia/Jakarta", money: bool = False) -> list[Entity]:
    """The entities of a message, in text order, never overlapping; offsets index `text` itself.

    `now` (default: the current time) anchors relative dates, read in `tz` (a naive `now` is taken
    as local time in `tz`). `money`: the conversation expects a sum (bare numbers are amounts)."""
    if not text:
        return []
    folded = _fold(text)
    found = [*_emails(folded), *_references(folded), *_orders(folded, text), *_phones(folded),
             *_dates(folded, _today(now, tz)), *_amounts(folded, money)]
    candidates = [_Candidate(kind, value, start, end, _RANK[kind or "date"]) for kind, value, start, end in found]
    candidates.sort(key=lambda c: (c.rank, -(c.end - c.start), c.start))
    chosen: list[_Candidate] = []
    for c in candidates:
        if c.end > c.start and not any(c.start < o.end and o.start < c.end for o in chosen):
            chosen.append(c)
    entities: list[Entity] = []
    for c in sorted(chosen, key=lambda c: c.start):
        if c.entity is None:
            continue
        start, end = folded.span(c.start, c.end)
        if entities and start < entities[-1].end:
            continue  # both ends inside one original character that folds to several (½ → 1⁄2)
        entities.append(Entity(c.entity, c.value, text[start:end], start, end))
    return entities
