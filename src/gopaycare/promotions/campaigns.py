"""Campaign administration: create, pause, resume and end campaigns, and read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..platform import audit
from ..platform.audit import Actor
from ..platform.clock import Clock
from ..platform.db import Database
from ..platform.errors import Conflict, NotFound, ValidationFailed
from ..platform.i18n import LANGUAGES
from .models import CAMPAIGN_STATUSES, Campaign
from .rules import CampaignTerms, validate_rules


@dataclass(frozen=True)
class CampaignView(CampaignTerms):
    id: int = 0
    titles: dict[str, str] | None = None
    credit_delay_hours: int = 0

    def title(self, lang: str) -> str:
        titles = self.titles or {}
        return titles.get(lang) or titles.get("en") or next(iter(titles.values()), self.code)


def campaign_view(c: Campaign) -> CampaignView:
    return CampaignView(code=c.code, status=c.status, starts_at=c.starts_at, ends_at=c.ends_at, percent=c.percent,
                        flat_amount=c.flat_amount, max_cashback=c.max_cashback, rules=dict(c.rules or {}),
                        budget=c.budget, granted_total=c.granted_total, id=c.id, titles=dict(c.titles),
                        credit_delay_hours=c.credit_delay_hours)


def running_at(at: datetime) -> Select[tuple[Campaign]]:
    """Active campaigns whose period holds `at`."""
    return select(Campaign).where(Campaign.status == "active", Campaign.starts_at <= at, Campaign.ends_at > at)


def find_campaign(s: Session, code: str, *, for_update: bool = False) -> Campaign:
    stmt = select(Campaign).where(Campaign.code == (code or "").strip().upper())
    campaign = s.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if campaign is None:
        raise NotFound("no such campaign", campaign=code)
    return campaign


class Campaigns:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    def create(self, code: str, titles: dict[str, str], starts_at: datetime, ends_at: datetime, *,
               percent: int | None = None, flat_amount: int | None = None, max_cashback: int | None = None,
               rules: dict[str, Any] | None = None, budget: int | None = None, credit_delay_hours: int = 0,
               actor: Actor) -> CampaignView:
        code = (code or "").strip().upper()
        if not code.isalnum() or not 3 <= len(code) <= 24:
            raise ValidationFailed("a campaign code is 3 to 24 letters or digits", field="code")
        if not isinstance(titles, dict) or not titles or not set(titles) <= set(LANGUAGES) or not all(
                isinstance(v, str) and 1 <= len(v.strip()) <= 120 for v in titles.values()):
            raise ValidationFailed(f"titles: one to three of {', '.join(LANGUAGES)}, 1-120 characters",
                                   field="titles")
        if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
            raise ValidationFailed("the campaign must end after it starts (times with a time zone)", field="ends_at")
        if (percent is None) == (flat_amount is None):
            raise ValidationFailed("give either a percentage or a flat amount", field="percent")
        for name, value, low, high in (("percent", percent, 1, 100), ("flat_amount", flat_amount, 1, 10**9),
                                       ("max_cashback", max_cashback, 1, 10**9), ("budget", budget, 1, 10**12),
                                       ("credit_delay_hours", credit_delay_hours, 0, 24 * 90)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not low <= value <= high):
                raise ValidationFailed(f"{name} must be a whole number from {low} to {high}", field=name)
        clean_rules = validate_rules(rules)
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                campaign = Campaign(code=code, titles={k: v.strip() for k, v in titles.items()}, status="active",
                                    starts_at=starts_at, ends_at=ends_at, percent=percent, flat_amount=flat_amount,
                                    max_cashback=max_cashback, rules=clean_rules, budget=budget, granted_total=0,
                                    credit_delay_hours=credit_delay_hours, created_at=now, updated_at=now)
                s.add(campaign)
                s.flush()
                audit.record(s, at=now, actor=actor, action="promotion.created", subject_type="campaign",
                             subject_id=campaign.id, code=code)
                return campaign_view(campaign)
        except IntegrityError:
            raise Conflict("a campaign with this code exists", code="campaign_exists", campaign=code) from None

    def set_status(self, code: str, status: str, *, actor: Actor) -> CampaignView:
        if status not in CAMPAIGN_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(CAMPAIGN_STATUSES)}", field="status")
        now = self.clock.now()
        with self.db.transaction() as s:
            campaign = find_campaign(s, code, for_update=True)
            if campaign.status == "ended" and status != "ended":
                raise Conflict("an ended campaign cannot start again", code="campaign_ended", campaign=campaign.code)
            before, campaign.status, campaign.updated_at = campaign.status, status, now
            audit.record(s, at=now, actor=actor, action="promotion.status", subject_type="campaign",
                         subject_id=campaign.id, before=before, after=status)
            return campaign_view(campaign)

    def get(self, code: str) -> CampaignView:
        with self.db.read() as s:
            return campaign_view(find_campaign(s, code))

    def list(self, *, status: str | None = None) -> list[CampaignView]:
        with self.db.read() as s:
            stmt = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id)
            if status:
                stmt = stmt.where(Campaign.status == status)
            return [campaign_view(c) for c in s.scalars(stmt)]

    def running(self) -> list[CampaignView]:
        """The campaigns paying out now, ending soonest first (what the help center shows)."""
        with self.db.read() as s:
            return [campaign_view(c) for c in s.scalars(running_at(self.clock.now()).order_by(Campaign.ends_at))]
