"""Text normalization and word segmentation for search (tickets now; the assistant and the knowledge
base later). Customers write Chinese, English and Bahasa Indonesia, often mixed in one message.

`normalize` folds the variants one word comes in: full-width forms (ＧＯＰＡＹ → gopay), case, Latin
accents (café → cafe, as SQLite's unicode61 tokenizer does, so PostgreSQL agrees), and common
Traditional characters (付款失敗 → 付款失败).

`segment` cuts text into words: runs of Chinese characters through jieba's search mode, anything else
on non-word characters, so references such as GP2611251A2B3C and numbers stay whole. Amounts keep
together across thousands separators, apart from a currency (Rp50.000 and Rp 50,000 give rp 50000).

`search_tokens` is what an index stores: the words, plus every Chinese character once, so a query that
jieba cuts differently from the stored text ("扣了" gives 扣 + 了, the message "钱被扣了" gives 被扣 + 了)
still finds it. Queries use `query_tokens` (the words only); all of them must match.

Every token is a run of letters and digits, so both full-text engines keep it as one token.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from typing import Any

# Longer "words" are noise (base64, hashes); dropping them keeps the index small on both engines.
MAX_TOKEN_CHARS = 64

# Han ideographs: CJK Unified (with Extension A), Compatibility, and the supplementary planes.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_RUN = re.compile(f"([{_HAN}]+)")
_WORD = re.compile(r"[^\W_]+")
# 50.000 / 1,250,000: one amount, not several numbers (a decimal such as 12.50 stays two tokens).
_GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?![.,]?\d)")
# Rp50.000 (the usual Indonesian spelling) is the currency and the amount: rp 50000.
_CURRENCY = re.compile(r"\b(rp|idr|usd|sgd)(?=\d)")

# Traditional → Simplified for characters common in support messages. Only characters that do not
# occur in Simplified text with another meaning (乾, 著, 徵, 瞭 are left alone). Pairs: trad, simp.
_TRADITIONAL_PAIRS = (
    "錢钱帳账賬账戶户號号碼码額额餘余轉转匯汇儲储費费紅红優优訂订單单買买賣卖貨货運运購购價价錯错誤误"
    "敗败僅仅過过還还沒没這这個个們们麼么為为會会來来對对後后發发現现問问題题幫帮驗验證证認认機机電电"
    "話话說说請请謝谢結结務务關关開开閉闭錄录鎖锁凍冻確确資资訊讯網网絡络體体實实當当從从應应該该給给"
    "讓让與与無无書书長长見见點点動动頁页裡里裏里復复複复時时間间經经處处絕绝紀纪線线連连設设變变換换"
    "幣币銀银綁绑撥拨筆笔詢询詳详細细標标準准態态狀状況况報报記记歷历舊旧總总計计數数據据邊边門门員员"
    "專专責责權权離离聯联繫系係系陸陆註注冊册盜盗騙骗詐诈險险風风審审補补償偿賠赔項项達达遲迟辦办樂乐"
    "歡欢嗎吗樣样頭头傳传獲获選选擇择試试圖图顯显斷断繼继續续隨随導导產产級级條条規规則则類类別别區区"
    "國国際际語语簡简罰罚兌兑貴贵閱阅車车飛飞場场約约議议東东兩两萬万億亿雙双幾几歲岁飯饭館馆廳厅醫医"
    "藥药學学習习課课師师業业稅税營营銷销廣广聽听讀读寫写誰谁內内卻却雖虽並并鐘钟鍾钟週周壓压舉举擔担"
    "參参觀观視视親亲愛爱覺觉順顺須须齊齐溫温濕湿鮮鲜魚鱼雞鸡鳥鸟馬马龍龙聞闻盡尽勞劳勢势節节範范圍围"
    "團团園园圓圆層层壞坏擴扩損损攜携殺杀氣气滿满漢汉灣湾災灾煙烟熱热燈灯爭争爾尔獨独環环畫画異异盤盘"
    "眾众禮礼種种稱称穩稳窮穷競竞簽签糧粮納纳紙纸紛纷組组終终統统絲丝綜综維维緊紧練练縣县績绩織织義义"
    "聖圣聲声職职腦脑膽胆臉脸興兴藝艺蘇苏蘭兰虛虚衛卫衝冲裝装製制覽览觸触討讨訓训託托訪访許许訴诉診诊"
    "詞词誌志誠诚調调談谈論论講讲識识譯译護护豐丰貝贝負负財财貧贫販贩貸贷貼贴賀贺賓宾賞赏質质贈赠贊赞"
    "趕赶跡迹蹤踪軍军軟软較较載载輔辅輕轻輛辆輸输農农進进違违遠远適适遺遗郵邮鄉乡鄰邻釋释針针鈔钞鋪铺"
    "鍵键鎮镇鏈链鐵铁鑑鉴閃闪閒闲闆板隊队陽阳陰阴陳陈隱隐雜杂難难雲云霧雾靈灵靜静韓韩響响頂顶預预頓顿"
    "領领頻频顏颜願愿顧顾飄飘飲饮餅饼養养饋馈駛驶驚惊髮发鬥斗鬧闹鳳凤鴨鸭麗丽黃黄齒齿龜龟隻只臺台幹干"
    "鬆松麵面嚮向於于")
_TRADITIONAL = {ord(t): s for t, s in zip(_TRADITIONAL_PAIRS[::2], _TRADITIONAL_PAIRS[1::2], strict=True)}


def _latin_folding() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFD", chr(code))
        if len(decomposed) > 1 and decomposed[0].isascii() and all(unicodedata.combining(c) for c in decomposed[1:]):
            table[code] = decomposed[0]
    return table


_FOLD = {**_latin_folding(), **_TRADITIONAL}


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, Latin accents and Traditional characters folded."""
    return unicodedata.normalize("NFKC", text or "").lower().translate(_FOLD)


