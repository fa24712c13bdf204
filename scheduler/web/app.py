"""The desk's web application (Starlette): pages, forms and who may do what.

Every page is rendered on the server from the same core the CLI uses; forms are plain
HTML forms (no JavaScript needed), each with the session's CSRF token. Approvers
(``penyetuju``, ``admin``) approve and decline; staff (``staf``, ``admin``) reschedule and
cancel. An approval link (``/tautan/TOKEN``) opens one release for the approver it was
issued to, once.
"""

from __future__ import annotations

import hmac
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from scheduler import approval, audit, queries, queue
from scheduler.errors import SiarError
from scheduler.i18n import _, language
from scheduler.settings import Settings
from scheduler.states import CANCELLABLE, label, outcome_label
from scheduler.timeparse import TimeParseError, parse_when, show, zone
from scheduler.web import calendar, links, sessions, users

log = logging.getLogger("siar.web")
TEMPLATES = Path(__file__).parent / "templates"
#: sent with every page: no framing, no inline script, no referrer (a link's token must
#: not leak to another site), nothing cached (pages show the queue as it is now)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
}


class Desk:
    """The application's state: settings, database, templates, the login limiter."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.limiter = sessions.LoginLimiter()
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(["html"]))
        self.env.globals.update(_=_, label=label, outcome_label=outcome_label,
                                lang=language)

    # --- helpers -----------------------------------------------------------------------

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        """A rendered template with the security headers (and the visitor, if any)."""
        body = self.env.get_template(name).render(
            visitor=getattr(request.state, "visitor", None), zone=self.settings.timezone,
            **context)
        return HTMLResponse(body, status_code=status, headers=HEADERS)

    def visitor(self, request: Request) -> sessions.Visitor | None:
        found = sessions.find(self.engine, request.cookies.get(sessions.COOKIE))
        request.state.visitor = found
        return found

    async def checked_form(self, request: Request, expected: str) -> dict[str, str]:
        """The form's fields, if its CSRF token is ``expected``; else a refusal."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not hmac.compare_digest(form.get("csrf", ""), expected):
            raise Refused(403, _("This form is out of date or did not come from Siar. "
                                 "Open the page again and retry."))
        return form

    def release_context(self, release_id: int) -> dict[str, Any]:
        """What the release page shows: the preview cards, each post, its attempt log."""
        from scheduler import preview

        release, posts = queries.release_with_posts(self.engine, release_id)
        attempts = queries.attempts_for(self.engine, [p.id for p in posts])  # type: ignore[misc]
        cards = preview.render_cards(preview.queued_variants(posts, self.settings))
        return {"release": release, "posts": posts, "attempts": attempts, "cards": cards,
                "card_css": preview.card_css(), "show": show,
                "awaiting": any(p.status == "awaiting_approval" for p in posts),
                "cancellable": any(p.status in CANCELLABLE for p in posts),
                "history": audit.entries(self.engine, release_id=release_id)}


