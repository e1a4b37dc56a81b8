"""Hybrid search over the knowledge base, in memory.

The knowledge base is small (a few hundred article languages), so its search material (`kb_index`)
is loaded into memory and scored in Python; `index.py` reloads it when the database changed.

**Keyword score (BM25).** Stored text is segmented with `platform.text.search_tokens` (words, plus
each Chinese character once), queries with `query_tokens` (words). Latin words are folded by a light
suffix stripper (`stem`: crashing/crashes/crashed → crash, aplikasinya → aplikasi), applied alike to
documents and queries. Common function words and greetings of the three languages are dropped from
queries (a query of nothing else finds nothing). A Chinese query word that no article contains (jieba cut it
differently) backs off to its characters, at half weight. Title words count twice. Each query word
scores BM25 (k1 1.2, b 0.75; document length against the average of its own language, since the
Chinese index, with its extra characters, is longer than the others), weighted by its IDF over all
languages. The raw sum `s` is squashed to [0, 1) as `kw = s / (s + S*)`, where S* is what a document
of average length containing each query word once would score (a word no article has counts at
the highest IDF): matching the whole query at ordinary density gives 0.5, matching it more densely
approaches 1, matching only part of it (or its commonest words) stays lower.

**Embeddings (optional).** With an embedder (texts → array of vectors), each article language has a
vector of "title + plain text", stored in `kb_index.embedding` (float32); a query's vector is
compared by cosine similarity `cos`.

**Combined score.** `score = w·kw + (1 − w)·max(cos, 0)` with w = `keyword_weight` (0.5) when
there are embeddings, else `score = kw`. A document is a candidate when it matches a query word or
its cosine reaches `min_similarity` (0.3). If the caller passes an intent (the NLU's guess), articles
that answer it get `intent_boost` (0.2) added, and are candidates even without a match: a boost,
not a filter, so a wrong guess does not hide the right article.

**One hit per article.** All languages are scored. With a language asked for, an article's score is
the best of its score in that language and 0.8 × its best score in another language, and the hit
is shown in the asked language (or the nearest one it has: zh-CN, then en); so a query typed in
English finds an article for an Indonesian reader. Without a language, each article's best language
wins.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..platform.text import normalize, query_tokens, search_tokens

Embedder = Callable[[list[str]], Any]  # list of texts -> numpy array (n, d)

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
HAN_BACKOFF_WEIGHT = 0.5
CROSS_LANGUAGE_FACTOR = 0.8
FALLBACK_LANGUAGES = ("zh-CN", "en", "id")

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

STOPWORDS = frozenset(
    # English
    "a an the i me my mine you your we our us it its is are was were be been am to of in on for and or "
    "but this that these those do does did how what why when where which who whom can could would should "
    "will please with at from by about have has had get got there here so just any some im ive dont "
    "cant hi hello thanks thank"
    # Bahasa Indonesia
    " saya aku kamu anda yang dan di ke dari untuk ini itu ada apa dengan atau juga mau ya kok sih dong "
    "tolong bagaimana gimana kenapa mengapa kak min gan nih deh adalah"
    # Chinese (jieba words and single characters)
    " 的 了 吗 呢 啊 吧 呀 嘛 我 我的 我要 我想 想 你 您 你好 您好 他 她 是 在 就 都 也 和 与 把 被 要 有 能 请 请问 "
    "帮 帮我 怎么 怎么办 怎样 什么 一下 到 还 又 这 那 这个 那个 个 为什么 如何 一直 可以 哪 哪里 么".split()
)


def stem(token: str) -> str:
    """A light, symmetric suffix fold for Latin words (English inflections, Indonesian -nya)."""
    if not (token.isascii() and token.isalpha()) or len(token) <= 3:
        return token
    t = token
    if len(t) > 5 and t.endswith("nya"):
        t = t[:-3]
    if len(t) > 4 and t.endswith("ies"):
        return t[:-3] + "y"
    if len(t) > 5 and t.endswith("ing"):
        t = t[:-3]
    elif len(t) > 4 and t.endswith("ed"):
        t = t[:-2]
    elif len(t) > 4 and t.endswith(("ches", "shes", "sses", "xes")):
        t = t[:-2]
    elif t.endswith("s") and not t.endswith(("ss", "us", "is")):
        t = t[:-1]
    if len(t) > 3 and t[-1] == t[-2] and t[-1] not in "aeiouls":
        t = t[:-1]
    if len(t) > 4 and t.endswith("e"):
        t = t[:-1]
    return t


def is_han(token: str) -> bool:
    return bool(_HAN.match(token))


# ---------------------------------------------------------------- markdown → plain text

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINE_MARK = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")


def plain_text(markdown: str) -> str:
    """The readable text of a markdown body, one line per block, without markup or link targets."""
    text = _IMAGE.sub(r"\1", _COMMENT.sub("", markdown))
    text = _LINK.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        if _TABLE_RULE.match(line):
            continue
        line = _EMPHASIS.sub("", _LINE_MARK.sub("", line)).replace("|", " ")
        line = " ".join(line.split())
        if line:
            lines.append(line)
    return "\n".join(lines)


def index_tokens(title: str, body: str) -> str:
    """What `kb_index.tokens` holds: the title's search tokens, a newline, the body's."""
    return search_tokens(title) + "\n" + search_tokens(plain_text(body))


def embedding_text(title: str, body: str) -> str:
    return title + "\n" + plain_text(body)


def query_terms(query: str) -> dict[str, float]:
    """The weighted terms of a query: its words, function words dropped, Latin words stemmed."""
    words = [w for w in query_tokens(query) if len(w) > 1 or is_han(w) or w.isdigit()]
    return {stem(w): 1.0 for w in words if w not in STOPWORDS}


# ---------------------------------------------------------------- the index


@dataclass
class Doc:
    """One article language, as searched."""

    article_id: int
    slug: str
    area: str
    intents: tuple[str, ...]
    language: str
    title: str
    plain: str
    tf: dict[str, int] = field(default_factory=dict)
    length: int = 0
    vector: Any = None  # unit-length numpy vector, or None


def make_doc(article_id: int, slug: str, area: str, intents: Iterable[str], language: str, title: str,
             body: str, tokens: str, vector: Any = None) -> Doc:
    title_part, _, body_part = tokens.partition("\n")
    tf: dict[str, int] = defaultdict(int)
    length = 0
    for weight, part in ((TITLE_WEIGHT, title_part), (1, body_part)):
        for token in part.split():
            tf[stem(token)] += weight
            length += weight
    return Doc(article_id, slug, area, tuple(intents), language, title, plain_text(body), dict(tf), length, vector)


@dataclass(frozen=True)
class Scored:
    doc: Doc
    score: float
    keyword: float
    similarity: float


class SearchIndex:
    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs
        self.postings: dict[str, list[int]] = defaultdict(list)
        lengths: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(docs):
            for term in doc.tf:
                self.postings[term].append(i)
            lengths[doc.language].append(doc.length)
        self.avg_length = {lang: (sum(v) / len(v)) or 1.0 for lang, v in lengths.items()}
        self.by_article: dict[int, dict[str, Doc]] = defaultdict(dict)
        for doc in docs:
            self.by_article[doc.article_id][doc.language] = doc
        self._matrix: Any = None
        self._matrix_rows: list[int] = []
        vectors = [(i, d.vector) for i, d in enumerate(docs) if d.vector is not None]
        if vectors:
            import numpy as np

            dims = {v.shape[0] for _, v in vectors}
            if len(dims) == 1:
                self._matrix_rows = [i for i, _ in vectors]
                self._matrix = np.vstack([v for _, v in vectors])

    @property
    def has_vectors(self) -> bool:
        return self._matrix is not None

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        n = len(self.docs)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def weighted_terms(self, terms: dict[str, float]) -> dict[str, float]:
        """The query's terms, Chinese words the index does not know backed off to their characters."""
        out: dict[str, float] = {}
        for term, weight in terms.items():
            if term not in self.postings and len(term) > 1 and is_han(term):
                chars = [ch for ch in term if ch not in STOPWORDS and ch in self.postings]
                if chars:
                    for ch in chars:
                        out[ch] = max(out.get(ch, 0.0), weight * HAN_BACKOFF_WEIGHT)
                    continue
            out[term] = max(out.get(term, 0.0), weight)
        return out

    def keyword_scores(self, terms: dict[str, float]) -> dict[int, float]:
        weighted = self.weighted_terms(terms)
        # Words no article has count in the ideal (at the highest IDF): a query half made of
        # unknown words is at best a half match, which keeps scores comparable between queries.
        ideal = sum(w * self.idf(t) for t, w in weighted.items())
        weighted = {t: w for t, w in weighted.items() if t in self.postings}
        if not weighted or ideal <= 0:
            return {}
        raw: dict[int, float] = defaultdict(float)
        for term, weight in weighted.items():
            idf = self.idf(term)
            for i in self.postings[term]:
                doc = self.docs[i]
                tf = doc.tf[term]
                norm = K1 * (1 - B + B * doc.length / self.avg_length[doc.language])
                raw[i] += weight * idf * tf * (K1 + 1) / (tf + norm)
        return {i: s / (s + ideal) for i, s in raw.items()}

    def similarities(self, query_vector: Any) -> dict[int, float]:
        if self._matrix is None or query_vector is None or query_vector.shape[0] != self._matrix.shape[1]:
            return {}
        sims = self._matrix @ query_vector
        return {i: float(s) for i, s in zip(self._matrix_rows, sims, strict=True)}

    def search(self, terms: dict[str, float], *, query_vector: Any = None, language: str | None = None,
               intent: str | None = None, limit: int = 5, keyword_weight: float = 0.5,
               min_similarity: float = 0.3, intent_boost: float = 0.2) -> list[tuple[Doc, Scored]]:
        """The best articles: (the document to show, the document that scored), best first."""
        keyword = self.keyword_scores(terms) if terms else {}
        sims = self.similarities(query_vector)
        hybrid = bool(sims)
        candidates = set(keyword) | {i for i, s in sims.items() if s >= min_similarity}
        if intent:
            candidates |= {i for i, d in enumerate(self.docs) if intent in d.intents}
        per_doc: dict[int, Scored] = {}
        for i in candidates:
            doc = self.docs[i]
            kw, cos = keyword.get(i, 0.0), sims.get(i, 0.0)
            score = keyword_weight * kw + (1 - keyword_weight) * max(cos, 0.0) if hybrid else kw
            if intent and intent in doc.intents:
                score += intent_boost
            if score > 0:
                per_doc[i] = Scored(doc, score, kw, cos)

        best: dict[int, tuple[float, Scored]] = {}
        for scored in per_doc.values():
            doc = scored.doc
            value = scored.score
            if language and doc.language != language:
                value *= CROSS_LANGUAGE_FACTOR
            held = best.get(doc.article_id)
            if held is None or value > held[0]:
                best[doc.article_id] = (value, scored)
        ranked = sorted(best.values(), key=lambda pair: (-pair[0], pair[1].doc.slug))[:limit]
        out = []
        for value, scored in ranked:
            shown = self.shown_doc(scored.doc.article_id, language) if language else scored.doc
            out.append((shown, Scored(scored.doc, value, scored.keyword, scored.similarity)))
        return out

    def shown_doc(self, article_id: int, language: str | None) -> Doc:
        docs = self.by_article[article_id]
        for lang in (language, *FALLBACK_LANGUAGES):
            if lang in docs:
                return docs[lang]
        return next(iter(docs.values()))


# ---------------------------------------------------------------- snippets


def snippet(plain: str, terms: Iterable[str], *, width: int | None = None) -> str:
    """A short passage of the text around the first query word found in it (else its start)."""
    text = " ".join(plain.split())
    if not text:
        return ""
    chinese = len(_HAN.findall(text)) > len(text) / 4
    width = width or (90 if chinese else 220)
    folded = normalize(text)
    if len(folded) != len(text):
        folded = text.lower()
    positions = []
    for term in terms:
        if len(term) < 2 and not is_han(term):
            continue
        if term in STOPWORDS:
            continue
        at = folded.find(term)
        if at >= 0:
            positions.append(at)
    start = 0
    if positions:
        first = min(positions)
        start = max(0, first - width // 4)
        if start and not chinese:
            space = text.rfind(" ", 0, start + 1)
            start = space + 1 if space >= 0 and first - space < width // 2 else start
    end = min(len(text), start + width)
    if end < len(text) and not chinese:
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    piece = text[start:end].strip()
    return ("…" if start > 0 else "") + piece + ("…" if end < len(text) else "")