# ---------------------------------------------------------------- jieba, loaded once on first use

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's tokenizer, its dictionary loaded on first use (~0.7 s), never at import."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                with warnings.catch_warnings():
                    # jieba 0.42.1's source has invalid escape sequences ("\." in regexes): a
                    # warning when Python compiles it without a cached .pyc.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", SyntaxWarning)
                    import jieba
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def warm_up() -> None:
    """Load the dictionary now (a web worker can do it at start rather than on the first search)."""
    _jieba()


# ---------------------------------------------------------------- segmentation


def _keep(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_CHARS


def _split(text: str) -> list[tuple[bool, str]]:
    """The normalized text as (is_han, run) pieces, in order."""
    pieces = _HAN_RUN.split(normalize(text))
    return [(i % 2 == 1, piece) for i, piece in enumerate(pieces) if piece]


def _words(run: str) -> list[str]:
    run = _GROUPED_NUMBER.sub(lambda m: re.sub(r"[.,]", "", m.group()), _CURRENCY.sub(r"\1 ", run))
    return [w for w in _WORD.findall(run) if _keep(w)]


def segment(text: str) -> list[str]:
    """Words of the text, normalized, in order (repeats kept); no punctuation or spaces."""
    tokens: list[str] = []
    for is_han, run in _split(text):
        if is_han:
            tokens.extend(w for w in _jieba().cut_for_search(run) if _keep(w) and not w.isspace())
        else:
            tokens.extend(_words(run))
    return tokens


def query_tokens(text: str) -> list[str]:
    """The distinct words of a search query, in order."""
    return list(dict.fromkeys(segment(text)))


def search_tokens(text: str) -> str:
    """What a search index stores for the text: its words, and each Chinese character once per
    occurrence, separated by single spaces."""
    tokens: list[str] = []
    for is_han, run in _split(text):
        if is_han:
            tokens.extend(w for w in _jieba().cut_for_search(run) if len(w) > 1 and _keep(w))
            tokens.extend(run)
        else:
            tokens.extend(_words(run))
    return " ".join(tokens)
