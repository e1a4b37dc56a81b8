"""Channel accounts (channels/accounts.py): the WhatsApp numbers, Telegram bots, WeChat official
accounts and Facebook pages the desk answers on. Admins only (`channels.manage`); secrets are
write-only and every change is audited without them."""

from __future__ import annotations

from fastapi import APIRouter

from ...platform.audit import Actor
from ..deps import CanManageChannels, Svc
from ..schemas.channel_accounts import AccountIn, AccountOut, AccountPage, AccountPatch
from ..schemas.common import Id

router = APIRouter(prefix="/api/v1/admin/channel-accounts", tags=["channel accounts"])


@router.get("")
def list_accounts(_: CanManageChannels, svc: Svc) -> AccountPage:
    return AccountPage(items=[AccountOut.of(info) for info in svc.channel_accounts.list()])


@router.post("", status_code=201)
def create_account(body: AccountIn, admin: CanManageChannels, svc: Svc) -> AccountOut:
    return AccountOut.of(svc.channel_accounts.create(
        actor=Actor.agent(admin.id), provider=body.provider, name=body.name, external_id=body.external_id,
        secrets=body.secrets.model_dump(exclude_none=True), options=body.options.model_dump(exclude_none=True),
        team_id=body.team_id, enabled=body.enabled))


@router.get("/{account_id}")
def get_account(account_id: Id, _: CanManageChannels, svc: Svc) -> AccountOut:
    return AccountOut.of(svc.channel_accounts.info(account_id))


@router.patch("/{account_id}")
def update_account(account_id: Id, body: AccountPatch, admin: CanManageChannels, svc: Svc) -> AccountOut:
    return AccountOut.of(svc.channel_accounts.update(
        account_id, actor=Actor.agent(admin.id), external_id=body.external_id,
        secrets=body.secrets.model_dump(exclude_unset=True) if body.secrets else None,
        options=body.options.model_dump(exclude_unset=True) if body.options else None,
        team_id=body.team_id, clear_team="team_id" in body.model_fields_set and body.team_id is None,
        enabled=body.enabled))


@router.post("/{account_id}/disable")
def disable_account(account_id: Id, admin: CanManageChannels, svc: Svc) -> AccountOut:
    """Its webhook answers 404 and its conversations' replies fail (visible to agents) until enabled again."""
    return AccountOut.of(svc.channel_accounts.update(account_id, actor=Actor.agent(admin.id), enabled=False))
