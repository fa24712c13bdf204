"""X adapter: posts through tweepy's ``Client.create_tweet`` (OAuth 1.0a user context).

Endpoints (X API v2, X's published OpenAPI document for API v2): ``POST /2/tweets`` (``text``,
``media.media_ids``, ``reply.in_reply_to_tweet_id``) through tweepy; ``POST
/2/media/upload`` (multipart ``media`` + ``media_category=tweet_image``) and ``POST
/2/media/metadata`` (alt text) directly, because tweepy's only upload still calls the
deprecated v1.1 endpoint (a video: the chunked upload of :mod:`channels.x_video`);
``GET /2/users/me`` and ``GET /2/users/:id/tweets`` for the check and the probe.

tweepy hard-codes ``https://api.twitter.com`` inside ``BaseClient.request`` but sends
everything through its ``session`` attribute, so that attribute is the seam: a small
transport that resolves each URL against the account's ``base_url`` and goes through
:func:`channels.http.request` (timeouts, no retries, failures mapped to outcomes).
The OAuth 1.0a signature is computed on the rewritten URL, i.e. on what is really sent.

X has no idempotency key. A repeated text gets 403 "duplicate content": after an attempt
that may have been applied, that answer means "probably already posted" and the
account's recent posts are searched for the text instead of failing the post.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from channels import http
from channels.base import (
    AccountConfig,
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    Media,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.http import HttpChannel, answered
from channels.i18n import N_, _
from channels.rules import MB, WEB_FORMATS, Counting, ImageRules, PostRules, Unit, VideoRules

if TYPE_CHECKING:
    import requests
    import tweepy
    from requests_oauthlib import OAuth1

# tweepy and requests-oauthlib (~40 ms to import) are imported where X is first called, not
# here: the composer imports this class for the rules it declares, and siar preview must
# not pay for them.

TWEEPY_HOST = "https://api.twitter.com"
MAX_IMAGES = 4
#: posts this young may not show up in the user's timeline yet: no verdict on absence
TIMELINE_LAG = timedelta(seconds=30)
_URL = re.compile(r"https?://\S+")


class _TransportFailed(Exception):
    """Carries the outcome of a request that never got an HTTP answer through tweepy."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(repr(outcome))
        self.outcome = outcome


class _RoutedTransport:
    """Stands in for tweepy's ``requests.Session``: same ``request`` call, our rules."""

    def __init__(self, channel: XChannel) -> None:
        self.channel = channel

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if url.startswith(TWEEPY_HOST):
            url = self.channel.base_url + url[len(TWEEPY_HOST):]
        headers = dict(kwargs.pop("headers", None) or {})
        headers["User-Agent"] = http.USER_AGENT
        # the post itself: tweepy's create_tweet
        create = method.upper() == "POST" and url.split("?")[0].endswith("/2/tweets")
        result = http.request(self.channel.session, method, url,
                              secrets=self.channel.secrets.values(),
                              timeout=self.channel.timeouts, headers=headers, create=create,
                              **kwargs)
        if not answered(result):
            raise _TransportFailed(result)
        return result

    def close(self) -> None:
        """tweepy never closes it; the channel owns the real session."""


def comparable_text(text: str) -> str:
    """A post's text as X's timeline and our variant can both be reduced to.

    X returns ``&``, ``<``, ``>`` as entities, rewrites every URL to t.co and appends a
    t.co link for attached media, so URLs are dropped and whitespace collapsed.
    """
    return " ".join(_URL.sub("", html.unescape(text)).split())


def _describe(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, InDoubt) else getattr(outcome, "reason", "")


