"""What `siar add` prints: the queued release (or, for a content calendar, a summary), the
notes of how files were read, and the secrets an account still lacks."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from typing import Any

from scheduler.cli import console, err_console, print_json, state
from scheduler.i18n import _

# Above this many releases `siar add` prints a summary, not one line per release: a content
# calendar of 10,000 files printed 10,001 lines, and printing was a third of its time.
LISTED_RELEASES = 20


def get_ready() -> None:
    """Import what storing and printing plans need (the database layer and its driver, the
    console): for a caller with time to spare while other processes plan, so that storing
    starts at once. Nothing is opened: a bad file still leaves the database untouched."""
    from contextlib import suppress

    from sqlalchemy.engine import make_url

    from scheduler import approval, audit, capacity, queue  # noqa: F401
    from scheduler.db import normalise_url

    # psycopg alone is a tenth of a second; a URL it cannot read is reported when the
    # database is opened, as ever
    with suppress(Exception):
        make_url(normalise_url(state.settings.database_url)).get_dialect().import_dbapi()
    console.real  # noqa: B018 (the Rich console, built now rather than when printing)


class EarlyStore:
    """Stores a long calendar's first releases while later files are still being planned
    (``plan_sources``' ``planned``), in one transaction that commits when the block ends,
    or rolls back if it raises (a bad file later on: nothing is stored). Without it the
    posts were stored only after the last file was planned, on one core while the other
    waited: a sixth of a 10,000-file ``siar add``.

    Releases with photos or videos are not stored early, nor any after them: their files
    are copied into the media store (``keep_media``) only once every file is planned, so
    a bad file later leaves no copies behind. On SQLite the write lock is held from the
    first early batch to the end: daemons wait that long (the command's last seconds)
    before they can write."""

    def __init__(self, actor: str | None) -> None:
        self._actor = actor
        self._stack = ExitStack()
        self._writer: Any = None
        self._stopped = False
        #: the ids of the releases stored so far, in the files' order
        self.ids: list[int] = []

    def __enter__(self) -> EarlyStore:
        return self

    def __exit__(self, *exc: object) -> bool | None:
        return self._stack.__exit__(*exc)

    def __call__(self, plans: list[Any]) -> None:
        """Store ``plans`` (those after the ones given before), unless a photo or a video
        came first."""
        if self._stopped or any(p.doc.images or p.doc.videos for p in plans):
            self._stopped = True
            return
        self._store(plans)

    def rest(self, plans: list[Any]) -> list[int] | None:
        """Store every plan of ``plans`` (all of the calendar, in order) not stored yet;
        the ids of all, or None when nothing was stored early (the usual path then)."""
        if self._writer is None:
            return None
        self._store(plans[len(self.ids):])
        return self.ids

    def _store(self, plans: list[Any]) -> None:
        from scheduler import approval, queue
        from scheduler.cli.actor import who

        if self._writer is None:
            self._writer = self._stack.enter_context(
                approval.bulk_writer(state.engine, state.settings, by=who(self._actor)))
        self.ids += self._writer.add([queue.BulkItem(p.doc, p.variants, p.due_at, p.zone)
                                      for p in plans])


def print_notes(doc: Any) -> None:
    """What the officer should know about how the release file was read."""
    for note in doc.notes:
        err_console.print("[yellow]" + _("note") + f":[/] {doc.source}: {note}",
                          highlight=False)


def _print_plan_notes(plan: Any, *, name_source: bool = False) -> None:
    where = f"{plan.doc.source}: " if name_source else ""
    print_notes(plan.doc)
    for note in plan.notes:
        err_console.print("[yellow]" + _("note") + f":[/] {where}{note}", highlight=False)


def _warn_missing_secrets(plans: list[Any]) -> None:
    """Once per account, however many releases it takes; never in a rehearsal deployment
    (``dry_run = true``), which needs no secrets."""
    from scheduler import intake

    if state.settings.dry_run:
        return

    accounts = {a.name: a for plan in plans for a in plan.accounts}
    for account, variables in intake.missing_secrets(state.settings,
                                                     list(accounts.values())).items():
        err_console.print("[yellow]" + _("warning") + ":[/] " + _(
            "{account} cannot publish until {variables} is set (environment or .env)").format(
                account=account, variables=", ".join(variables)), highlight=False)


def _warn_over_capacity(plans: list[Any]) -> None:
    """Once the posts are stored: each day on which an account's queue now exceeds its
    network's daily capacity (an API quota, ``scheduler/capacity.py``)."""
    from scheduler.capacity import capacities, over_capacity

    planned = [(account, plan.due_at) for plan in plans for account in plan.accounts]
    if not capacities([account for account, _due in planned]):
        return
    grace = timedelta(minutes=state.settings.daemon.grace_minutes)
    for account, lines in over_capacity(state.engine, planned, stored=True,
                                        grace=grace).items():
        for line in lines:
            err_console.print("[yellow]" + _("warning") + f":[/] {account}: {line}",
                              highlight=False)


def print_added(plans: list[Any], as_json: bool, *, by: str,
                stored: list[int] | None = None) -> None:
    """Store the plans (one release alone, several through the bulk path) and say what
    was queued; ``by`` is who queued them (the audit log). ``stored``: the plans are
    stored already, with these release ids (:class:`EarlyStore`)."""
    if len(plans) == 1 and stored is None:
        _add_one(plans[0], as_json, by)
    else:
        _add_many(plans, as_json, by, stored)


def _add_one(plan: Any, as_json: bool, by: str) -> None:
    from scheduler import approval
    from scheduler.models import Status
    from scheduler.timeparse import iso, show

    release, posts = approval.enqueue(state.engine, state.settings, plan.doc, plan.variants,
                                      plan.due_at, zone=plan.zone, by=by)
    _print_plan_notes(plan)
    _warn_missing_secrets([plan])
    _warn_over_capacity([plan])
    if as_json:
        print_json({"release": release.id, "title": release.title,
                    "due_at": iso(release.due_at, plan.zone),
                    "posts": [{"id": f"{release.id}/{p.account}", "account": p.account,
                               "channel": p.network, "status": p.status} for p in posts]})
        return
    console.print(_("queued release {id} “{title}” for {time} on {count} account(s):").format(
        id=f"[bold]{release.id}[/]", title=release.title,
        time=f"[bold]{show(release.due_at, plan.zone)}[/]", count=len(posts)))
    width = max(len(f"{release.id}/{p.account}") for p in posts)  # IDs in one column
    for post, variant in zip(posts, plan.variants, strict=True):
        parts = (_("{count} parts").format(count=len(variant.parts)) if len(variant.parts) > 1
                 else _("1 post"))
        warn = (" [yellow](" + _("{count} warning(s)").format(count=len(variant.warnings))
                + ")[/]" if variant.warnings else "")
        waits = (" " + _("(waits for {account})").format(account=post.link_from)
                 if post.link_from else "")
        if post.status == Status.AWAITING_APPROVAL.value:
            waits += " " + _("(awaiting approval)")
        target = f"{release.id}/{post.account}"
        console.print(f"  {target:<{width}}  {post.network:<10} {parts}{warn}{waits}")


def _add_many(plans: list[Any], as_json: bool, by: str, stored: list[int] | None) -> None:
    """Several releases in one transaction through the bulk path (a content calendar)."""
    from scheduler import approval, queue
    from scheduler.states import Status
    from scheduler.timeparse import iso, show

    ids = stored if stored is not None else approval.enqueue_bulk(
        state.engine, state.settings,
        [queue.BulkItem(p.doc, p.variants, p.due_at, p.zone) for p in plans], by=by)
    for plan in plans:
        if plan.doc.notes or plan.notes:
            _print_plan_notes(plan, name_source=True)
    _warn_missing_secrets(plans)
    _warn_over_capacity(plans)
    if as_json:
        print_json({"releases": [
            {"release": release_id, "title": plan.doc.title, "source": plan.doc.source,
             "due_at": iso(plan.due_at, plan.zone),
             "posts": [{"id": f"{release_id}/{v.account}", "account": v.account,
                        "channel": v.channel,
                        "status": (Status.AWAITING_APPROVAL
                                   if state.settings.needs_approval(v.account)
                                   else Status.WAITING
                                   if plan.doc.link_from not in (None, v.account)
                                   else Status.SCHEDULED).value}
                       for v in plan.variants]}
            for release_id, plan in zip(ids, plans, strict=True)]})
        return
    posts = sum(len(plan.variants) for plan in plans)
    if len(plans) > LISTED_RELEASES:
        _print_summary(ids, plans, posts)
        return
    console.print(_("queued {releases} releases, {posts} posts:").format(
        releases=len(plans), posts=posts))
    for release_id, plan in zip(ids, plans, strict=True):
        warned = sum(bool(v.warnings) for v in plan.variants)
        warn = (" [yellow](" + _("{count} with warnings").format(count=warned) + ")[/]"
                if warned else "")
        console.print(f"  [bold]{release_id}[/] “{plan.doc.title}” "
                      f"{show(plan.due_at, plan.zone)}, "
                      + _("{count} account(s)").format(count=len(plan.variants)) + warn)


def _print_summary(ids: list[int], plans: list[Any], posts: int) -> None:
    """What a long content calendar became, in a few lines: the span, the posts per
    account, and where the warnings are."""
    from collections import Counter

    from scheduler.timeparse import show

    first = min(plans, key=lambda p: p.due_at)
    last = max(plans, key=lambda p: p.due_at)
    per_account = Counter(v.account for plan in plans for v in plan.variants)
    warned = sum(bool(v.warnings) for plan in plans for v in plan.variants)
    # ids are contiguous unless another process queued at the same moment
    span = (" " + _("(releases {first}–{last})").format(first=ids[0], last=ids[-1])
            if ids[-1] - ids[0] == len(ids) - 1 else "")
    console.print(_("queued {releases} releases, {posts} posts{span}, due {first} … "
                    "{last}").format(releases=len(plans), posts=posts, span=span,
                                     first=show(first.due_at, first.zone),
                                     last=show(last.due_at, last.zone)))
    console.print("  " + ", ".join(f"{account} {n}" for account, n in sorted(per_account.items())))
    if warned:
        console.print("  [yellow]" + _("{count} post(s) with warnings").format(count=warned)
                      + "[/]: " + _("`siar preview ID` shows them"))
    console.print("  " + _("`siar queue` shows every post; `--json` prints them all"))
