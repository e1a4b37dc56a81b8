"""Channel accounts as the admin API takes and shows them: secrets go in, and only whether each is
set comes out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from ...channels.accounts import AccountInfo
from .common import Id, In, Out, Timestamp

Provider = Literal["whatsapp", "telegram", "wechat", "messenger"]
SecretValue = Annotated[str, Field(min_length=1, max_length=512)]
ExternalId = Annotated[str, Field(min_length=1, max_length=64,
                                  description="WhatsApp: phone_number_id; Messenger: page id; Telegram: the bot's "
                                              "id; WeChat: app id")]
LanguageCode = Annotated[str, Field(max_length=16, description="the template's language code, e.g. zh_CN")]
WEBHOOKS = {"whatsapp": "/webhooks/whatsapp", "messenger": "/webhooks/messenger",
            "telegram": "/webhooks/telegram/{name}", "wechat": "/webhooks/wechat/{name}"}


class SecretsIn(In):
    """Write-only. Each provider takes its own: WhatsApp access_token, app_secret, verify_token;
    Telegram bot_token, secret_token; WeChat token, app_secret, aes_key (the EncodingAESKey, safe
    mode); Messenger page_token, app_secret, verify_token. On update, null removes one."""

    model_config = ConfigDict(extra="forbid")

    access_token: SecretValue | None = None
    app_secret: SecretValue | None = None
    verify_token: SecretValue | None = None
    bot_token: SecretValue | None = None
    secret_token: SecretValue | None = None
    token: SecretValue | None = None
    aes_key: SecretValue | None = None
    page_token: SecretValue | None = None


class OptionsIn(In):
    """WhatsApp: the follow-up template sent outside the 24-hour window; Messenger: the Instagram
    account answered with the page's token. On update, null removes one."""

    model_config = ConfigDict(extra="forbid")

    template_name: str | None = Field(default=None, max_length=512)
    template_languages: dict[Literal["zh-CN", "en", "id"], LanguageCode] | None = None
    instagram_account_id: str | None = Field(default=None, max_length=40)


class AccountIn(In):
    model_config = ConfigDict(extra="forbid")

    provider: Provider
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
                      description="unique; the webhook path of Telegram and WeChat accounts")
    external_id: ExternalId
    secrets: SecretsIn
    options: OptionsIn = OptionsIn()
    team_id: Id | None = Field(default=None, description="the team whose queue its new tickets wait in")
    enabled: bool = True


class AccountPatch(In):
    """Only what is given changes; `team_id: null` takes the account off its team."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId | None = None
    secrets: SecretsIn | None = None
    options: OptionsIn | None = None
    team_id: Id | None = None
    enabled: bool | None = None


class AccountOut(Out):
    id: int
    provider: str
    name: str
    external_id: str
    team_id: int | None
    options: dict[str, Any]
    secrets: dict[str, bool] = Field(description="which secrets are set (their values are never shown)")
    enabled: bool
    key_id: str = Field(description="the key its secrets are sealed under")
    webhook: str = Field(description="where the provider posts this account's events")
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def of(cls, info: AccountInfo) -> AccountOut:
        return cls(id=info.id, provider=info.provider, name=info.name, external_id=info.external_id,
                   team_id=info.team_id, options=info.options, secrets=info.secrets_set, enabled=info.enabled,
                   key_id=info.key_id, webhook=WEBHOOKS[info.provider].format(name=info.name),
                   created_at=info.created_at, updated_at=info.updated_at)


class AccountPage(Out):
    items: list[AccountOut]
