"""The tables. Times are aware UTC; the author's zone is kept beside them.

Only :mod:`scheduler.queue` writes ``Post.status`` (and the lease/attempt columns that
go with it). Everything else reads. The states and their named sets are
:mod:`scheduler.states` (``Status`` is importable from here too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from scheduler.factories import no_entries, no_items
from scheduler.states import Status
from scheduler.timeparse import utcnow

#: SQLAlchemy builds, stores and loads the rows; pydantic's validator of a table model is
#: built only if something validates one (building all eleven cost ~15 ms of every process
#: that imports the models: the daemon's start, each command)
DEFERRED = ConfigDict(defer_build=True)

__all__ = ["AccountState", "Alert", "ApprovalLink", "Attempt", "AuditEntry", "ChannelToken",
           "DeskSession", "DeskUser", "Node", "Post", "Release", "Status"]


class Release(SQLModel, table=True):
    """One press release as staff wrote it."""

    model_config = DEFERRED  # type: ignore[assignment]

    id: int | None = Field(default=None, primary_key=True)
    title: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    source: str = ""
    zone: str = "Asia/Jakarta"
    due_at: datetime = Field(index=True)
    hashtags: list[str] = Field(default_factory=no_items, sa_column=Column(JSON, nullable=False))
    link: str | None = None
    images: list[dict[str, Any]] = Field(default_factory=no_items,
                                         sa_column=Column(JSON, nullable=False))
    mentions: list[str] = Field(default_factory=no_items, sa_column=Column(JSON, nullable=False))
    summary: str | None = None
    language: str = "id"
    #: cron expression for a recurring release; each occurrence is a new release row
    repeat: str | None = None
    #: for an occurrence of a recurring release: the template release it came from
    parent_id: int | None = Field(default=None, foreign_key="release.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("parent_id", "due_at", name="uq_release_occurrence"),)


class Post(SQLModel, table=True):
    """One release composed for one account: the unit that is scheduled and published."""

    model_config = DEFERRED  # type: ignore[assignment]

    id: int | None = Field(default=None, primary_key=True)
    #: no index of its own: uq_post_release_account leads with it (migration 0003)
    release_id: int = Field(foreign_key="release.id")
    #: indexed by ix_post_account_due (migration 0004), which leads with it
    account: str
    network: str
    variant: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=Status.SCHEDULED.value)
    due_at: datetime
    #: earliest time the next attempt may start (= due_at, later after a retry)
    not_before: datetime
    #: fencing token: incremented by each claim; a finalize must present the current one
    attempt: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    #: stable across attempts; adapters derive idempotency keys, rkeys, slugs from it
    publish_key: str
    #: thread parts already published and adapter checkpoints (container ids …)
    progress: dict[str, Any] = Field(default_factory=no_entries,
                                     sa_column=Column(JSON, nullable=False))
    remote_id: str | None = None
    remote_url: str | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    #: website first: the account (of the same release) whose published post's address is
    #: this post's link; the post is ``waiting`` until that one is out
    link_from: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (
        UniqueConstraint("release_id", "account", name="uq_post_release_account"),
        Index("ix_post_claim", "status", "not_before"),
        # an account's next due post (a worker going on with the same account): only the
        # claimable posts, in due order, so the first entry is the answer. Partial in the
        # database (migration 0004 creates it WHERE scheduler.states.CLAIMABLE_SQL, literal
        # because neither database uses a partial index for a bound parameter); the
        # predicate is not repeated here because a `sqlite_where`/`postgresql_where`
        # imports both SQL dialects in every process that imports the models (the
        # PostgreSQL one ~40 ms of each SQLite command's start), and only migrations,
        # never these classes, create indexes
        Index("ix_post_account_due", "account", "not_before", "id"),
    )


class Attempt(SQLModel, table=True):
    """Append-only audit log: one row per attempt at publishing a post."""

    model_config = DEFERRED  # type: ignore[assignment]

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    attempt: int
    node: str
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    #: published | rejected | not_sent | rate_limited | auth_failed | in_doubt | crashed |
    #: dry_run (an attempt's end); rehearsed (attempt 0: a dry run on a live database, the
    #: post left as it was); lease_expired | given_back | missed | settled_<status> |
    #: cancelled | rescheduled | resumed (a change without a request)
    outcome: str | None = None
    http_status: int | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AccountState(SQLModel, table=True):
    """What the daemons know about an account between posts (rate limits, auth pauses)."""

    model_config = DEFERRED  # type: ignore[assignment]

    account: str = Field(primary_key=True)
    rate_limited_until: datetime | None = None
    paused: bool = False
    paused_reason: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime = Field(default_factory=utcnow)


class Node(SQLModel, table=True):
    """A running daemon and its heartbeat."""

    model_config = DEFERRED  # type: ignore[assignment]

    name: str = Field(primary_key=True)
    host: str
    pid: int
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    stopped_at: datetime | None = None


class Alert(SQLModel, table=True):
    """A staff alert, stored once per ``key`` so several daemons and restarts never repeat it."""

    model_config = DEFERRED  # type: ignore[assignment]

    #: what the alert is about, e.g. ``auth:x-lapas`` or ``unknown:42:3`` (post 42, attempt 3)
    key: str = Field(primary_key=True)
    kind: str
    subject: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    #: when the last of the notify accounts took it (None: not yet, given up, or no notify
    #: account configured)
    sent_at: datetime | None = None
    #: per notify account: what its adapter answered (``Published`` = it has taken it)
    deliveries: dict[str, Any] = Field(default_factory=no_entries,
                                       sa_column=Column(JSON, nullable=False))
    #: delivery attempts begun; the fencing token of the daemon sending it (migration 0005)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})
    #: when the next delivery attempt may start; while one runs, the end of its lease.
    #: None: nothing left to try (delivered, given up, or no notify account)
    next_try_at: datetime | None = Field(default=None, index=True)
    #: why the last attempt did not reach every notify account
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ChannelToken(SQLModel, table=True):
    """The current OAuth tokens of an account whose network rotates its refresh token on
    every refresh (TikTok): written by whichever process refreshed, read by all of them
    (``scheduler/token_store.py``). Secrets: no command prints this table (migration 0008).
    """

    model_config = DEFERRED  # type: ignore[assignment]

    __tablename__ = "channel_token"

    account: str = Field(primary_key=True)
    access_token: str = Field(sa_column=Column(Text, nullable=False))
    refresh_token: str = Field(sa_column=Column(Text, nullable=False))
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    #: a digest of the .env refresh token these descend from (a new one there wins)
    seed: str
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Append-only: who did what to which release, and when (queue, approve, decline,
    reschedule, cancel, resolve). The database refuses to change or delete a row
    (triggers of migration 0009)."""

    model_config = DEFERRED  # type: ignore[assignment]

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    #: the person: the OS user or ``--as NAME`` on the CLI, the logged-in user on the web
    actor: str
    #: queue | approve | decline | reschedule | cancel | resolve
    action: str
    release_id: int | None = Field(default=None, index=True)
    #: the accounts of the release the action touched
    accounts: list[str] = Field(default_factory=no_items, sa_column=Column(JSON, nullable=False))
    #: what else there is to say: the comment, the new time, the link's recipient …
    detail: dict[str, Any] = Field(default_factory=no_entries,
                                   sa_column=Column(JSON, nullable=False))


