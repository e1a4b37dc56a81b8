"""`gopaycare demo`: seed the story and bulk customers into an empty database."""

from __future__ import annotations

from sqlalchemy import func, select

from ..container import Services
from ..identity.models import Customer
from .bulk import seed_bulk
from .story import DEMO_AGENT_PASSWORD, DEMO_PASSWORD, DEMO_PIN, seed_story


def seed_if_empty(services: Services, *, customers: int = 200, progress: bool = True) -> str:
    services.wallet.bootstrap()
    with services.db.read() as s:
        existing = s.execute(select(func.count()).select_from(Customer)).scalar_one()
    if existing:
        return f"database already has {existing} customers; not seeding"
    story = seed_story(services, services.clock.now())  # the people of the README's tables
    bulk = max(customers - len(story), 0)
    seed_bulk(services, bulk, progress=progress)
    return (f"seeded {len(story)} demo customers and {bulk} bulk customers.\n"
            f"  customers log in with password {DEMO_PASSWORD!r} or PIN {DEMO_PIN!r}\n"
            f"  agents: agent@gopay.test, supervisor@gopay.test, admin@gopay.test / {DEMO_AGENT_PASSWORD!r}")
