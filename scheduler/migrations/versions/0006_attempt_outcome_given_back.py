"""attempt outcome "released" becomes "given_back"

A daemon that gives back a post it certainly never sent (it was stopping, or a COMMIT was
in doubt) logged the attempt as ``released``, a word staff read as "the press release":
the attempt log now says ``given_back``, and older rows are rewritten to match.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:50:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_RENAME = sa.text("UPDATE attempt SET outcome = :new WHERE outcome = :old")


def upgrade() -> None:
    op.get_bind().execute(_RENAME, {"old": "released", "new": "given_back"})


def downgrade() -> None:
    op.get_bind().execute(_RENAME, {"old": "given_back", "new": "released"})
