"""help desk core

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:39:27.490536
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db  # noqa: F401  (UTCDateTime in column types)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("after_hours", sa.Integer(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automations")),
    )
    op.create_table(
        "business_calendars",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("timezone", sa.String(length=40), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_business_calendars_name")),
    )
    op.create_table(
        "custom_roles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_custom_roles_name")),
    )
    op.create_table(
        "desk_event_sequence",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_desk_event_sequence")),
    )
    op.create_table(
        "desk_events",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_events")),
    )
    with op.batch_alter_table("desk_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "macros",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
        sa.UniqueConstraint("name", name=op.f("uq_macros_name")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "triggers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triggers")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_contacts_customer_id_customers")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["contacts.id"], name=op.f("fk_contacts_merged_into_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_contacts_customer_id")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=True),
        sa.Column("customer_tier", sa.String(length=8), nullable=True),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("next_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("warn_before_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"], ["business_calendars.id"], name=op.f("fk_sla_policies_calendar_id_business_calendars")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_team_members_agent_id_agents")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", "agent_id", name=op.f("pk_team_members")),
    )
    op.create_table(
        "contact_identities",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('phone', 'email', 'whatsapp', 'telegram', 'wechat', 'messenger', 'instagram', 'chat')",
            name=op.f("ck_contact_identities_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_identities_contact_id_contacts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identities")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_contact_identities_kind_value")),
    )
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_identities_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("customer_tier", sa.String(length=8), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("split_from_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("handled_by_bot", sa.Boolean(), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("solved_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_policy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sla_next_due_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_state", sa.String(length=8), nullable=False),
        sa.Column("sla_paused_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "area IN ('account', 'transaction', 'refund_dispute', 'tech_support', 'promotion', 'general')",
            name=op.f("ck_tickets_area"),
        ),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")),
        sa.CheckConstraint(
            "sla_state IN ('none', 'active', 'paused', 'warning', 'breached', 'met')", name=op.f("ck_tickets_sla_state")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending_customer', 'on_hold', 'solved', 'closed', 'merged')",
            name=op.f("ck_tickets_status"),
        ),
        sa.ForeignKeyConstraint(["assignee_id"], ["agents.id"], name=op.f("fk_tickets_assignee_id_agents")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_tickets_contact_id_contacts")),
        sa.ForeignKeyConstraint(["merged_into_id"], ["tickets.id"], name=op.f("fk_tickets_merged_into_id_tickets")),
        sa.ForeignKeyConstraint(
            ["sla_policy_id"], ["sla_policies.id"], name=op.f("fk_tickets_sla_policy_id_sla_policies")
        ),
        sa.ForeignKeyConstraint(["split_from_id"], ["tickets.id"], name=op.f("fk_tickets_split_from_id_tickets")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_tickets_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_assignee_status_updated", ["assignee_id", "status", "updated_at"], unique=False
        )
        batch_op.create_index("ix_tickets_contact", ["contact_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_tickets_sla_due",
            ["sla_next_due_at"],
            unique=False,
            postgresql_where=sa.text('sla_next_due_at IS NOT NULL'),
            sqlite_where=sa.text('sla_next_due_at IS NOT NULL'),
        )
        batch_op.create_index("ix_tickets_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "ix_tickets_unassigned_area",
            ["area", "status", "created_at"],
            unique=False,
            postgresql_where=sa.text('assignee_id IS NULL'),
            sqlite_where=sa.text('assignee_id IS NULL'),
        )

    op.create_table(
        "automation_runs",
        sa.Column("automation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status_since", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["automation_id"], ["automations.id"], name=op.f("fk_automation_runs_automation_id_automations")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_automation_runs_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("automation_id", "ticket_id", "status_since", name=op.f("pk_automation_runs")),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("channel_thread", sa.String(length=254), nullable=True),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("handled_by", sa.String(length=8), nullable=False),
        sa.Column("contained", sa.Boolean(), nullable=True),
        sa.Column("last_message_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('chat', 'phone', 'email', 'whatsapp', 'telegram', 'wechat', 'messenger', 'instagram', 'api')",
            name=op.f("ck_conversations_channel"),
        ),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_conversations_status")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_conversations_contact_id_contacts")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_conversations_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_contact", ["contact_id", "id"], unique=False)
        batch_op.create_index("ix_conversations_status_last", ["status", "last_message_at"], unique=False)
        batch_op.create_index("ix_conversations_ticket", ["ticket_id"], unique=False)

    op.create_table(
        "sla_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_events_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_events")),
    )
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_events_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "sla_targets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=False),
        sa.Column("started_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_seconds", sa.Integer(), nullable=False),
        sa.Column("warned_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fulfilled_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_targets_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_targets")),
    )
    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_targets_open_due",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text('fulfilled_at IS NULL'),
            sqlite_where=sa.text('fulfilled_at IS NULL'),
        )
        batch_op.create_index("ix_sla_targets_ticket_metric", ["ticket_id", "metric"], unique=False)

    op.create_table(
        "ticket_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_links_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_links")),
        sa.UniqueConstraint("ticket_id", "kind", "reference", name=op.f("uq_ticket_links_ticket_id_kind_reference")),
    )
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_links_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "ticket_search",
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("updated_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_search_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_search")),
    )
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("asked_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name=op.f("ck_csat_surveys_rating")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_csat_surveys_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_csat_surveys_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_surveys")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_csat_surveys_ticket_id")),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("conversation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("author_type", sa.String(length=8), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("delivery_status", sa.String(length=10), nullable=False),
        sa.Column("created_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "author_type IN ('contact', 'agent', 'bot', 'system')", name=op.f("ck_messages_author_type")
        ),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_messages_direction")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_messages_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_messages_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("channel", "provider_message_id", name=op.f("uq_messages_channel_provider_message_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_conversation", ["conversation_id", "id"], unique=False)
        batch_op.create_index("ix_messages_ticket", ["ticket_id", "id"], unique=False)

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("presence", sa.String(length=8), nullable=False, server_default="offline"))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("areas", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("last_assigned_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), nullable=False, server_default="api"))
        batch_op.add_column(sa.Column("expires_at", gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True))

    op.execute("INSERT INTO desk_event_sequence (name, last_id) VALUES ('desk', 0)")
    _full_text_index()


def _full_text_index() -> None:
    """Ticket search over word-segmented text (Chinese is segmented before it is stored, so
    both engines only split on spaces)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_ticket_search_fts ON ticket_search USING GIN (to_tsvector('simple', tokens))")
        return
    op.execute(
        "CREATE VIRTUAL TABLE ticket_search_fts USING fts5(tokens, content='ticket_search', "
        "content_rowid='ticket_id', tokenize='unicode61')"
    )
    op.execute(
        "CREATE TRIGGER ticket_search_ai AFTER INSERT ON ticket_search BEGIN "
        "INSERT INTO ticket_search_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END"
    )
    op.execute(
        "CREATE TRIGGER ticket_search_ad AFTER DELETE ON ticket_search BEGIN "
        "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, tokens) "
        "VALUES ('delete', old.ticket_id, old.tokens); END"
    )
    op.execute(
        "CREATE TRIGGER ticket_search_au AFTER UPDATE ON ticket_search BEGIN "
        "INSERT INTO ticket_search_fts(ticket_search_fts, rowid, tokens) "
        "VALUES ('delete', old.ticket_id, old.tokens); "
        "INSERT INTO ticket_search_fts(rowid, tokens) VALUES (new.ticket_id, new.tokens); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_search_ai", "ticket_search_ad", "ticket_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_fts")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("kind")

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("last_assigned_at")
        batch_op.drop_column("areas")
        batch_op.drop_column("languages")
        batch_op.drop_column("capacity")
        batch_op.drop_column("presence")
        batch_op.drop_column("totp_secret")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_ticket")
        batch_op.drop_index("ix_messages_conversation")

    op.drop_table("messages")
    op.drop_table("csat_surveys")
    op.drop_table("ticket_search")
    with op.batch_alter_table("ticket_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_links_ticket_id"))

    op.drop_table("ticket_links")
    with op.batch_alter_table("sla_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_targets_ticket_metric")
        batch_op.drop_index(
            "ix_sla_targets_open_due", postgresql_where=sa.text('fulfilled_at IS NULL'), sqlite_where=sa.text('fulfilled_at IS NULL')
        )

    op.drop_table("sla_targets")
    with op.batch_alter_table("sla_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_events_ticket_id"))

    op.drop_table("sla_events")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_ticket")
        batch_op.drop_index("ix_conversations_status_last")
        batch_op.drop_index("ix_conversations_contact")

    op.drop_table("conversations")
    op.drop_table("automation_runs")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tickets_unassigned_area", postgresql_where=sa.text('assignee_id IS NULL'), sqlite_where=sa.text('assignee_id IS NULL')
        )
        batch_op.drop_index("ix_tickets_status_id")
        batch_op.drop_index(
            "ix_tickets_sla_due",
            postgresql_where=sa.text('sla_next_due_at IS NOT NULL'),
            sqlite_where=sa.text('sla_next_due_at IS NOT NULL'),
        )
        batch_op.drop_index("ix_tickets_contact")
        batch_op.drop_index("ix_tickets_assignee_status_updated")

    op.drop_table("tickets")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identities_contact_id"))

    op.drop_table("contact_identities")
    op.drop_table("team_members")
    op.drop_table("sla_policies")
    op.drop_table("contacts")
    op.drop_table("triggers")
    op.drop_table("teams")
    op.drop_table("macros")
    with op.batch_alter_table("desk_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_events_ticket_id"))

    op.drop_table("desk_events")
    op.drop_table("desk_event_sequence")
    op.drop_table("custom_roles")
    op.drop_table("business_calendars")
    op.drop_table("automations")
