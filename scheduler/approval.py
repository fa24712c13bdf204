"""Approval: with ``approval = "required"`` (the deployment's, or an account's own) nothing
goes out before an approver says yes.

A release queued under it has its posts ``awaiting_approval``, which no daemon claims.
:func:`approve` lets them go out at their time; :func:`decline` stops them with the
approver's reason; a new time (:func:`reschedule`) sends them back to the approver, since
an approval is for the time it was given for. At its time an unapproved release is held
and staff are alerted (:func:`held_alerts`); past the daemon's grace it is missed
(:func:`housekeeping`), never published late. Every action goes into the audit log with
who did it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection, Engine

from channels.variant import Variant
from scheduler import audit, notify, queries, queue
from scheduler.errors import SiarError
from scheduler.i18n import _
from scheduler.releases import ReleaseDoc
from scheduler.settings import Settings
from scheduler.states import REAPPROVABLE, RESCHEDULABLE, Status
from scheduler.timeparse import iso, show

if TYPE_CHECKING:  # the ORM's models: queueing a calendar does without them
    from scheduler.models import Post, Release


def awaiting(settings: Settings, variants: Iterable[Variant]) -> frozenset[str]:
    """The accounts among ``variants`` whose posts wait for an approver."""
    return frozenset(v.account for v in variants if settings.needs_approval(v.account))


def enqueue(engine: Engine, settings: Settings, doc: ReleaseDoc, variants: Sequence[Variant],
            due_at: datetime, *, zone: str | None, by: str) -> tuple[Release, list[Post]]:
    """Queue one release (under approval where required) and record who queued it."""
    def record(connection: Connection, release: Release, posts: list[Post]) -> None:
        audit.record(connection, by, "queue", release.id, [p.account for p in posts],
                     due_at=iso(release.due_at, release.zone), title=release.title,
                     awaiting_approval=sorted(p.account for p in posts
                                              if p.status == Status.AWAITING_APPROVAL.value)
                     or None)

    return queue.enqueue(engine, doc, variants, due_at, zone=zone,
                         awaiting=awaiting(settings, variants), then=record)


def enqueue_bulk(engine: Engine, settings: Settings, items: Sequence[queue.BulkItem], *,
                 by: str) -> list[int]:
    """Queue many releases (a content calendar) and record who queued each."""
    if not items:
        return []
    with bulk_writer(engine, settings, by=by) as writer:
        return writer.add(items)


@contextmanager
def bulk_writer(engine: Engine, settings: Settings, *, by: str) -> Iterator[BulkWriter]:
    """:func:`queue.bulk_writer` under approval where required, each batch's audit rows
    (who queued it) written with the batch: all committed when the block ends, or none."""
    with queue.bulk_writer(engine) as writer:
        yield BulkWriter(writer, settings, by)


class BulkWriter:
    """Stores batches of releases in one transaction (:func:`bulk_writer`)."""

    def __init__(self, writer: queue.BulkWriter, settings: Settings, by: str) -> None:
        self._writer = writer
        self._settings = settings
        self._by = by
        self._waits: dict[str, bool] = {}  # account → needs an approver (asked once)

    def add(self, items: Sequence[queue.BulkItem]) -> list[int]:
        """Store ``items`` after the batches before, with their audit rows; their ids."""
        from dataclasses import replace

        waits = self._waits
        for item in items:
            for v in item.variants:
                if v.account not in waits:
                    waits[v.account] = self._settings.needs_approval(v.account)
        if any(waits.values()) or any(i.awaiting for i in items):
            items = [replace(i, awaiting=frozenset(v.account for v in i.variants
                                                   if waits[v.account])) for i in items]
        # else: nothing awaits an approver: the items as they are, not a copy of each
        ids = self._writer.add(items)
        audit.record_queued(self._writer.connection, self._by, (
            (release_id, [v.account for v in item.variants],
             {"due_at": iso(item.due_at, item.zone or item.doc.zone), "title": item.doc.title})
            for release_id, item in zip(ids, items, strict=True)))
        return ids


def _posts(engine: Engine, release_id: int, account: str | None,
           states: tuple[Status, ...]) -> list[Post]:
    _release, posts = queries.release_with_posts(engine, release_id)  # NotFound if wrong
    return [p for p in posts if (account is None or p.account == account)
            and p.status in {s.value for s in states}]


def _nothing(release_id: int, account: str | None, what: str) -> SiarError:
    target = f"{release_id}/{account}" if account else str(release_id)
    return SiarError(_("release {target}: no post is awaiting approval to {what}").format(
        target=target, what=what), hint=_("'siar show {target}' shows each post's status")
        .format(target=target))


def _audit(action: str, by: str, release_id: int, accounts: dict[int, str],
           **detail: Any) -> Any:
    def then(s: Connection, ids: list[int]) -> None:
        audit.record(s, by, action, release_id, [accounts[i] for i in ids], **detail)
    return then


def approve(engine: Engine, release_id: int, account: str | None = None, *, by: str,
            comment: str | None = None, link_issued_to: str | None = None) -> list[Post]:
    """An approver's yes to the release's posts awaiting approval (one account's, if
    named). ``link_issued_to``: approved through an approval link given to that person.
    Returns the posts approved."""
    posts = _posts(engine, release_id, account, (Status.AWAITING_APPROVAL,))
    if not posts:
        raise _nothing(release_id, account, _("approve"))
    names = {p.id: p.account for p in posts}
    queue.approve(engine, list(names), by=by,  # type: ignore[arg-type]
                  then=_audit("approve", by, release_id, names, comment=comment or None,
                              link_issued_to=link_issued_to))
    return posts


def decline(engine: Engine, release_id: int, account: str | None = None, *, by: str,
            comment: str, link_issued_to: str | None = None) -> list[Post]:
    """An approver's no, with the reason staff need to correct the release."""
    if not comment.strip():
        raise SiarError(_("a release is declined with a reason"),
                        hint=_("say what should change, e.g. --comment \"foto kedua buram\""))
    posts = _posts(engine, release_id, account, (Status.AWAITING_APPROVAL,))
    if not posts:
        raise _nothing(release_id, account, _("decline"))
    names = {p.id: p.account for p in posts}
    queue.decline(engine, list(names), comment.strip(), by=by,  # type: ignore[arg-type]
                  then=_audit("decline", by, release_id, names, comment=comment.strip(),
                              link_issued_to=link_issued_to))
    return posts


