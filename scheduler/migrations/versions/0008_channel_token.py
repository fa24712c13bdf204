"""channel_token: OAuth tokens that the network rotates (TikTok)

TikTok replaces the refresh token on every refresh; the new one must outlive the process
that got it and be shared by every daemon of the account, so it is kept here, one row per
account, beside the queue the daemons already share. No command prints the table; on
PostgreSQL nobody but the owner (the daemon's database user) may read it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'channel_token',
        sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=False),
        sa.Column('access_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('refresh_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('seed', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('account'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('REVOKE ALL ON channel_token FROM PUBLIC')


def downgrade() -> None:
    op.drop_table('channel_token')
