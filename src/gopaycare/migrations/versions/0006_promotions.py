"""Cashback campaigns and one promotion decision per payment

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 21:57:16.047820
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gopaycare.platform.db  # noqa: F401  (UTCDateTime in column types)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promo_campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('titles', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('starts_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=True),
    sa.Column('flat_amount', sa.BigInteger(), nullable=True),
    sa.Column('max_cashback', sa.BigInteger(), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=True),
    sa.Column('granted_total', sa.BigInteger(), nullable=False),
    sa.Column('credit_delay_hours', sa.Integer(), nullable=False),
    sa.Column('created_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'paused', 'ended')", name=op.f('ck_promo_campaigns_status')),
    sa.CheckConstraint('(percent IS NULL) <> (flat_amount IS NULL)',
                       name=op.f('ck_promo_campaigns_one_reward')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_promo_campaigns_period')),
    sa.CheckConstraint('granted_total >= 0 AND (budget IS NULL OR granted_total <= budget)',
                       name=op.f('ck_promo_campaigns_within_budget')),
    sa.CheckConstraint('percent IS NULL OR (percent > 0 AND percent <= 100)',
                       name=op.f('ck_promo_campaigns_percent_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_campaigns')),
    sa.UniqueConstraint('code', name=op.f('uq_promo_campaigns_code'))
    )
    with op.batch_alter_table('promo_campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_promo_campaigns_period', ['status', 'starts_at', 'ends_at'], unique=False)

    op.create_table('promo_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_reference', sa.String(length=24), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('payment_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cashback_reference', sa.String(length=24), nullable=True),
    sa.Column('failure_reason', sa.String(length=32), nullable=True),
    sa.Column('created_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'none') = (campaign_id IS NULL)",
                       name=op.f('ck_promo_decisions_campaign_when_rewarded')),
    sa.CheckConstraint("status IN ('none', 'scheduled', 'credited', 'failed', 'cancelled')",
                       name=op.f('ck_promo_decisions_status')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_promo_decisions_amount_not_negative')),
    sa.ForeignKeyConstraint(['campaign_id'], ['promo_campaigns.id'],
                            name=op.f('fk_promo_decisions_campaign_id_promo_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_decisions')),
    sa.UniqueConstraint('payment_reference', name=op.f('uq_promo_decisions_payment_reference'))
    )
    with op.batch_alter_table('promo_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_promo_decisions_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_promo_decisions_use', ['campaign_id', 'customer_id', 'payment_at'], unique=False)



    op.create_table('promo_sweep_cursor',
    sa.Column('name', sa.String(length=24), nullable=False),
    sa.Column('position_at', gopaycare.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('position_reference', sa.String(length=24), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_promo_sweep_cursor'))
    )


def downgrade() -> None:
    op.drop_table('promo_sweep_cursor')
    with op.batch_alter_table('promo_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_promo_decisions_use')
        batch_op.drop_index('ix_promo_decisions_due')

    op.drop_table('promo_decisions')
    with op.batch_alter_table('promo_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_promo_campaigns_period')

    op.drop_table('promo_campaigns')
