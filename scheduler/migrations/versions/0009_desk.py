"""Siar Desk (issue 17): audit_log, the append-only record of who queued, approved,
declined, rescheduled, cancelled and resolved what (the database itself refuses to change
or delete a row); the desk's users, their sessions, and one-time approval links (tokens
stored as SHA-256 only).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 06:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_SQLITE_GUARDS = [
    f"CREATE TRIGGER audit_log_no_{what.lower()} BEFORE {what} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for what in ("UPDATE", "DELETE")]
_PG_GUARD = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=True),
        sa.Column('accounts', sa.JSON(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_index('ix_audit_log_release_id', 'audit_log', ['release_id'])
    op.create_table(
        'desk_user',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'desk_session',
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('csrf', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_name'], ['desk_user.name']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_desk_session_user_name', 'desk_session', ['user_name'])
    op.create_table(
        'approval_link',
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=False),
        sa.Column('issued_to', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['release_id'], ['release.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_approval_link_release_id', 'approval_link', ['release_id'])
    # append-only in the database too, so no code path (nor a hand-written UPDATE) can
    # rewrite what someone did
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_GUARD)
    else:
        for statement in _SQLITE_GUARDS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index('ix_approval_link_release_id', table_name='approval_link')
    op.drop_table('approval_link')
    op.drop_index('ix_desk_session_user_name', table_name='desk_session')
    op.drop_table('desk_session')
    op.drop_table('desk_user')
    op.drop_index('ix_audit_log_release_id', table_name='audit_log')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
