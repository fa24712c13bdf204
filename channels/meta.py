"""What Facebook, Instagram and Threads share: the Graph API's errors, limits and calls.

All three answer errors with one JSON shape (Graph API "Handling Errors")::

    {"error": {"message": "...", "type": "OAuthException", "code": 190,
               "error_subcode": 463, "is_transient": false, "fbtrace_id": "..."}}

and signal throttling mostly through error codes on a 400/403, not through a 429
(Graph API "Rate Limiting"): 4 (app), 17 (user), 32 (page), 613 (custom), 80001–80014
(Business Use Case), with the wait in ``X-Business-Use-Case-Usage``'s
``estimated_time_to_regain_access`` (minutes). This module turns those answers into
outcomes so the three adapters classify them the same way, and holds the container
flow Instagram and Threads share (create → poll status → publish).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from channels.base import (
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
    describe,
)
from channels.http import (
    HttpChannel,
    answered,
    classify_status,
    rate_limit_wait,
    redact,
    request,
)
from channels.i18n import _
from channels.image_host import (
    HostingError,
    ImageHost,
    ImagesOfAnAttempt,
    will_have_url,
)
from channels.variant import Media

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

#: throttling codes: app, user, page, custom and Business Use Case limits
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
#: the token is invalid, expired, revoked, or lacks the permission it needs
AUTH_CODES = frozenset({102, 190, 463, 467, 10, *range(200, 300)})
#: "temporarily blocked for policies violations": retrying makes the block worse
SPAM_BLOCK_CODE = 368
#: "unknown error" and "service temporarily unavailable"
TRANSIENT_CODES = frozenset({1, 2})
#: Instagram: "the account has reached its content publishing limit"
PUBLISHING_LIMIT_SUBCODE = 2207042

#: without an estimate from Meta, wait this long after a throttling error
DEFAULT_RATE_LIMIT_WAIT = 15 * 60.0
#: the publishing quota resets over a rolling 24 h: try again in an hour
PUBLISHING_LIMIT_WAIT = 60 * 60.0


@dataclass(frozen=True)
class GraphError:
    """The ``error`` object of a Graph API answer."""

    code: int | None
    subcode: int | None
    message: str
    type: str | None = None
    is_transient: bool = False
    user_message: str | None = None

    def describe(self) -> str:
        detail = f"Graph error {self.code}"
        if self.subcode:
            detail += f"/{self.subcode}"
        text = self.message
        if self.user_message and self.user_message not in text:
            text = f"{text} ({self.user_message})" if text else self.user_message
        return f"{detail} ({self.type}): {text}" if self.type else f"{detail}: {text}"


def graph_error(response: requests.Response) -> GraphError | None:
    """The Graph error in ``response``'s body, if it carries one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None

    def as_int(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    return GraphError(
        code=as_int(error.get("code")),
        subcode=as_int(error.get("error_subcode")),
        message=str(error.get("message", "")),
        type=error.get("type"),
        is_transient=bool(error.get("is_transient", False)),
        user_message=error.get("error_user_msg"),
    )


def usage_wait_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta lifts a throttle, from ``X-Business-Use-Case-Usage``.

    The header maps business ids to lists of usage objects; each may carry
    ``estimated_time_to_regain_access`` in minutes. The longest wait wins.
    """
    raw = headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def classify(response: requests.Response, *, secrets: Iterable[str] = (),
             creating: bool = True) -> Outcome | None:
    """The outcome a Graph answer means, or ``None`` when it is a success.

    ``creating`` says whether the request could have created something: a transient
    error on a create may have been applied (``InDoubt``), on a read it proves nothing
    was sent (``NotSent``).
    """
    secrets = list(secrets)
    error = graph_error(response)
    if error is None:
        if response.status_code == 429:
            wait = rate_limit_wait(response.headers, stated=usage_wait_seconds(
                response.headers)) or DEFAULT_RATE_LIMIT_WAIT
            return classify_status(response, secrets=secrets, retry_after=wait)
        if response.status_code >= 500 and not creating:
            return NotSent(f"HTTP {response.status_code}: "
                           f"{redact(response.text[:300], secrets)}",
                           http_status=response.status_code)
        return classify_status(response, secrets=secrets)
    reason = redact(error.describe(), secrets)
    status = response.status_code
    if error.code in RATE_LIMIT_CODES:
        wait = rate_limit_wait(response.headers, stated=usage_wait_seconds(
            response.headers)) or DEFAULT_RATE_LIMIT_WAIT
        return NotSent(_("rate limited: {reason}").format(reason=reason), retry_after=wait,
                       rate_limited=True, http_status=status)
    if error.subcode == PUBLISHING_LIMIT_SUBCODE:
        return NotSent(_("publishing quota used up: {reason}").format(reason=reason),
                       retry_after=PUBLISHING_LIMIT_WAIT, rate_limited=True, http_status=status)
    if error.code in AUTH_CODES or status == 401:
        return AuthFailed(reason, http_status=status)
    if error.code == SPAM_BLOCK_CODE:
        return Rejected(_("blocked as spam, not retried: {reason}").format(reason=reason),
                        http_status=status)
    if error.code in TRANSIENT_CODES or error.is_transient or status >= 500:
        if creating:
            return InDoubt(_("Meta failed while creating: {reason}").format(reason=reason),
                           http_status=status)
        return NotSent(_("Meta temporarily failed: {reason}").format(reason=reason),
                       http_status=status)
    return Rejected(reason, http_status=status)


class GraphChannel(HttpChannel):
    """Base of the Graph API adapters: one session, the token, versioned URLs.

    On ``graph.facebook.com`` the token travels as ``Authorization: Bearer`` (the host
    accepts it, as Meta's WhatsApp Cloud API reference on the same host shows), so it
    never lands in a URL that a proxy could log. Hosts documented only with the
    ``access_token`` parameter (Threads) set :attr:`token_in_header` to False.
    """

    secret_fields = ("access_token",)
    #: API version segment; accounts may set ``graph_version``
    default_version: ClassVar[str] = "v26.0"
    #: send the token in the Authorization header rather than as ``access_token``
    token_in_header: ClassVar[bool] = True


    @property
    def version(self) -> str:
        return str(self.account.options.get("graph_version", self.default_version))

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/{self.version}"



    def option(self, name: str) -> str:
        value = self.account.options.get(name)
        if not value:
            raise ValueError(_("account {account!r} needs option {name!r}").format(
                                 account=self.account.name, name=name))
        return str(value)

    def with_token(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` of a request with the access token added where this host wants it."""
        token = self.secrets.get("access_token", "")
        if self.token_in_header:
            headers = {"Authorization": f"Bearer {token}", **kwargs.get("headers", {})}
            return {**kwargs, "headers": headers}
        if method != "GET" and isinstance(kwargs.get("data"), dict) and not kwargs.get("files"):
            return {**kwargs, "data": {**kwargs["data"], "access_token": token}}
        return {**kwargs, "params": {**kwargs.get("params", {}), "access_token": token}}

    def call(self, method: str, path: str, *, creating: bool,
             **kwargs: Any) -> dict[str, Any] | Outcome:
        """One Graph request; the decoded JSON body or the outcome it means."""
        url = path if path.startswith("http") else f"{self.api_url}/{path.lstrip('/')}"
        answer = request(self.session, method, url, secrets=self.secrets.values(),
                         timeout=self.timeouts, create=creating,
                         **self.with_token(method, kwargs))
        if not answered(answer):
            # a read, or a step that creates nothing visible, cannot leave a post in doubt
            if isinstance(answer, InDoubt) and not creating:
                return NotSent(answer.detail)
            return answer
        outcome = classify(answer, secrets=self.secrets.values(), creating=creating)
        if outcome is not None:
            return outcome
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = redact(answer.text[:200], self.secrets.values())
            if creating:
                return InDoubt(_("unreadable answer to a create: {text}").format(text=text),
                               http_status=answer.status_code)
            return NotSent(_("unreadable answer: {text}").format(text=text),
                           http_status=answer.status_code)
        return body

    def token_expiry(self) -> datetime | Outcome | None:
        """When the token expires (``None``: never), from ``GET /debug_token``."""
        body = self.call("GET", "debug_token", creating=False,
                         params={"input_token": self.secrets.get("access_token", "")})
        if not isinstance(body, dict):
            return body
        data = body.get("data") or {}
        if data.get("is_valid") is False:
            return AuthFailed(_("Meta reports the token as invalid"))
        expires = int(data.get("expires_at") or 0)
        return datetime.fromtimestamp(expires, UTC) if expires else None

    def check_identity(self, fields: str = "id,name", path: str = "me") -> CheckResult:
        """``GET /me`` (or the account's node) plus the token's expiry: a harmless check."""
        me = self.call("GET", path, creating=False, params={"fields": fields})
        if not isinstance(me, dict):
            return CheckResult(ok=False, detail=describe(me))
        identity = str(me.get("username") or me.get("name") or me.get("id"))
        expiry = self.token_expiry()
        if isinstance(expiry, AuthFailed):
            return CheckResult(ok=False, detail=expiry.reason, identity=identity)
        if not isinstance(expiry, datetime | None):
            return CheckResult(ok=True, identity=identity,
                               detail=_("token accepted; expiry unknown ({why})").format(
                                   why=describe(expiry)))
        when = expiry.isoformat() if expiry else _("never")
        return CheckResult(ok=True, identity=identity, expires_at=expiry,
                           detail=_("token accepted for {identity}; expires {when}").format(
                               identity=identity, when=when))


class ContainerChannel(GraphChannel):
    """Instagram and Threads publish in two steps through a media *container*.

    ``POST /{user}/<container_edge>`` creates an unpublished container, Meta fetches
    the media and reports ``<status_field>`` (IN_PROGRESS → FINISHED, or ERROR /
    EXPIRED), then ``POST /{user}/<publish_edge> {creation_id}`` publishes it. The
    container id is checkpointed before the publish call, so after a crash or timeout
    the container's status tells whether the post exists (PUBLISHED) — an answer no
    other Meta surface gives.
    """

    can_probe = True
    container_edge: ClassVar[str]
    publish_edge: ClassVar[str]
    status_field: ClassVar[str]
    #: where images are put for Meta to fetch (set by the daemon from ``[media]``);
    #: ``None``: each image's own URL or ``public_media_base_url``
    image_host: ImageHost | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # per thread: an account with concurrency > 1 publishes from several at once
        self._attempt = threading.local()

    def will_have_url(self, media: Media) -> bool:
        """Whether ``media`` will have a public URL when it is published."""
        return self.image_host is not None or will_have_url(media, self.account.options)

    def images(self, delivery: Delivery | None) -> ImagesOfAnAttempt:
        """The image URLs of one attempt (or of a dry run, without ``delivery``)."""
        return ImagesOfAnAttempt(self.image_host, delivery, self.account.options)

    def publish(self, delivery: Delivery) -> Outcome:
        """Publish through :meth:`publish_with`, then let the hosted images go — unless a
        container still processing may fetch them yet (the next attempt lets them go)."""
        images = self.images(delivery)
        self._attempt.still_processing = False
        try:
            outcome = self.publish_with(delivery, images)
        except HostingError as exc:
            outcome = NotSent(_("the image could not be put where {network} fetches it: "
                                "{reason}").format(network=self.display_name,
                                                   reason=redact(str(exc),
                                                                 self.secrets.values())),
                              retry_after=60.0)
        images.finish(network_may_still_fetch=self._attempt.still_processing)
        return outcome

    def publish_with(self, delivery: Delivery, images: ImagesOfAnAttempt) -> Outcome:
        """Publish ``delivery``, taking each image's URL from ``images``."""
        raise NotImplementedError

    @property
    def user_id(self) -> str:
        return self.option("user_id")

    @property
    def poll_interval(self) -> float:
        return float(self.account.options.get("poll_interval", 3.0))

    @property
    def poll_timeout(self) -> float:
        return float(self.account.options.get("poll_timeout", 60.0))

    @staticmethod
    def container_key(index: int) -> str:
        return f"container_{index}"

    def create_container(self, params: dict[str, Any]) -> str | Outcome:
        """A new container's id. Unpublished containers are invisible and expire in 24 h,
        so a create in doubt is harmless: it is reported as ``NotSent``."""
        body = self.call("POST", f"{self.user_id}/{self.container_edge}", creating=False,
                         data=params)
        if not isinstance(body, dict):
            return body
        if not body.get("id"):
            return NotSent(_("container created without an id"))
        return str(body["id"])

    def container_status(self, container_id: str) -> str | Outcome:
        body = self.call("GET", container_id, creating=False,
                         params={"fields": f"id,{self.status_field}"})
        if not isinstance(body, dict):
            return body
        return str(body.get(self.status_field) or "")

    def wait_until_ready(self, container_id: str) -> str | Outcome:
        """Poll until the container leaves IN_PROGRESS; its final status or an outcome."""
        deadline = time.monotonic() + self.poll_timeout
        while True:
            status = self.container_status(container_id)
            if not isinstance(status, str) or status != "IN_PROGRESS":
                return status
            if time.monotonic() >= deadline:
                self._attempt.still_processing = True
                return NotSent(_("container {container_id} still processing after {seconds:g}s; "
                                 "it is kept and published next time").format(
                                   container_id=container_id, seconds=self.poll_timeout),
                               retry_after=60.0)
            time.sleep(self.poll_interval)

    def publish_container(self, delivery: Delivery, index: int, text: str,
                          params: dict[str, Any]) -> str | Outcome:
        """Create (or reuse), wait for and publish the container of part ``index``.

        A container checkpointed by an earlier attempt is reused while it is usable,
        and one already PUBLISHED is not published again. Returns the media id, or the
        outcome that stopped it.
        """
        key = self.container_key(index)
        container_id = delivery.state.get(key)
        status: str | Outcome = "IN_PROGRESS"
        if container_id:
            status = self.wait_until_ready(container_id)
            if status == "PUBLISHED":
                found = self.find_published_media(text)
                return found[0] if found else container_id
            if status in ("ERROR", "EXPIRED", ""):
                container_id = None
        if not container_id:
            created = self.create_container(params)
            if not isinstance(created, str):
                return created
            container_id = created
            delivery.checkpoint(**{key: container_id})
            status = self.wait_until_ready(container_id)
        if not isinstance(status, str):
            return status
        if status == "ERROR":
            detail = self.container_error(container_id)
            return Rejected(_("Meta could not process the media of container {container_id}: "
                              "{detail}").format(container_id=container_id, detail=detail))
        if status == "EXPIRED":
            return NotSent(_("container {container_id} expired before it was published").format(
                               container_id=container_id))
        if status != "FINISHED":
            return NotSent(_("container {container_id} in unexpected status {status!r}").format(
                               container_id=container_id, status=status))
        body = self.call("POST", f"{self.user_id}/{self.publish_edge}", creating=True,
                         data={"creation_id": container_id})
        if not isinstance(body, dict):
            return body
        if not body.get("id"):
            return InDoubt(_("publish of container {container_id} answered without an id").format(
                               container_id=container_id))
        return str(body["id"])

    def carousel_children(self, delivery: Delivery, count: int,
                          item: Callable[[int], dict[str, str]]) -> list[str] | Outcome:
        """Ready item containers of a carousel of ``count`` items (``item(i)``: the
        parameters of item ``i``, asked only for the items still to be made).

        Items are invisible until the carousel is published, so creating them is safe;
        their ids are checkpointed (``children``) and reused by the next attempt unless
        they expired meanwhile.
        """
        if delivery.state.get(self.container_key(0)):
            return list(delivery.state.get("children", []))
        children: list[str] = list(delivery.state.get("children", []))
        for index in range(len(children), count):
            created = self.create_container(item(index))
            if not isinstance(created, str):
                return created
            children.append(created)
            delivery.checkpoint(children=children)
        for child in children:
            status = self.wait_until_ready(child)
            if not isinstance(status, str):
                return status
            if status == "EXPIRED":
                delivery.checkpoint(children=[])
                return NotSent(_("carousel item {child} expired; the items are made again next "
                                 "attempt").format(child=child))
            if status != "FINISHED":
                return Rejected(_("Meta could not process carousel item {child}: {reason}").format(
                                    child=child, reason=self.container_error(child)))
        return children

    def container_error(self, container_id: str) -> str:
        return "status ERROR"

    def permalink(self, media_id: str) -> str | None:
        body = self.call("GET", media_id, creating=False, params={"fields": "id,permalink"})
        return str(body["permalink"]) if isinstance(body, dict) and body.get(
            "permalink") else None

    def find_published_media(self, text: str) -> tuple[str, str | None] | None:
        """(id, permalink) of a recent post of the user with exactly ``text``."""
        return None

    def probe(self, delivery: Delivery) -> Outcome | None:
        """Settle the first unfinished part through its checkpointed container's status.

        PUBLISHED → the part exists (recorded, so a thread resumes after it);
        anything else, or no container at all → it provably was not published.
        """
        parts = self.probe_parts(delivery)
        pending = next((i for i in range(len(parts)) if not delivery.done_part(i)), None)
        if pending is None:
            first = delivery.progress[0] if delivery.progress else None
            return Published(first.remote_id, first.url) if first else None
        container_id = delivery.state.get(self.container_key(pending))
        if not container_id:
            return NotSent(_("no container was created for this post: safe to send"))
        status = self.container_status(container_id)
        if not isinstance(status, str):
            return None
        if status != "PUBLISHED":
            return NotSent(_("container {container_id} is {status}, not published: "
                             "safe to send").format(
                               container_id=container_id, status=status or _("unknown")))
        found = self.find_published_media(parts[pending])
        media_id, url = found if found else (container_id, None)
        delivery.part_published(pending, media_id, url, container_id=container_id)
        if len(delivery.progress) < len(parts):
            return NotSent(_("part {number} was published; the rest is safe to send").format(
                               number=pending + 1))
        first = min(delivery.progress, key=lambda p: p.index)
        return Published(first.remote_id, first.url)

    def probe_parts(self, delivery: Delivery) -> list[str]:
        """The texts that become separate posts (one container each)."""
        return list(delivery.variant.parts)