class Refused(Exception):
    """A request the desk turns down: the status and what the person reads."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def build(settings: Settings, engine: Engine) -> Starlette:
    """The ASGI application of ``siar web``."""
    desk = Desk(settings, engine)

    def guarded(handler: Any, *, login: bool = True) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                if desk.visitor(request) is None and login:
                    return RedirectResponse("/masuk?lanjut=" + quote(request.url.path),
                                            status_code=303, headers=HEADERS)
                return await handler(desk, request)
            except Refused as refused:
                return desk.page(request, "message.html", refused.status,
                                 message=refused.message)
            except SiarError as exc:
                return desk.page(request, "message.html", 400,
                                 message=exc.message + (f" — {exc.hint}" if exc.hint else ""))
        return endpoint

    routes = [
        Route("/", guarded(home)), Route("/kalender", guarded(calendar_page)),
        Route("/rilis/{id:int}", guarded(release_page)),
        Route("/rilis/{id:int}/{action:str}", guarded(release_action), methods=["POST"]),
        Route("/status", guarded(status_page)),
        Route("/masuk", guarded(login_page, login=False), methods=["GET", "POST"]),
        Route("/keluar", guarded(logout), methods=["POST"]),
        Route("/tautan/{token:str}", guarded(link_page, login=False), methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


def _secure(request: Request) -> bool:
    """Behind HTTPS (directly, or a reverse proxy that says so): cookies are Secure."""
    return request.url.scheme == "https"


async def home(desk: Desk, request: Request) -> Response:
    return RedirectResponse("/kalender", status_code=303, headers=HEADERS)


async def login_page(desk: Desk, request: Request) -> Response:
    """The login form; a new session (and cookie) at every login."""
    nxt = request.query_params.get("lanjut", "/kalender")
    # only a path of this site: never "//host" or "/\\host", which browsers take elsewhere
    nxt = nxt if nxt.startswith("/") and nxt[1:2] not in ("/", "\\") else "/kalender"
    if request.method == "GET":
        token = _login_csrf(request)
        response = desk.page(request, "login.html", next=nxt, csrf=token)
        response.set_cookie("siar_masuk", token, httponly=True,
                            samesite="strict", secure=_secure(request))
        return response
    form = await desk.checked_form(request, request.cookies.get("siar_masuk", "-"))
    name, password = form.get("nama", "").strip(), form.get("sandi", "")
    address = request.client.host if request.client else "-"
    if not desk.limiter.allowed(address, name):
        return desk.page(request, "login.html", 429, next=nxt, csrf=form["csrf"],
                         error=_("Too many failed logins. Wait 15 minutes and try again."))
    user = users.verify(desk.engine, name, password)
    if user is None:
        desk.limiter.failed(address, name)
        log.info("desk: failed login for %r from %s", name, address)
        return desk.page(request, "login.html", 401, next=nxt, csrf=form["csrf"],
                         error=_("Wrong name or password."))
    # a session planted before the login is ended, and a new token is made
    sessions.end(desk.engine, request.cookies.get(sessions.COOKIE))
    token = sessions.start(desk.engine, user)
    response = RedirectResponse(nxt, status_code=303, headers=HEADERS)
    response.set_cookie(sessions.COOKIE, token, httponly=True, samesite="lax",
                        secure=_secure(request), max_age=int(sessions.LIFETIME.total_seconds()))
    response.delete_cookie("siar_masuk")
    log.info("desk: %s logged in", user.name)
    return response


def _login_csrf(request: Request) -> str:
    import secrets

    return request.cookies.get("siar_masuk") or secrets.token_urlsafe(24)


async def logout(desk: Desk, request: Request) -> Response:
    await desk.checked_form(request, request.state.visitor.csrf)
    sessions.end(desk.engine, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/masuk", status_code=303, headers=HEADERS)
    response.delete_cookie(sessions.COOKIE)
    return response


async def calendar_page(desk: Desk, request: Request) -> Response:
    view = "week" if request.query_params.get("tampilan") == "minggu" else "month"
    try:
        anchor = date.fromisoformat(request.query_params.get("tanggal", ""))
    except ValueError:
        anchor = datetime.now(zone(desk.settings.timezone)).date()
    weeks = calendar.grid(desk.engine, desk.settings.timezone, view, anchor)
    start, _end = calendar.period(view, anchor)

    step = timedelta(days=7) if view == "week" else timedelta(days=31)
    earlier = (start - timedelta(days=1)) if view == "month" else anchor - step
    later = (anchor.replace(day=1) + step) if view == "month" else anchor + step
    return desk.page(request, "calendar.html", weeks=weeks, view=view, anchor=anchor,
                     days=calendar.day_names(), month=calendar.month_name(anchor.month),
                     earlier=earlier, later=later, today=datetime.now(
                         zone(desk.settings.timezone)).date())


async def release_page(desk: Desk, request: Request) -> Response:
    return desk.page(request, "release.html", **desk.release_context(request.path_params["id"]),
                     csrf=request.state.visitor.csrf, notice=request.query_params.get("ok"))


async def release_action(desk: Desk, request: Request) -> Response:
    """Setujui / Tolak (approvers), Jadwal ulang / Batalkan (staff)."""
    visitor: sessions.Visitor = request.state.visitor
    release_id, action = request.path_params["id"], request.path_params["action"]
    form = await desk.checked_form(request, visitor.csrf)
    comment = form.get("komentar", "").strip() or None
    if action in ("setujui", "tolak"):
        if visitor.role not in users.APPROVERS:
            raise Refused(403, _("Only an approver (penyetuju) may approve or decline."))
        if action == "setujui":
            approval.approve(desk.engine, release_id, by=visitor.name, comment=comment)
        else:
            approval.decline(desk.engine, release_id, by=visitor.name, comment=comment or "")
    elif action in ("jadwal", "batal"):
        if visitor.role not in users.STAFF:
            raise Refused(403, _("Only staff (staf) may reschedule or cancel."))
        if action == "jadwal":
            from scheduler.intake import PAST_TOLERANCE

            try:
                when, _zone = parse_when(form.get("waktu", ""),
                                         default_zone=desk.settings.timezone)
            except TimeParseError as exc:
                raise SiarError(str(exc)) from exc
            if when < datetime.now(zone("UTC")) - PAST_TOLERANCE:
                raise SiarError(_("{time} is in the past").format(
                    time=show(when, desk.settings.timezone)), hint=_("give a future time or 'now'"))
            if not approval.reschedule(desk.engine, desk.settings, release_id, None, when,
                                       by=visitor.name):
                raise SiarError(_("no post of this release can be rescheduled"))
        else:
            ids = queries.post_ids_in(desk.engine, release_id, None, CANCELLABLE)
            if not ids:
                raise SiarError(_("release {target}: nothing left to cancel").format(
                    target=release_id))
            done = queue.cancel(desk.engine, ids)
            _r, posts = queries.release_with_posts(desk.engine, release_id)
            audit.record(desk.engine, visitor.name, "cancel", release_id,
                         [p.account for p in posts if p.id in done])
    else:
        raise Refused(404, _("There is no such action."))
    return RedirectResponse(f"/rilis/{release_id}?ok={action}", status_code=303,
                            headers=HEADERS)


async def status_page(desk: Desk, request: Request) -> Response:
    from scheduler.status import snapshot, undelivered_alerts

    snap = snapshot(desk.engine, desk.settings.daemon)
    undelivered = undelivered_alerts(desk.engine)
    return desk.page(request, "status.html", snap=snap, undelivered=undelivered, show=show,
                     overdue_seconds=snap.overdue.seconds(snap.now))


async def link_page(desk: Desk, request: Request) -> Response:
    """An approval link: the release for its approver; approve or decline, once."""
    token = request.path_params["token"]
    link = links.valid(desk.engine, token)
    if link is None:
        raise Refused(410, _("This approval link has expired or was used already. Ask for "
                             "a new one ('siar approve --link ID')."))
    if request.method == "POST":
        form = await desk.checked_form(request, links.csrf_for(token))
        action = form.get("aksi")
        comment = form.get("komentar", "").strip()
        if action == "tolak" and not comment:
            raise SiarError(_("a release is declined with a reason"))
        spent = links.spend(desk.engine, token)
        if spent is None:
            raise Refused(410, _("This approval link has expired or was used already."))
        if action == "setujui":
            approval.approve(desk.engine, spent.release_id, by=spent.issued_to,
                             comment=comment or None, link_issued_to=spent.issued_to)
        else:
            approval.decline(desk.engine, spent.release_id, by=spent.issued_to,
                             comment=comment, link_issued_to=spent.issued_to)
        return desk.page(request, "message.html", message=_(
            "Thank you, {name}: release {id} is {what}.").format(
                name=spent.issued_to, id=spent.release_id,
                what=_("approved") if action == "setujui" else _("declined")))
    return desk.page(request, "release.html", **desk.release_context(link.release_id),
                     csrf=links.csrf_for(token), link=link, notice=None,
                     request_path=request.url.path)


__all__ = ["Desk", "Refused", "build"]
