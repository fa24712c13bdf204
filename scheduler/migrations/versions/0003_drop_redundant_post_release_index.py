"""drop ix_post_release_id: uq_post_release_account (release_id, account) serves its lookups

Every post insert maintained both indexes; the unique one leads with ``release_id``, so
it answers every lookup by release (and the foreign key's) on its own. Bulk queueing
spent about 15 % of SQLite's insert CPU on the redundant one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:25:00.000000
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index('ix_post_release_id')


def downgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index('ix_post_release_id', ['release_id'], unique=False)