class XChannel(HttpChannel):
    """Posts as the user whose OAuth 1.0a access token is configured."""

    network = "x"
    display_name = "X"
    accent_colour = "#0f1419"
    post_rules = PostRules(limit=280, counting=Counting(Unit.TWITTER_WEIGHTED),
                           unit_name=N_("weighted characters"), threads=True,
                           max_images=MAX_IMAGES, alt_limit=1000)
    # X API v2 media upload: JPG/PNG/GIF/WEBP ≤ 5 MB; alt text ≤ 1000 characters.
    image_rules = ImageRules(max_bytes=5 * MB, formats=WEB_FORMATS, max_side=8192,
                             animated=True, max_alt=1000)
    #: one video per post: 0.5–140 s, at most 1920×1200, 1:3 to 3:1, 512 MB (media best
    #: practices); longer posts need X Premium, which Siar does not assume
    video_rules = VideoRules(max_bytes=512 * MB, max_seconds=140, min_seconds=0.5,
                             max_short_side=1200, aspect=(1 / 3, 3.0),
                             max_video_kbps=25_000)
    docs = "docs/channels/x.md"
    secret_fields: ClassVar[tuple[str, ...]] = (
        "api_key", "api_secret", "access_token", "access_token_secret")
    default_base_url = "https://api.x.com"
    can_probe = True

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)

        self._client: tweepy.Client | None = None
        self._user: dict[str, str] | None = None

    # --- plumbing -----------------------------------------------------------------------

    @property
    def client(self) -> tweepy.Client:
        import tweepy
        if self._client is None:
            client = tweepy.Client(
                consumer_key=self.secrets.get("api_key"),
                consumer_secret=self.secrets.get("api_secret"),
                access_token=self.secrets.get("access_token"),
                access_token_secret=self.secrets.get("access_token_secret"),
                wait_on_rate_limit=False,  # sleeping inside the call would block the daemon
            )
            client.session = _RoutedTransport(self)
            self._client = client
        return self._client

    def close(self) -> None:
        super().close()
        self._client = None

    def _oauth(self) -> OAuth1:
        from requests_oauthlib import OAuth1
        return OAuth1(self.secrets.get("api_key"), self.secrets.get("api_secret"),
                      self.secrets.get("access_token"), self.secrets.get("access_token_secret"))

    def _call(self, operation: str, function: Any, **kwargs: Any) -> Any:
        """Run a tweepy call; its response, or the outcome its failure means."""
        import tweepy
        try:
            return function(**kwargs)
        except _TransportFailed as failure:
            return failure.outcome
        except tweepy.HTTPException as exc:
            return self._http_error(operation, exc.response, exc.api_messages)
        except ValueError as exc:
            # a 2xx whose JSON is garbled: a created post may exist (a lookup's caller
            # reads any outcome as "cannot tell")
            return InDoubt(_("{operation}: unreadable answer: {reason}").format(
                               operation=operation,
                               reason=http.redact(str(exc), self.secrets.values())))

    def _http_error(self, operation: str, response: requests.Response,
                    messages: list[str] | None = None) -> Outcome:
        status = response.status_code
        if messages is None:
            messages = self._messages(response)
        detail = http.redact("; ".join(map(str, messages)) or response.reason or "",
                             self.secrets.values())
        reason = f"{operation}: HTTP {status} {detail}".strip()
        if status == 429:
            return NotSent(reason, retry_after=http.rate_limit_wait(response.headers),
                           rate_limited=True, http_status=status)
        if status == 401:
            return AuthFailed(reason, http_status=status)
        if status == 403 and re.search(r"oauth1 app permissions|client-not-enrolled|"
                                       r"suspended", detail, re.IGNORECASE):
            return AuthFailed(reason, http_status=status)
        if status >= 500:
            if response.request is not None and response.request.method == "GET":
                return NotSent(reason, http_status=status)
            return InDoubt(reason, http_status=status)
        return Rejected(reason, http_status=status)

    @staticmethod
    def _messages(response: requests.Response) -> list[str]:
        try:
            body = response.json()
        except ValueError:
            return [response.text[:200]]
        messages = [e.get("message", "") for e in body.get("errors", []) if isinstance(e, dict)]
        return messages or [str(body.get("detail", ""))]

    @staticmethod
    def _is_duplicate(outcome: Outcome) -> bool:
        return (isinstance(outcome, Rejected) and outcome.http_status == 403
                and "duplicate content" in outcome.reason)

    def _tweet_url(self, tweet_id: str) -> str:
        username = self.account.options.get("username") or (self._user or {}).get("username")
        if username:
            return f"https://x.com/{username}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"

    # --- publishing ---------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        import tweepy

        from channels.uploads import video_of
        from channels.video.checks import refused_video
        media_ids = delivery.state.get("x_media_ids")
        if media_ids is None and delivery.variant.media and not delivery.done_part(0):
            video = video_of(delivery.variant)
            if video and (refused := refused_video(delivery.variant)):
                return refused  # changed or removed since it was queued: nothing sent
            uploaded = (self._upload_video(delivery, video) if video
                        else self._upload_media(delivery))
            if not isinstance(uploaded, list):
                return uploaded
            media_ids = uploaded
            # uploaded media stays usable for a day: a retry attaches the same ids
            delivery.checkpoint(x_media_ids=media_ids)

        previous: str | None = None
        for index, text in enumerate(delivery.variant.parts):
            done = delivery.done_part(index)
            if done:
                previous = done.remote_id
                continue
            sent_before = str(index) in delivery.state.get("x_first_sent", {})
            self._note_first_send(delivery, index)
            created = self._call(_("create_tweet part {number}").format(
                                     number=index + 1), self.client.create_tweet,
                                 text=text, media_ids=media_ids if index == 0 else None,
                                 in_reply_to_tweet_id=previous, user_auth=True)
            if self._is_duplicate(created) and sent_before:
                found = self._find_posted(delivery, index)
                if found is None:
                    return InDoubt(_("X calls part {number} a duplicate after an attempt that "
                                     "may have been applied, but it is not among the recent "
                                     "posts yet: {reason}").format(
                                       number=index + 1, reason=_describe(created)),
                                   http_status=403)
                created_id = found
            elif isinstance(created, tweepy.Response):
                created_id = str(created.data["id"])
            else:
                return created
            delivery.part_published(index, created_id, self._tweet_url(created_id))
            previous = created_id
        first = delivery.done_part(0)
        assert first is not None  # every part was published above
        return Published(first.remote_id, first.url)

    @staticmethod
    def _note_first_send(delivery: Delivery, index: int) -> None:
        first_sent = dict(delivery.state.get("x_first_sent", {}))
        if str(index) not in first_sent:
            first_sent[str(index)] = datetime.now(UTC).isoformat()
            delivery.checkpoint(x_first_sent=first_sent)

    def _upload_media(self, delivery: Delivery) -> list[str] | Outcome:
        from channels.images import ImageError, prepare_image
        media_ids: list[str] = []
        for media in delivery.variant.media[:MAX_IMAGES]:
            try:
                image = prepare_image(media.path, self.network, alt=media.alt)
            except ImageError as exc:
                return Rejected(_("image cannot be sent to X: {reason}").format(reason=exc))
            response = http.request(
                self.session, "POST", f"{self.base_url}/2/media/upload",
                secrets=self.secrets.values(), timeout=self.timeouts, auth=self._oauth(),
                data={"media_category": "tweet_image"},
                files={"media": (image.filename, image.data, image.mime)})
            if (failed := self._media_failure(response, _("media upload"))) is not None:
                return failed
            assert answered(response)
            media_id = str(response.json()["data"]["id"])
            if image.alt:
                response = http.request(
                    self.session, "POST", f"{self.base_url}/2/media/metadata",
                    secrets=self.secrets.values(), timeout=self.timeouts, auth=self._oauth(),
                    json={"id": media_id, "metadata": {"alt_text": {"text": image.alt[:1000]}}})
                if (failed := self._media_failure(response, "alt text")) is not None:
                    return failed
            media_ids.append(media_id)
        return media_ids

    def _upload_video(self, delivery: Delivery, video: Media) -> list[str] | Outcome:
        """INIT, APPEND per chunk, FINALIZE, STATUS until processed
        (:mod:`channels.x_video`); the media id is checkpointed from INIT on."""
        from channels.x_video import VideoUpload
        return VideoUpload(self, delivery, video).run()

    def _media_failure(self, response: requests.Response | Outcome,
                       what: str) -> Outcome | None:
        """None on success; media is not a post, so doubt about it means NotSent."""
        if answered(response):
            if response.status_code < 300:
                return None
            outcome = self._http_error(what, response)
        else:
            outcome = response
        if isinstance(outcome, InDoubt):
            return NotSent(_("{detail} (no post was created)").format(detail=outcome.detail),
                           http_status=outcome.http_status)
        return outcome

    # --- probe --------------------------------------------------------------------------
    def _me(self) -> dict[str, str] | Outcome:
        import tweepy
        if self._user is None:
            answer = self._call("users/me", self.client.get_me, user_auth=True)
            if not isinstance(answer, tweepy.Response):
                return answer
            self._user = {"id": str(answer.data.id), "username": answer.data.username}
        return self._user

    def _recent_posts(self, since: datetime) -> tuple[list[Any], bool] | Outcome:
        """The user's posts since ``since`` and whether that list is complete."""
        import tweepy
        me = self._me()
        if not isinstance(me, dict):
            return me
        answer = self._call("users/:id/tweets", self.client.get_users_tweets, id=me["id"],
                            max_results=100, start_time=since - timedelta(minutes=1),
                            tweet_fields=["created_at", "referenced_tweets"],
                            user_auth=True)
        if not isinstance(answer, tweepy.Response):
            return answer
        return list(answer.data or []), "next_token" not in (answer.meta or {})

    def _find_posted(self, delivery: Delivery, index: int) -> str | None:
        since = self._first_sent(delivery, index) or delivery.due_at
        listing = self._recent_posts(since)
        if not isinstance(listing, tuple):
            return None
        wanted = comparable_text(delivery.variant.parts[index])
        found = next((t for t in listing[0] if comparable_text(t.text) == wanted), None)
        return str(found.id) if found is not None else None

    @staticmethod
    def _first_sent(delivery: Delivery, index: int) -> datetime | None:
        value = delivery.state.get("x_first_sent", {}).get(str(index))
        return datetime.fromisoformat(value) if value else None

    def probe(self, delivery: Delivery) -> Outcome | None:
        pending = next((i for i in range(len(delivery.variant.parts))
                        if not delivery.done_part(i)), None)
        if pending is None:
            first = delivery.done_part(0)
            return Published(first.remote_id, first.url) if first else None
        sent_at = self._first_sent(delivery, pending)
        if sent_at is None:
            return NotSent(_("the pending part was never sent"))
        listing = self._recent_posts(sent_at)
        if not isinstance(listing, tuple):
            return None
        posts, complete = listing
        wanted = comparable_text(delivery.variant.parts[pending])
        found = next((t for t in posts if comparable_text(t.text) == wanted), None)
        if found is None:
            if complete and datetime.now(UTC) - sent_at > TIMELINE_LAG:
                return NotSent(_("not among the account's posts since it was sent"))
            return None
        delivery.part_published(pending, str(found.id), self._tweet_url(str(found.id)))
        if pending < len(delivery.variant.parts) - 1:
            return NotSent(_("part {number} was found; the remaining parts are safe to "
                             "send").format(number=pending + 1))
        first = delivery.done_part(0)
        assert first is not None
        return Published(first.remote_id, first.url)

    # --- check and dry run --------------------------------------------------------------
    def check(self) -> CheckResult:
        me = self._me()
        if not isinstance(me, dict):
            return CheckResult(ok=False, detail=_describe(me))
        return CheckResult(ok=True, detail=_("OAuth 1.0a user @{username} (id {id})").format(
                                               username=me['username'], id=me['id']),
                           identity=f"@{me['username']}")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        from channels.x_video import video_upload_steps
        planned: list[dict[str, Any]] = []
        media = delivery.variant.media[:MAX_IMAGES]
        if video := video_of(delivery.variant):
            media = [video]
            planned = video_upload_steps(self.base_url, video)
        for m in media if not video else ():
            planned.append({"method": "POST", "url": f"{self.base_url}/2/media/upload",
                            "data": {"media_category": "tweet_image"}, "file": m.path})
            if m.alt:
                planned.append({"method": "POST", "url": f"{self.base_url}/2/media/metadata",
                                "json": {"id": f"<media of {m.path}>",
                                         "metadata": {"alt_text": {"text": m.alt}}}})
        for index, text in enumerate(delivery.variant.parts):
            body: dict[str, Any] = {"text": text}
            if index == 0 and media:
                body["media"] = {"media_ids": [f"<media of {m.path}>" for m in media]}
            if index:
                body["reply"] = {"in_reply_to_tweet_id": f"<id of part {index}>"}
            planned.append({"method": "POST", "url": f"{self.base_url}/2/tweets",
                            "headers": {"Authorization": "OAuth oauth_consumer_key=\"***\", …"},
                            "json": body})
        return planned
