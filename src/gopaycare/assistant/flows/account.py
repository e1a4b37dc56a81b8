"""Account flows: login trouble, password/PIN reset, unlock, codes, contact changes, security."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...identity.contacts import normalize_email, normalize_phone
from ...identity.recovery import KnowledgeAnswers
from ...platform.audit import Actor
from ...platform.errors import Conflict, PermissionDenied, RateLimited, ValidationFailed
from ..texts import say, when, word
from ..turns import Outcome, Turn
from . import Flow, code_in, yes, yes_or_no
from .identify import STEPS as IDENTIFY_STEPS
from .identify import identify

if TYPE_CHECKING:
    from ..engine import Assistant

LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")



class _AccountFlow(Flow):
    """Identification first, then the flow's own steps."""

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        if t.state.get("step") in IDENTIFY_STEPS:
            waiting = identify(self, a, t)
            return waiting if waiting is not None else self.start(a, t)
        return self.step(a, t)

    def step(self, a: Assistant, t: Turn) -> Outcome:
        return self.start(a, t)

    def accepts(self, a: Assistant, t: Turn) -> bool:
        step = t.state.get("step")
        if step == "identify_phone":
            return t.entity("phone") is not None
        if step in ("identify_code", "stepup_code", "change_codes"):
            return code_in(t.text) is not None
        if step == "offer_agent":  # "want an agent?": a yes or a no; anything else may be a new topic
            return yes_or_no(t.text)
        return step is not None and self.answers(t)

    def answers(self, t: Turn) -> bool:
        return True


class LoginFailed(_AccountFlow):
    intent = "account_login_failed"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        customer = a.deps.identity.get(t.customer_id)
        if customer.locked:
            return LOCKED.start(a, t)
        limit = a.deps.policy.max_failed_logins
        t.checked(f"account not locked; {customer.login_failures} failed logins in a row")
        t.state["step"] = "offer_reset"
        paused = customer.login_paused_until
        if paused is not None and paused > a.deps.clock.now():
            # Wrong passwords paused logins (a soft lock): a reset code lifts it at once.
            return Outcome.wait(say("login_paused", t.lang,
                                    until=paused.astimezone(a.deps.policy.tz).strftime("%H:%M")))
        if customer.login_failures:
            # Case-sensitivity matters when wrong passwords were typed.
            return Outcome.wait(say("login_failures", t.lang, n=customer.login_failures,
                                       left=limit - customer.login_failures))
        # No failed attempt reached us: the network is the likely cause.
        return Outcome.wait(say("login_no_failures", t.lang))

    def step(self, a: Assistant, t: Turn) -> Outcome:
        if yes(t.text):
            return send_reset(a, t, "password")
        return Outcome.reply(say("anything_else", t.lang), resolved=True)

    def answers(self, t: Turn) -> bool:
        return yes(t.text) or bool(re.match(r"^\s*(no|tidak|不|gak|nggak)", t.text, re.I))


def send_reset(a: Assistant, t: Turn, what: str) -> Outcome:
    customer = a.deps.identity.get(t.customer_id)
    try:
        sent = a.deps.recovery.start_reset(customer.phone, what, "sms")
    except RateLimited as exc:
        return Outcome.reply(say("rate_limited", t.lang, seconds=exc.details.get("retry_after_seconds", 60)))
    t.tried(f"{what} reset code sent")
    return Outcome.reply(say("reset_code_sent", t.lang, what=word(what, t.lang), to=sent.destination_masked),
                            resolved=True)


class PasswordReset(_AccountFlow):
    intent = "account_password_reset"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        text = t.text.lower()
        what = "pin" if ("pin" in text and "password" not in text and "sandi" not in text and "密码" not in text) \
            else "password"
        return send_reset(a, t, what)