class DeskUser(SQLModel, table=True):
    """A person who may log in to ``siar web``: staf, penyetuju (approver) or admin."""

    model_config = DEFERRED  # type: ignore[assignment]

    __tablename__ = "desk_user"

    name: str = Field(primary_key=True)
    role: str
    #: argon2 hash (the password itself is never stored)
    password_hash: str
    created_at: datetime = Field(default_factory=utcnow)


class DeskSession(SQLModel, table=True):
    """A logged-in browser; only the SHA-256 of the cookie's token is stored."""

    model_config = DEFERRED  # type: ignore[assignment]

    __tablename__ = "desk_session"

    token_hash: str = Field(primary_key=True)
    user_name: str = Field(foreign_key="desk_user.name", index=True)
    #: the token every form of this session carries (CSRF)
    csrf: str
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class ApprovalLink(SQLModel, table=True):
    """A one-time, expiring link that opens a release for one approver (``siar approve
    --link``); only the SHA-256 of its token is stored."""

    model_config = DEFERRED  # type: ignore[assignment]

    __tablename__ = "approval_link"

    token_hash: str = Field(primary_key=True)
    release_id: int = Field(foreign_key="release.id", index=True)
    #: whom the link was issued to: the approval records this name
    issued_to: str
    issued_by: str
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    #: set when the link was used (approve or decline): a link works once
    used_at: datetime | None = None
