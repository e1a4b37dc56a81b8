"""The help desk part of the demo: teams, agents with skills, SLA calendars and policies, triggers,
macros, automations, and open cases from the demo customers on several channels.

Seeded through the real desk services (with the story's travelling clock), so SLA clocks, routing,
audit trails and events are what the live system would have produced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..container import Services
from ..platform.audit import Actor
from ..platform.clock import FakeClock
from .story import DEMO_AGENT_PASSWORD, PEOPLE

DEMO_AGENT = "agent@gopay.test"

CHAT_ALL_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [["09:00", "15:00"]]}
# Indonesian public holidays still ahead in the demo year (cuti bersama included).
HOLIDAYS = ["2026-12-24", "2026-12-25", "2027-01-01"]

TEAMS = [
    ("Akun & Keamanan 账户安全", ["account"], []),
    ("Transaksi & Refund 交易退款", ["transaction", "refund_dispute"], []),
    ("Teknis 技术支持", ["tech_support"], []),
    ("Promo 推广活动", ["promotion", "general"], []),
]

# (email, role, name, languages, areas, capacity, team index, online)
AGENTS = [
    ("li.hua@gopay.test", "agent", "李华", ["zh-CN", "en"], ["account", "transaction", "refund_dispute"], 4, 1, True),
    ("putri@gopay.test", "agent", "Putri Ananda", ["id", "en"], ["transaction", "refund_dispute"], 5, 1, True),
    ("rizky@gopay.test", "agent", "Rizky Pratama", ["id"], ["account", "tech_support"], 5, 0, True),
    ("wei.chen@gopay.test", "agent", "陈伟", ["zh-CN", "id"], ["tech_support", "promotion", "general"], 3, 2, False),
]

MACROS = [
    ("退款处理中 / Refund in progress / Refund diproses", [{"type": "set_area", "area": "refund_dispute"},
                                                          {"type": "add_tag", "tag": "refund"}], {
        "zh-CN": "您好，您的退款申请已提交审核，通常1-3个工作日内退回原支付方式。我们会在这里通知您进度。",
        "en": "Hello, your refund request is under review. It usually returns to the original payment method "
              "within 1-3 business days. We will update you here.",
        "id": "Halo, permintaan refund Anda sedang ditinjau. Biasanya dana kembali ke metode pembayaran asal "
              "dalam 1-3 hari kerja. Kami akan mengabari Anda di sini.",
    }),
    ("请提供交易信息 / Ask for transaction details / Minta detail transaksi",
     [{"type": "set_status", "status": "pending_customer"}], {
         "zh-CN": "为了帮您查询，请提供交易时间、金额和商户名称（请勿发送密码或验证码）。",
         "en": "To check this for you, please send the time, amount and merchant of the transaction "
               "(never send your password or codes).",
         "id": "Agar kami bisa mengecek, mohon kirim waktu, nominal, dan nama merchant transaksinya "
               "(jangan pernah mengirim kata sandi atau kode).",
     }),
]

# (person key, channel, identity kind, body, area, language, priority)
CASES = [
    ("wang", "chat", "phone", "付款失败了，提示余额不足，可是我刚充值了", "transaction", "zh-CN", "normal"),
    ("siti", "whatsapp", "whatsapp", "pembayaran gagal terus padahal saldo ada", "transaction", "id", "normal"),
    ("john", "email", "email", "My GoFood payment has been pending for two hours", "transaction", "en", "normal"),
    ("lina", "chat", "phone", "我的账户被锁定了，怎么解锁？", "account", "zh-CN", "high"),
    ("budi", "phone", "phone", "Akun saya dibobol, HP saya dicuri kemarin", "account", "id", "urgent"),
    ("rina", "whatsapp", "whatsapp", "Top up lewat transfer bank sudah 3 jam tapi saldo belum masuk", "transaction",
     "id", "high"),
    ("chen", "chat", "phone", "退款到哪一步了？订单还没有退回来", "refund_dispute", "zh-CN", "normal"),
    ("dewi", "telegram", "telegram", "Kenapa saya tidak bisa top up lagi?", "transaction", "id", "normal"),
    ("zhang", "email", "email", "App crashes when I open the transfer page", "tech_support", "en", "low"),
]


def _address(person_key: str, kind: str) -> str:
    person = next(p for p in PEOPLE if p.key == person_key)
    if kind == "email":
        return person.email
    if kind == "telegram":
        return f"tg-{person_key}"
    return person.phone


def seed_desk_story(svc: Services, clock: FakeClock, now: datetime) -> dict[str, int]:
    """Seed the help desk with `svc` (built on the story's clock); returns ticket ids by person."""
    desk, agents = svc.desk, svc.agents
    sla = desk.sla
    all_day = sla.create_calendar("Jakarta 24x7 chat", hours=CHAT_ALL_DAY)
    office = sla.create_calendar("Jakarta office hours", hours=OFFICE, holidays=HOLIDAYS)
    sla.create_policy("Urgent (any tier)", priority="urgent", first_response_minutes=15, next_response_minutes=30,
                      resolution_minutes=240, calendar_id=all_day, warn_before_minutes=5)
    sla.create_policy("High, GoPay Plus", priority="high", customer_tier="plus", first_response_minutes=30,
                      next_response_minutes=60, resolution_minutes=480, calendar_id=all_day)
    sla.create_policy("High", priority="high", first_response_minutes=60, next_response_minutes=120,
                      resolution_minutes=720, calendar_id=all_day, position=1)
    sla.create_policy("Normal", priority="normal", first_response_minutes=120, next_response_minutes=240,
                      resolution_minutes=1440, calendar_id=all_day)
    sla.create_policy("Low (office hours)", priority="low", first_response_minutes=480, next_response_minutes=960,
                      resolution_minutes=4320, calendar_id=office)

    rules = desk.rules
    rules.create_trigger("Stolen account → urgent", event="ticket.created",
                         conditions=[{"field": "area", "op": "is", "value": "account"},
                                     {"field": "subject", "op": "contains", "value": "dibobol"}],
                         actions=[{"type": "set_priority", "priority": "urgent"},
                                  {"type": "add_tag", "tag": "security"}])
    rules.create_trigger("Email acknowledgement", event="ticket.created",
                         conditions=[{"field": "channel", "op": "is", "value": "email"}],
                         actions=[{"type": "send_reply", "text": {
                             "zh-CN": "我们已收到您的邮件，客服会尽快回复。",
                             "en": "We received your email; an agent will answer soon.",
                             "id": "Email Anda sudah kami terima; agen kami akan segera membalas."}}])
    for name, actions, reply in MACROS:
        rules.create_macro(name, actions=actions, reply=reply)
    rules.create_automation("Close solved tickets after 4 days", status="solved", after_hours=96,
                            actions=[{"type": "set_status", "status": "closed"}])
    rules.create_automation("Remind customers we wait for", status="pending_customer", after_hours=24, actions=[
        {"type": "send_reply", "text": {"zh-CN": "温馨提示：我们还在等您的回复，以便继续处理您的问题。",
                                        "en": "A reminder: we are waiting for your reply to continue.",
                                        "id": "Pengingat: kami menunggu balasan Anda untuk melanjutkan."}}])

    team_ids = [agents.create_team(name, areas=areas, languages=langs) for name, areas, langs in TEAMS]
    for email, role, name, langs, areas, capacity, team, online in AGENTS:
        agent = agents.create(email, role, name=name, password=DEMO_AGENT_PASSWORD, languages=langs, areas=areas,
                              capacity=capacity)
        agents.add_to_team(team_ids[team], agent.id)
        if online:
            desk.routing.set_presence(agent.id, "online", actor=Actor.agent(agent.id))
    # The demo's plain agent login (story.AGENTS) floats across every team, so it sees the cases handed
    # over to each area's team (routing puts a ticket in its area's team).
    floater = agents.get_by_email(DEMO_AGENT)
    for team_id in team_ids:
        agents.add_to_team(team_id, floater.id)

    tickets: dict[str, int] = {}
    # The cases arrived over the last few hours, 25 minutes apart, the newest 10 minutes ago.
    for minutes_ago, (person, channel, kind, body, area, language, priority) in zip(
            range(len(CASES) * 25 - 15, 0, -25), CASES, strict=True):
        clock.set(now - timedelta(minutes=minutes_ago))
        got = desk.conversations.receive(channel=channel, identity_kind=kind, identity_value=_address(person, kind),
                                         body=body, area=area, language=language, priority=priority,
                                         provider_message_id=f"demo-{person}-{channel}", name=person)
        tickets[person] = got.ticket_id
    clock.set(now - timedelta(minutes=5))
    _progress_some_cases(svc, tickets)
    return tickets


def _progress_some_cases(svc: Services, tickets: dict[str, int]) -> None:
    """A case answered and waiting on the customer, and one solved with its CSAT answer."""
    desk = svc.desk
    supervisor = desk.viewer(svc.agents.get_by_email("supervisor@gopay.test"))
    desk.conversations.reply(supervisor, tickets["chen"],
                             "您好，退款已提交，预计1-3个工作日到账。/ Your refund is on its way.")
    desk.tickets.set_status(supervisor, tickets["chen"], "pending_customer", reason="waiting for the order number")
    desk.conversations.reply(supervisor, tickets["zhang"], "Please update to the latest version and try again.")
    desk.tickets.set_status(supervisor, tickets["zhang"], "solved", reason="fixed in the latest version")
    desk.csat.answer(tickets["zhang"], 5, "fast and clear")