class Locked(_AccountFlow):
    """Unlock after identity verification: name, ID last 4, the amount of a recent transaction."""

    intent = "account_locked"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        t.state["flow"] = self.intent
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        customer = a.deps.identity.get(t.customer_id)
        if not customer.locked:
            t.checked("account not locked")
            return Outcome.reply(say("not_locked", t.lang), resolved=True)
        t.checked(f"account locked ({customer.lock_reason})")
        t.state["step"] = "verify_name"
        return Outcome.wait(say("login_locked", t.lang, n=customer.failed_logins or
                                   a.deps.policy.max_failed_logins))

    def step(self, a: Assistant, t: Turn) -> Outcome:
        step = t.state.get("step")
        if step == "verify_name":
            t.slots["name"] = t.text.strip()[:120]
            t.state["step"] = "verify_last4"
            return Outcome.wait(say("ask_id_last4", t.lang))
        if step == "verify_last4":
            match = LAST4.search(t.text)
            if not match:
                return Outcome.wait(say("ask_id_last4", t.lang))
            t.slots["last4"] = match.group(1)
            t.state["step"] = "verify_amount"
            return Outcome.wait(say("ask_recent_amount", t.lang))
        amount = t.entity("amount") or _plain_number(t.text)
        if amount is None:
            return Outcome.wait(say("ask_recent_amount", t.lang))
        try:
            a.deps.recovery.unlock_with_knowledge(
                t.customer_id, KnowledgeAnswers(name=t.slots.get("name", ""), id_last4=t.slots.get("last4", ""),
                                                recent_amount=int(amount)))
        except PermissionDenied as exc:
            t.tried("identity check failed")
            t.state["step"] = "verify_name"
            t.slots.clear()
            return Outcome.wait(say("verify_failed", t.lang, left=exc.details.get("attempts_left", 0)))
        except RateLimited:
            t.tried("identity checks exhausted for today")
            return Outcome.hand_over(say("verify_exhausted", t.lang))
        except Conflict:
            return Outcome.reply(say("not_locked", t.lang), resolved=True)
        t.tried("unlocked after identity verification")
        return Outcome.reply(say("unlocked", t.lang), resolved=True)


def _plain_number(text: str) -> int | None:
    digits = re.sub(r"[^\d]", "", text)
    return int(digits) if digits and len(digits) <= 12 else None


class OtpNotReceived(_AccountFlow):
    intent = "account_otp_not_received"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        last = a.deps.identity.last_code(t.customer_id)
        t.state["step"] = "offer_resend"
        tz = a.deps.policy.tz
        if last and last["live"]:
            t.checked(f"a {last['purpose']} code was sent at {last['sent_at']:%H:%M} and is still valid")
            t.slots["purpose"] = last["purpose"]
            return Outcome.wait(say("otp_live", t.lang, to=last["to"], sent=when(last["sent_at"], t.now, t.lang, tz),
                                       expires=when(last["expires_at"], t.now, t.lang, tz)))
        t.slots["purpose"] = (last or {}).get("purpose", "login")
        customer = a.deps.identity.get(t.customer_id)
        from ...platform.pii import mask_phone

        return Outcome.wait(say("otp_none", t.lang, to=mask_phone(customer.phone)))

    def step(self, a: Assistant, t: Turn) -> Outcome:
        if not yes(t.text):
            return Outcome.reply(say("anything_else", t.lang), resolved=True)
        try:
            sent = a.deps.identity.send_code(t.customer_id, t.slots.get("purpose", "login"), "sms")
        except RateLimited as exc:
            return Outcome.reply(say("rate_limited", t.lang, seconds=exc.details.get("retry_after_seconds", 60)))
        t.tried("code resent")
        return Outcome.reply(say("otp_sent", t.lang, to=sent.destination_masked), resolved=True)

    def answers(self, t: Turn) -> bool:
        return yes(t.text) or bool(re.match(r"^\s*(no|tidak|不|gak|nggak)", t.text, re.I))


