"""The flows: one per intent, each a small state machine over real account state.

A flow's `start` answers the first message of its topic; when it needs more (a choice, a reason,
a code), it returns `Outcome.wait` with a `step` in the turn's state, and `resume` continues from
that step with the next message. `accepts` says whether a message is an answer to the pending
step (a number, a code, an amount...), so a confident new intent only switches topic when it is
not.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..turns import Outcome, Turn

if TYPE_CHECKING:
    from ..engine import Assistant

YES = re.compile(r"^\s*(是|是的|对|好|好的|要|需要|可以|嗯|ya|iya|iy|yes|yep|yeah|ok|oke|okay|boleh|mau|sure|"
                 r"please|pls|tolong)\b", re.IGNORECASE)
NO = re.compile(r"^\s*(不|不是|不要|不用|没有|没|no|nope|nah|tidak|tdk|gak|ga|nggak|enggak|belum|blm|"
                r"not yet|still|masih)\b", re.IGNORECASE)
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
NUMBER = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")

INTENT_AREA = {
    "account_login_failed": "account", "account_password_reset": "account", "account_locked": "account",
    "account_otp_not_received": "account", "account_update_info": "account", "account_security_alert": "account",
    "txn_payment_failed": "transaction", "txn_not_received": "transaction", "txn_limit": "transaction",
    "txn_topup": "transaction", "txn_history": "transaction", "refund_apply": "refund_dispute",
    "refund_status": "refund_dispute", "dispute_open": "refund_dispute", "tech_app_crash": "tech_support",
    "tech_app_slow": "tech_support", "tech_app_update": "tech_support", "promo_current": "promotion",
    "promo_cashback_missing": "promotion", "contact_channels": "general", "human_handoff": "general",
    "greeting": "general", "thanks": "general", "goodbye": "general",
}

LABELS = {
    "account_login_failed": ("登录不了", "can't log in", "tidak bisa masuk"),
    "account_password_reset": ("重置密码/PIN", "reset password/PIN", "reset kata sandi/PIN"),
    "account_locked": ("账户被锁定", "account locked", "akun terkunci"),
    "account_otp_not_received": ("收不到验证码", "code not received", "kode tidak masuk"),
    "account_update_info": ("修改手机号/邮箱", "change phone/email", "ganti nomor/email"),
    "account_security_alert": ("账户被盗", "account stolen", "akun dibobol"),
    "txn_payment_failed": ("付款失败", "payment failed", "pembayaran gagal"),
    "txn_not_received": ("钱没到账", "money not received", "dana belum masuk"),
    "txn_limit": ("交易限额", "limits", "batas transaksi"),
    "txn_topup": ("充值", "top up", "isi saldo"),
    "txn_history": ("交易记录", "transaction history", "riwayat transaksi"),
    "refund_apply": ("申请退款", "request a refund", "ajukan refund"),
    "refund_status": ("退款进度", "refund status", "status refund"),
    "dispute_open": ("投诉商家/争议", "open a dispute", "ajukan sengketa"),
    "tech_app_crash": ("App闪退", "app crashes", "aplikasi keluar sendiri"),
    "tech_app_slow": ("App卡顿", "app is slow", "aplikasi lemot"),
    "tech_app_update": ("无法更新", "can't update", "tidak bisa update"),
    "promo_current": ("优惠活动", "current promos", "promo"),
    "promo_cashback_missing": ("返现未到账", "missing cashback", "cashback belum masuk"),
    "contact_channels": ("联系客服", "contact us", "hubungi CS"),
}


def intent_label(intent: str, lang: str) -> str:
    labels = LABELS.get(intent)
    if not labels:
        return intent
    return labels[{"zh-CN": 0, "en": 1, "id": 2}.get(lang, 1)]


class Flow:
    """Base flow: answers once, waits for nothing."""

    intent = ""

    def start(self, a: Assistant, t: Turn) -> Outcome:
        raise NotImplementedError

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        return self.start(a, t)

    def accepts(self, a: Assistant, t: Turn) -> bool:
        """Whether the message answers the pending step (then no topic switch)."""
        return False



def yes(text: str) -> bool:
    return bool(YES.search(text)) and not NO.search(text)


def yes_or_no(text: str) -> bool:
    """Is this an answer to a yes/no question (and not a new question)?"""
    return bool(YES.search(text) or NO.search(text))



def code_in(text: str) -> str | None:
    match = CODE.search(text)
    return match.group(1) if match else None



FLOWS: dict[str, Any] = {}


def _register() -> None:
    from .account import ACCOUNT_FLOWS
    from .money import MONEY_FLOWS
    from .promotions import PROMOTION_FLOWS
    from .support import SUPPORT_FLOWS

    for flow in (*ACCOUNT_FLOWS, *MONEY_FLOWS, *PROMOTION_FLOWS, *SUPPORT_FLOWS):
        FLOWS[flow.intent] = flow


_register()
