"""Text normalization and word segmentation (Chinese through jieba, English and Indonesian on
non-word characters): what the search index stores and what a query is cut into."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gopaycare.platform.text import (
    _TRADITIONAL,
    MAX_TOKEN_CHARS,
    normalize,
    query_tokens,
    search_tokens,
    segment,
)

# ---------------------------------------------------------------- normalize


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＧＯＰＡＹ", "gopay"),                     # full-width letters
    ("Saldo １５０．０００", "saldo 150.000"),     # full-width digits and punctuation
    ("我的付款失败了，钱被扣了", "我的付款失败了,钱被扣了"),  # full-width comma
    ("付款失敗，帳戶被凍結", "付款失败,账户被冻结"),    # Traditional characters
    ("Café Crème", "cafe creme"),                # Latin accents, as SQLite's unicode61 folds them
    ("ｶﾀｶﾅ", "カタカナ"),                         # half-width katakana
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent():
    # Given text with every kind of variant
    raw = "ＧＯＰＡＹ 付款失敗 Café 帳號"

    # When normalized twice
    once = normalize(raw)

    # Then the second pass changes nothing
    assert normalize(once) == once == "gopay 付款失败 cafe 账号"


def test_traditional_table_maps_to_characters_it_does_not_map_again():
    assert all(chr(trad) != simp and ord(simp) not in _TRADITIONAL for trad, simp in _TRADITIONAL.items())


# ---------------------------------------------------------------- segment


@pytest.mark.parametrize(("raw", "expected"), [
    ("我的付款失败了，钱被扣了", ["我", "的", "付款", "失败", "了", "钱", "被扣", "了"]),
    ("付款失敗", ["付款", "失败"]),
    ("my payment keeps failing!", ["my", "payment", "keeps", "failing"]),
    ("Saldo belum masuk setelah top up.", ["saldo", "belum", "masuk", "setelah", "top", "up"]),
    ("Ref: GP2611251A2B3C", ["ref", "gp2611251a2b3c"]),
    ("ＧＯＰＡＹ付款", ["gopay", "付款"]),                         # script change splits words
    ("Rp 50.000 and 1,250,000 not 12.50", ["rp", "50000", "and", "1250000", "not", "12", "50"]),
    ("Rp50.000 IDR1.000 rp5 grp5", ["rp", "50000", "idr", "1000", "rp", "5", "grp5"]),
    ("order #123-456", ["order", "123", "456"]),
    ("refund_dispute", ["refund", "dispute"]),                 # '_' separates, as in both engines
    ("绑定银行卡", ["绑定", "银行", "银行卡"]),                     # search mode adds the shorter words
    ("！！！……？ 😀", []),
    ("", []),
])
def test_segment(raw, expected):
    assert segment(raw) == expected


def test_segment_drops_tokens_longer_than_the_limit():
    longest = "x" * MAX_TOKEN_CHARS

    assert segment(f"{longest} {longest}y ok") == [longest, "ok"]


def test_query_tokens_are_distinct_words_in_order():
    assert query_tokens("付款 失败 付款 Payment payment") == ["付款", "失败", "payment"]


# ---------------------------------------------------------------- what is stored


def test_search_tokens_store_words_and_every_chinese_character():
    assert search_tokens("我的付款失败了，钱被扣了") == "付款 失败 我 的 付 款 失 败 了 被扣 钱 被 扣 了"


def test_search_tokens_for_latin_text_are_the_words():
    assert search_tokens("Top-up GAGAL, ref GP2611251A2B3C") == "top up gagal ref gp2611251a2b3c"


def test_search_tokens_of_punctuation_is_empty():
    assert search_tokens(" ，。!? ") == ""


# ---------------------------------------------------------------- jieba loading


def test_jieba_loads_on_first_use_only_and_quietly():
    # Given a fresh interpreter where warnings are errors
    program = (
        "import logging, sys\n"
        "from gopaycare.platform import text\n"
        "print('jieba' in sys.modules)\n"
        "print(text.segment('退款到账'))\n"
        "print(logging.getLogger('jieba').level == logging.WARNING, text._jieba() is text._jieba())\n"
    )

    # When it imports the module, then segments Chinese text
    done = subprocess.run([sys.executable, "-W", "error", "-c", program], capture_output=True, text=True,
                          timeout=60, check=False)

    # Then jieba was not loaded at import, loads once, and logs nothing ("Building prefix dict...")
    assert (done.returncode, done.stdout, done.stderr) == (0, "False\n['退款', '到', '账']\nTrue True\n", "")
