"""post.link_from: website first

A post whose link is the address of another post of its release (``link: website``) names
that account here and waits (status ``waiting``) until that post is published.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:20:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN on both databases: SQLite need not copy the table
    op.add_column('post', sa.Column('link_from', sa.String(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would have to drop
    # "post", which the attempt rows' foreign key forbids
    op.drop_column('post', 'link_from')
