"""alert delivery retries: attempts, next_try_at, last_error on the alert row

An alert whose delivery failed (one or every notify account) is tried again with backoff,
across restarts, by whichever daemon claims it first: ``attempts`` is the claim's fencing
token, ``next_try_at`` the next try (or the end of the running attempt's lease), and
``last_error`` what ``siar status`` shows while it is not delivered. Rows of earlier
versions get ``attempts = 0`` and no next try: they are not sent again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 22:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.add_column(sa.Column('next_try_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.create_index('ix_alert_next_try_at', ['next_try_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_next_try_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_try_at')
        batch_op.drop_column('attempts')
