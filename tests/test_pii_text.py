"""The personal-data detector (platform/pii.py): the spellings people really type are masked, the
numbers a wallet's desk lives on (references, amounts, dates) stay readable, masking is idempotent,
and `personal_data` (the public-reply guard) sees exactly what `mask_text` masks."""

from __future__ import annotations

import pytest

from gopaycare.platform.pii import luhn_valid, mask_text, mask_value, personal_data

MASKED = [
    ("my number is 0812.9999.1234", "my number is 0812****1234", "phone"),
    ("+62 (812) 9999 1234", "0812****1234", "phone"),
    ("+62 812-9999-1234 ya", "0812****1234 ya", "phone"),
    ("6281299991234", "0812****1234", "phone"),
    ("０８１２９９９９１２３４", "0812****1234", "phone"),
    ("＋６２ ８１２ ９９９９ １２３４", "0812****1234", "phone"),
    ("0 8 1 2 9 9 9 9 1 2 3 4", "0812****1234", "phone"),
    ("电话0812 9999 1234，谢谢", "电话0812****1234，谢谢", "phone"),
    ("NIK 3171.0123.4567.8901", "NIK ****8901", "id_number"),
    ("NIK 3171-0123-4567-8901.", "NIK ****8901.", "id_number"),
    ("NIK：３１７１０１２３４５６７８９０１", "NIK：****8901", "id_number"),
    ("budi [at] gmail [dot] com", "b***i@gmail.com", "email"),
    ("budi(at)gmail.com", "b***i@gmail.com", "email"),
    ("mail budi @ gmail.com.", "mail b***i@gmail.com.", "email"),
    ("邮箱 budi＠gmail．com！", "邮箱 b***i@gmail.com！", "email"),
    ("BUDI [AT] GMAIL [DOT] CO [DOT] ID", "B***I@gmail.co.id", "email"),
    ("card 4111 1111 1111 1111 ok", "card **** **** **** 1111 ok", "card"),
    ("kartu 5500-0000-0000-0004", "kartu **** **** **** 0004", "card"),
    ("amex 3782 822463 10005", "amex **** **** **** 0005", "card"),
]


@pytest.mark.parametrize(("text", "masked", "kind"), MASKED)
def test_odd_spellings_are_masked_and_named(text, masked, kind):
    assert mask_text(text) == masked
    assert personal_data(text) == [kind]


@pytest.mark.parametrize("text", [
    "ref GP2611251A2B3C gagal",
    "Rp 1.500.000 sudah dipotong dua kali",
    "Rp 150.000.000.000",
    "order 1234567890123 (13 digits, not Luhn)",
    "pada 2026-11-25 15:00, jam 08.30",
    "2026-11-25T15:00:00+00:00",
    "tiket #12345, kode 081",
    "付款失败了，余额 1500000，请帮忙",
    "Meet at home. Dot your i's",
    "version 1.2.3-beta (build 42)",
])
def test_ordinary_text_stays_as_written(text):
    assert mask_text(text) == text
    assert personal_data(text) == []


def test_several_kinds_in_one_text_keep_the_words_between():
    text = "NIK 3171012345678901 0812 9999 1234, email budi(at)gmail.com, ref GP2611251A2B3C Rp 1.500.000"

    assert mask_text(text) == ("NIK ****8901 0812****1234, email b***i@gmail.com, ref GP2611251A2B3C "
                               "Rp 1.500.000")
    assert personal_data(text) == ["id_number", "phone", "email"]


@pytest.mark.parametrize("text", [t for t, _, _ in MASKED])
def test_masking_a_masked_text_changes_nothing(text):
    once = mask_text(text)
    assert mask_text(once) == once
    assert personal_data(once) == []


def test_a_sixteen_digit_run_is_a_card_when_luhn_says_so_else_an_id_number():
    assert luhn_valid("4111111111111111") and not luhn_valid("3171012345678901")
    assert mask_text("4111111111111111") == "**** **** **** 1111"
    assert mask_text("3171012345678901") == "****8901"


def test_mask_value_masks_every_string_of_a_payload_and_keeps_the_rest():
    payload = {"changes": {"subject": ["call 0812.9999.1234", "new"]}, "ticket_id": 11, "ok": True,
               "tags": ["budi [at] gmail [dot] com"], "reason": None}

    assert mask_value(payload) == {"changes": {"subject": ["call 0812****1234", "new"]}, "ticket_id": 11,
                                   "ok": True, "tags": ["b***i@gmail.com"], "reason": None}
