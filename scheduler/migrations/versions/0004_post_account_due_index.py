"""ix_post_account → ix_post_account_due (account, status, not_before)

A daemon whose worker finishes a post goes straight on with the same account's next
due post (``queue.finalize_many(..., then_begin=...)``): that lookup is "the earliest
claimable post of this account", an index seek with this index, a scan of every post
the account ever had without it. The index leads with ``account``, so it answers every
lookup the old single-column one did; replacing it keeps one index per post insert.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:40:00.000000
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_account_due', ['account', 'status', 'not_before'],
                              unique=False)
        batch_op.drop_index('ix_post_account')


def downgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_account', ['account'], unique=False)
        batch_op.drop_index('ix_post_account_due')
