"""ix_post_account → ix_post_account_due (account, not_before, id) of claimable posts

A daemon whose worker finishes a post goes straight on with the same account's next
due post (``queue.finalize_and_begin_next``): that lookup is "the earliest
claimable post of this account", an index seek with this index, a scan of every post
the account ever had without it. It is partial (only ``scheduled`` and ``retry`` posts) so
the first entry is the answer, also on PostgreSQL, where ``status IN (…)`` in the index's
columns had made every due post of the account read and sorted. Nothing needs the old
single-column index (lookups by account also name a status or a release), so it goes:
still one index per post insert.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

CLAIMABLE = "status IN ('scheduled', 'retry')"


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_account_due', ['account', 'not_before', 'id'],
                              unique=False, sqlite_where=sa.text(CLAIMABLE),
                              postgresql_where=sa.text(CLAIMABLE))
        batch_op.drop_index('ix_post_account')


def downgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_account', ['account'], unique=False)
        batch_op.drop_index('ix_post_account_due')
