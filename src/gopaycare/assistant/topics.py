"""Questions inside an intent that need their own answer: upgrading to GoPay Plus and how much of a
limit is left (txn_limit), why a refund was partial (refund_status), what lifts a freeze
(account_locked), a new number when the old SIM is lost (account_update_info), and loans (out of
scope).

The intent taxonomy is the shared one (the NLU must return its names), so these are not new intents:
the classifier picks the intent, and these rules, on the folded text, pick the answer inside it. Two
of them also correct the classifier where a word misleads it: "upgrade" reads like an app update
and a loan like a limit question, so a message that is plainly about upgrading the account or
borrowing money goes to that answer whatever the classifier said.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from ..platform.text import normalize

if TYPE_CHECKING:
    from .nlu import Parse

_I = re.IGNORECASE

PLUS_UPGRADE = re.compile(
    r"(gopay\s*plus|\bplus\b|升级|premium|\bupgrad\w*|\bupgrd\w*|\bverifikasi\s*(ktp|akun|data)|实名|\bkyc\b)", _I)
# "Upgrade" about the app itself: a new version, not a verified account.
APP_UPDATE = re.compile(r"(\bapp\b|\baplikasi\w*|\bapk\b|版本|\bversi\w*|\bversion|play\s*store|app\s*store|更新|"
                        r"\bupdate\w*|\binstall\w*)", _I)
LIMIT_LEFT = re.compile(
    r"(还能|还可以|还剩|剩余|剩下|还差|\bleft\b|\bremaining\b|how much more|\bstill\b.*\b(spend|pay|send|top ?up|"
    r"receive)|\bsisa\w*|masih bisa|masih bs|msh bisa|msh bs|tinggal berapa|tinggal brp|berapa lagi|brp lagi)", _I)
# 借 but not 借记卡 (a debit card), 贷 (贷款, 房贷, 信贷).
LOAN = re.compile(r"(\bloans?\b|\bborrow\w*|\blend\b|\bmortgage|借(?!记)|贷|信用额度|预支|"
                  r"\bpinjam\w*|\bpinjem\w*|\bpinjol\b|\bkasbon\b|\bkpr\b|\bkredit\b)", _I)
PARTIAL = re.compile(r"(部分|一半|少了|不是全额|没有全额|\bpartial\w*|\bpart of\b|\bhalf\b|\bless than\b|"
                     r"\bsmaller\b|\bnot the full\b|\bfull amount\b|\bthe rest\b|\bsebagian\b|\bsetengah\b|"
                     r"\bkurang dari\b|lebih kecil|\bga full\b|\bgak full\b|\btidak penuh\b|\bga utuh\b|"
                     r"\bsisanya\b)", _I)
FREEZE = re.compile(r"(冻结|解冻|\bfroze\w*|\bfreez\w*|\bunfreez\w*|\bbeku\w*|\bdibekukan\b|\bpembekuan\b)", _I)
LOST_SIM = re.compile(r"(\bsim\b|手机卡|旧卡|号码停|号码.*注销|停用|\bnomor lama\b.*(hilang|ilang|mati|hangus|"
                      r"ga aktif|gak aktif|tidak aktif)|\bold (number|sim)\b.*(lost|gone|dead|inactive|blocked|"
                      r"no longer)|\bnumber\b.*\b(dead|no longer active)\b)", _I)
LOST = re.compile(r"(丢|没了|停用|注销|停了|\blost\b|\bgone\b|\bdead\b|\bblocked\b|\bexpired\b|\bno longer\b|"
                  r"\bwithout\b|\bhilang\b|\bilang\b|\bhangus\b|\bmati\b|\bdiblokir\b|\btanpa\b|\bga aktif\b|"
                  r"\bgak aktif\b|\btidak aktif\b)", _I)


def _text(text: str) -> str:
    return normalize(text)


def plus_upgrade(text: str) -> bool:
    folded = _text(text)
    return bool(PLUS_UPGRADE.search(folded)) and not (APP_UPDATE.search(folded) and not re.search(
        r"(gopay\s*plus|\bplus\b|实名|\bkyc\b|\bakun\b|\baccount\b|账户)", folded, _I))


def limit_left(text: str) -> bool:
    return bool(LIMIT_LEFT.search(_text(text)))


def loan(text: str) -> bool:
    return bool(LOAN.search(_text(text)))


def partial_refund(text: str) -> bool:
    return bool(PARTIAL.search(_text(text)))


def freeze(text: str) -> bool:
    return bool(FREEZE.search(_text(text)))


def lost_sim(text: str) -> bool:
    folded = _text(text)
    return bool(LOST_SIM.search(folded)) and bool(LOST.search(folded))


# Intents the classifier gives an upgrade question by its words ("upgrade", a code, a profile change).
_UPGRADE_MISREAD = {"tech_app_update", "account_otp_not_received", "account_update_info", "account_password_reset",
                    "nlu_fallback", "oos", "out_of_scope", "txn_topup"}


# "How do I upgrade" asked in the middle of another topic (after "this needs GoPay Plus").
HOW = re.compile(r"(\bhow\b|\bcara\w*|\bgimana\w*|\bgmn\b|\bbagaimana\b|\bsyarat\w*|\blangkah\b|\bsteps?\b|"
                 r"\bwhat do i need\b|怎么|怎样|如何|要什么|需要什么|步骤)", _I)
RULE_CONFIDENCE = 0.9

# What a loan request reads like to the classifier (amounts, limits, money in). Other intents keep theirs:
# "I borrowed a friend's phone to log in" is a login problem.
_LOAN_MISREAD = {"txn_limit", "txn_topup", "txn_history", "refund_apply", "promo_current", "nlu_fallback", "oos",
                 "out_of_scope"}


# A dispute named in words ("我的争议进展怎么样了", "status sengketa"): the classifier, trained on opening
# one, may read a question about one as out of scope or as a refund question.
DISPUTE = re.compile(r"(争议|申诉|拒付|\bdisputes?\b|\bdisputed\b|\bchargeback\b|\bsengketa\w*)", _I)
_DISPUTE_MISREAD = {"nlu_fallback", "oos", "out_of_scope", "refund_status", "txn_history", "txn_not_received",
                    "greeting", "thanks"}


def refine(parse: Parse, text: str) -> Parse:
    """The classifier's reading, corrected where a word misleads it (see the module doc)."""
    intent = parse.intent.name
    target = None
    if intent in _LOAN_MISREAD and loan(text):
        target = "out_of_scope"
    elif plus_upgrade(text) and (intent in _UPGRADE_MISREAD or HOW.search(_text(text))):
        target = "txn_limit"
    elif intent in _DISPUTE_MISREAD and DISPUTE.search(_text(text)):
        target = "dispute_open"
    if target is None or (target == intent and parse.intent.confidence >= RULE_CONFIDENCE):
        return parse
    # The rule is the stronger evidence: confident enough to switch topic in the middle of a flow.
    chosen = replace(parse.intent, name=target, confidence=max(parse.intent.confidence, RULE_CONFIDENCE))
    return replace(parse, intent=chosen)