class UpdateInfo(_AccountFlow):
    """A step-up code first, then one code to the old and one to the new address."""

    intent = "account_update_info"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        if t.state.pop("identified_now", False):
            t.state["step"] = "ask_new"  # the identification code was the step-up check
            return Outcome.wait(say("update_ask_new", t.lang))
        try:
            sent = a.deps.identity.send_code(t.customer_id, "step_up", "sms")
        except RateLimited as exc:
            return Outcome.reply(say("rate_limited", t.lang, seconds=exc.details.get("retry_after_seconds", 60)))
        t.state["step"] = "stepup_code"
        return Outcome.wait(say("update_info", t.lang, to=sent.destination_masked))

    def step(self, a: Assistant, t: Turn) -> Outcome:
        step = t.state.get("step")
        if step == "stepup_code":
            code = code_in(t.text)
            if code is None:
                return Outcome.wait(say("update_info", t.lang, to=""))
            try:
                a.deps.identity.verify_code(t.customer_id, "step_up", code)
            except ValidationFailed as exc:
                return Outcome.wait(say("code_wrong", t.lang, left=exc.details.get("attempts_left", 0)))
            t.state["step"] = "ask_new"
            return Outcome.wait(say("update_ask_new", t.lang))
        if step == "ask_new":
            field, value = _contact_value(t)
            if field is None:
                return Outcome.wait(say("update_ask_new", t.lang))
            try:
                started = a.deps.recovery.start_contact_change(t.customer_id, field, value)
            except (Conflict, ValidationFailed, RateLimited):
                return Outcome.wait(say("update_ask_new", t.lang))
            t.slots.update(change_id=started.change_id, field=field)
            t.state["step"] = "change_codes"
            return Outcome.wait(say("update_codes_sent", t.lang, old=started.old.destination_masked if started.old
                                       else "", new=started.new.destination_masked))
        codes = re.findall(r"(?<!\d)\d{6}(?!\d)", t.text)
        if len(codes) != 2:
            return Outcome.wait(say("update_codes_sent", t.lang, old="", new=""))
        try:
            a.deps.recovery.confirm_contact_change(t.customer_id, t.slots["change_id"], codes[0], codes[1])
        except (ValidationFailed, Conflict) as exc:
            return Outcome.wait(say("code_wrong", t.lang, left=exc.details.get("attempts_left", 0)))
        t.tried(f"{t.slots['field']} changed")
        return Outcome.reply(say("update_done", t.lang, field=word(t.slots["field"], t.lang)), resolved=True)


def _contact_value(t: Turn) -> tuple[str | None, str]:
    email = t.entity("email")
    if email or "@" in t.text:
        try:
            return "email", normalize_email(email or t.text.strip())
        except ValidationFailed:
            return None, ""
    phone = t.entity("phone")
    try:
        return "phone", phone or normalize_phone(t.text.strip())
    except ValidationFailed:
        return None, ""


class SecurityAlert(_AccountFlow):
    """Freeze at once after a check, then a person takes over. A customer known by where they write
    passes a light check (name + ID last 4); an anonymous chatter proves the phone with a code first,
    like every other account flow (identify.py: nothing said about whether a number is registered or
    frozen, and sends limited), and the code is the proof: no light check on top. One who cannot give
    the code (the phone is the stolen one) goes to a person, with nothing changed and nothing said."""

    intent = "account_security_alert"

    def start(self, a: Assistant, t: Turn) -> Outcome:
        t.state["flow"] = self.intent
        if (waiting := identify(self, a, t)) is not None:
            return waiting
        customer = a.deps.identity.get(t.customer_id)
        if customer.frozen:
            t.checked("account already frozen")
            return Outcome.hand_over(say("already_frozen", t.lang))
        if t.state.pop("identified_now", False):
            return self._freeze(a, t, "account frozen after a code to the registered phone")
        t.state["step"] = "light_check"
        return Outcome.wait(say("security_ask", t.lang))

    def resume(self, a: Assistant, t: Turn) -> Outcome:
        step = t.state.get("step")
        if step in IDENTIFY_STEPS:
            if step == "identify_code" and code_in(t.text) is None:
                t.tried("anonymous security alert without the code: a person checks")
                return Outcome.hand_over(say("security_no_code", t.lang))
            waiting = identify(self, a, t)
            return waiting if waiting is not None else self.start(a, t)
        if t.customer_id is None:  # a light check is only ever asked of a known customer
            return self.start(a, t)
        customer = a.deps.identity.get(t.customer_id)
        match = LAST4.search(t.text)
        name = LAST4.sub(" ", t.text).strip(" ,.-")
        if not match or " ".join(name.lower().split()) != " ".join(customer.name.lower().split()) \
                or match.group(1) != customer.id_last4:
            t.tried("light identity check failed")
            # A person can still freeze it after their own check: protection must not wait.
            return Outcome.hand_over()
        return self._freeze(a, t, "account frozen after name + ID last 4")

    @staticmethod
    def _freeze(a: Assistant, t: Turn, note: str) -> Outcome:
        a.deps.identity.freeze(t.customer_id, actor=Actor.customer(t.customer_id), reason="security alert (assistant)")
        t.tried(note)
        return Outcome.hand_over(say("frozen_now", t.lang))

    def accepts(self, a: Assistant, t: Turn) -> bool:
        return t.state.get("step") in ("light_check", "identify_phone", "identify_code")


LOCKED = Locked()
ACCOUNT_FLOWS = (LoginFailed(), PasswordReset(), LOCKED, OtpNotReceived(), UpdateInfo(), SecurityAlert())