def reschedule(engine: Engine, settings: Settings, release_id: int, account: str | None,
               when: datetime, *, by: str) -> list[Post]:
    """A new time for the release's posts; under approval they go back to the approver
    (also a declined one, corrected). Returns the posts moved."""
    posts = _posts(engine, release_id, account, REAPPROVABLE)
    again = [p for p in posts if settings.needs_approval(p.account)]
    plain = [p for p in posts if not settings.needs_approval(p.account)
             and p.status in {s.value for s in RESCHEDULABLE}]
    if again:
        queue.resubmit(engine, [p.id for p in again], when, by=by)  # type: ignore[misc]
    if plain:
        queue.reschedule(engine, [p.id for p in plain], when)  # type: ignore[misc]
    moved = again + plain
    if moved:
        audit.record(engine, by, "reschedule", release_id, [p.account for p in moved],
                     due_at=iso(when, settings.timezone),
                     awaiting_approval=sorted(p.account for p in again) or None)
    return moved


# --- the daemon's part ---------------------------------------------------------------------


def held_key(release_id: int, due_at: datetime) -> str:
    """The alert's key: once per release and time (a new time, a new alert)."""
    return f"approval:{release_id}:{iso(due_at, 'UTC')}"


def held_message(release: Release | None, release_id: int, accounts: list[str],
                 due_at: datetime, grace_minutes: float) -> notify.Message:
    """Staff alert: the release's time has come and it is not approved, so it is held."""
    title = f"“{release.title}”" if release else ""
    zone = release.zone if release else "Asia/Jakarta"
    return notify.Message(
        key=held_key(release_id, due_at), kind="approval",
        subject=_("Siar: release {id} is due and not approved — held").format(id=release_id),
        body="\n".join([
            _("release {id} {title}, due {time}, account(s) {accounts}").format(
                id=release_id, title=title, time=show(due_at, zone),
                accounts=", ".join(sorted(accounts))),
            _("It is not published until an approver approves it; {minutes} minutes after "
              "its time it is missed.").format(minutes=round(grace_minutes)),
            _("fix: {what}").format(what=_("'siar approve {id}' (an approver), or 'siar "
                                            "reschedule {id} --at …'").format(id=release_id)),
        ]))


def held_alerts(engine: Engine, grace_minutes: float, *, now: datetime | None = None,
                skip: frozenset[str] | set[str] = frozenset()) -> list[notify.Message]:
    """One alert per release whose posts are due and not approved (but those whose key
    is in ``skip``: raised already)."""
    due: dict[int, list[queue.Unapproved]] = defaultdict(list)
    for item in queue.unapproved_due(engine, now=now):
        due[item.release_id].append(item)
    messages = []
    for release_id, items in due.items():
        first = min(i.due_at for i in items)
        if held_key(release_id, first) in skip:
            continue
        release, _posts = queries.release_with_posts(engine, release_id)
        messages.append(held_message(release, release_id, [i.account for i in items],
                                     first, grace_minutes))
    return messages


def housekeeping(engine: Engine, settings: Settings, node: str, notifier: Any, *,
                 now: datetime | None = None, alerted: set[str] | None = None) -> int:
    """The daemon's turn: alert staff of releases held for approval, and miss those whose
    grace has run out. ``alerted``: the keys this daemon raised already (kept across
    turns, so that a held release costs no query per turn). Returns how many posts were
    missed."""
    alerted = set() if alerted is None else alerted
    grace = settings.daemon.grace_minutes
    missed = queue.miss_unapproved(engine, timedelta(minutes=grace), node, now=now)
    if missed:
        rows = []
        for post_id, release_id in missed:
            release, posts = queries.release_with_posts(engine, release_id)
            rows += [(p, release) for p in posts if p.id == post_id]
        notifier.alert(notify.missed(rows))
    for message in held_alerts(engine, grace, now=now, skip=alerted):
        notifier.alert(message)
        alerted.add(message.key)
    return len(missed)


__all__ = ["BulkWriter", "approve", "awaiting", "bulk_writer", "decline", "enqueue",
           "enqueue_bulk", "held_alerts", "held_key", "held_message", "housekeeping", "reschedule"]
