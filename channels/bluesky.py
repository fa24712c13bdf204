"""Bluesky adapter: posts as records in the account's repository over XRPC.

Endpoints (AT Protocol lexicons, bluesky-social/atproto ``lexicons/``):
``com.atproto.server.createSession`` (identifier + app password → ``accessJwt``/
``refreshJwt``), ``com.atproto.server.refreshSession`` (Bearer refreshJwt),
``com.atproto.server.getSession``, ``com.atproto.repo.uploadBlob`` (raw bytes),
``com.atproto.repo.createRecord`` (``app.bsky.feed.post`` with our own ``rkey``) and
``com.atproto.repo.getRecord`` for the probe; a video goes through the video service
(:mod:`channels.bluesky_video`). Errors are ``{"error", "message"}``.

The session is created once per adapter instance and refreshed when the PDS answers
``ExpiredToken``: createSession is limited to 30 per 5 minutes and 300 a day, so logging
in per post would lock the account out.

Each part's record key is a TID derived from the post's publish key, so it is known
before the first attempt: a resend cannot create a second post, and ``getRecord`` with
that key tells for certain whether an in-doubt post exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from channels import http
from channels.base import (
    AccountConfig,
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    PartResult,
    Published,
    Rejected,
)
from channels.composing import Draft, Release
from channels.http import HttpChannel, answered
from channels.i18n import N_, _
from channels.rules import Counting, ImageRules, PostRules, Unit, VideoRules

if TYPE_CHECKING:
    from channels.images import PreparedImage

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

POST_COLLECTION = "app.bsky.feed.post"
MAX_IMAGES = 4
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
#: derived record keys fall in [2023-01-01, 2025-01-01): valid, in the past, and
#: spread widely enough that two posts never share one
_TID_EPOCH_US = 1_672_531_200_000_000
_TID_SPAN_US = 2 * 365 * 24 * 3600 * 1_000_000


def tid_from_int(value: int) -> str:
    """The 13-character base32-sortable form of a 64-bit TID."""
    chars = []
    for _digit in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def derive_rkey(publish_key: str, part: int) -> str:
    """A valid TID record key fixed by the publish key; thread parts get ascending keys."""
    digest = int.from_bytes(hashlib.sha256(f"{publish_key}:bluesky".encode()).digest()[:16])
    micros = _TID_EPOCH_US + (digest >> 10) % _TID_SPAN_US + part
    clock_id = digest & 0x3FF
    return tid_from_int((micros << 10) | clock_id)


def _describe(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, InDoubt) else getattr(outcome, "reason", "")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BlueskyChannel(HttpChannel):
    """Posts to the repository of ``identifier`` on the PDS at ``base_url``."""

    network = "bluesky"
    display_name = "Bluesky"
    accent_colour = "#0085ff"
    post_rules = PostRules(limit=300, counting=Counting(Unit.GRAPHEMES), unit_name=N_("graphemes"),
                           threads=True, byte_limit=3000, max_images=MAX_IMAGES,
                           alt_limit=2000)
    # Bluesky allows 2,000,000 bytes since April 2026 but other PDSes still enforce the
    # old 1 MB, so 1,000,000 is the limit that works on every server.
    image_rules = ImageRules(max_bytes=1_000_000, max_side=2000, max_alt=10_000)
    #: the video service: one video, MP4, 1 s to 3 min, 100 MB, 1:3 to 3:1
    video_rules = VideoRules(max_bytes=100_000_000, max_seconds=180,
                             aspect=(1 / 3, 3.0))
    docs = "docs/channels/bluesky.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """Facets for every part (without them links, tags and mentions are plain text),
        a link card for the release link, and the post's language."""
        extra: dict[str, Any] = {"facets": [draft.rich_text(part) for part in draft.parts]}
        if draft.link:
            extra["card"] = {"uri": draft.link, "title": release.title,
                             "description": draft.excerpt()}
        extra["langs"] = [release.language]
        return extra
    secret_fields: ClassVar[tuple[str, ...]] = ("app_password",)
    optional_secret_fields: ClassVar[tuple[str, ...]] = ("identifier",)
    default_base_url = "https://bsky.social"
    can_probe = True

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)

        #: createSession's answer (did, handle, accessJwt, refreshJwt), kept for reuse
        self._login: dict[str, Any] | None = None

    # --- plumbing -----------------------------------------------------------------------


    @property
    def identifier(self) -> str:
        return str(self.secrets.get("identifier") or self.account.options.get("identifier", ""))

    def _secrets(self) -> list[str]:
        values = list(self.secrets.values())
        if self._login:
            values += [self._login.get("accessJwt", ""), self._login.get("refreshJwt", "")]
        return values

    def _send(self, method: str, nsid: str, token: str | None,
              **kwargs: Any) -> requests.Response | Outcome:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return http.request(self.session, method, f"{self.base_url}/xrpc/{nsid}",
                            secrets=self._secrets(), timeout=self.timeouts, headers=headers,
                            **kwargs)

    @staticmethod
    def _error_name(response: requests.Response) -> str:
        try:
            return str(response.json().get("error", ""))
        except (ValueError, AttributeError):
            return ""

    def _error(self, response: requests.Response, what: str) -> Outcome:
        try:
            body = response.json()
            message = f"{body.get('error', '')}: {body.get('message', '')}"
        except (ValueError, AttributeError):
            message = response.text[:300]
        status = response.status_code
        reason = f"{what}: HTTP {status} {http.redact(message, self._secrets())}"
        if status == 429:
            return NotSent(reason, retry_after=http.rate_limit_wait(response.headers),
                           rate_limited=True, http_status=status)
        if status == 401 or self._error_name(response) in ("ExpiredToken", "InvalidToken",
                                                            "AccountTakedown"):
            return AuthFailed(reason, http_status=status)
        if status >= 500 and response.request is not None and response.request.method == "POST":
            return InDoubt(reason, http_status=status)
        generic = http.classify_status(response, secrets=self._secrets())
        if isinstance(generic, Rejected):
            return Rejected(reason, http_status=status)
        return generic or InDoubt(reason, http_status=status)

    # --- session ------------------------------------------------------------------------
    def _create_session(self) -> Outcome | None:
        if not self.identifier or not self.secrets.get("app_password"):
            return AuthFailed(_("identifier and app password are needed "
                                "(SIAR_SECRET_<ACCOUNT>_APP_PASSWORD)"))
        response = self._send("POST", "com.atproto.server.createSession", None,
                              json={"identifier": self.identifier,
                                    "password": self.secrets["app_password"]})
        if not answered(response):
            # a login that may have happened creates no post: nothing is in doubt
            return NotSent(_describe(response)) if isinstance(response, InDoubt) else response
        if response.status_code != 200:
            outcome = self._error(response, "createSession")
            return NotSent(outcome.detail) if isinstance(outcome, InDoubt) else outcome
        self._login = response.json()
        return None

    def _refresh_session(self) -> Outcome | None:
        assert self._login is not None
        response = self._send("POST", "com.atproto.server.refreshSession",
                              self._login["refreshJwt"])
        if answered(response) and response.status_code == 200:
            self._login.update(response.json())
            return None
        if not answered(response):
            return NotSent(_describe(response))  # the refresh token may still be good
        self._login = None  # refused: the next attempt logs in anew
        return AuthFailed(_("session expired and could not be refreshed: {reason}").format(
                              reason=_describe(self._error(response, 'refreshSession'))),
                          http_status=response.status_code)

    def _ensure_login(self) -> Outcome | None:
        return self._create_session() if self._login is None else None

    def _xrpc(self, method: str, nsid: str, **kwargs: Any) -> requests.Response | Outcome:
        """An authenticated call; an expired access token is refreshed once and resent
        (a request refused with ExpiredToken was not applied, so resending is safe)."""
        if (failed := self._ensure_login()) is not None:
            return failed
        assert self._login is not None
        response = self._send(method, nsid, self._login["accessJwt"], **kwargs)
        if (answered(response) and response.status_code == 400
                and self._error_name(response) == "ExpiredToken"):
            if (failed := self._refresh_session()) is not None:
                return failed
            response = self._send(method, nsid, self._login["accessJwt"], **kwargs)
        return response

    # --- publishing ---------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        from channels.video.checks import refused_video
        variant = delivery.variant
        if not delivery.done_part(0) and (refused := refused_video(variant)):
            return refused  # changed or removed since it was queued: nothing sent
        if (failed := self._ensure_login()) is not None:
            return failed  # the record names the repo (our DID), known after login
        embed: dict[str, Any] | None = None
        if not delivery.done_part(0):
            prepared = self._embed(delivery)
            if not isinstance(prepared, dict) and prepared is not None:
                return prepared
            embed = prepared

        root: PartResult | None = delivery.done_part(0)
        parent: PartResult | None = None
        for index, text in enumerate(variant.parts):
            done = delivery.done_part(index)
            if done:
                parent = done
                continue
            record = self._record(delivery, index, text, embed if index == 0 else None,
                                  root, parent)
            response = self._xrpc("POST", "com.atproto.repo.createRecord", create=True, json={
                "repo": self._login_did(), "collection": POST_COLLECTION,
                "rkey": derive_rkey(delivery.publish_key, index), "record": record})
            if not answered(response):
                return response
            if response.status_code != 200:
                return self._error(response, _("createRecord part {number}").format(
                                                 number=index + 1))
            try:
                created = response.json()
                uri, cid = str(created["uri"]), created["cid"]
            except (ValueError, TypeError, KeyError):  # garbled: the record may exist
                return InDoubt(_("createRecord part {number}: HTTP 200 with an unreadable "
                                 "answer: {text}").format(
                                   number=index + 1,
                                   text=http.redact(response.text[:200], self._secrets())),
                               http_status=response.status_code)
            parent = delivery.part_published(index, uri, self._post_url(uri), cid=cid)
            root = root or parent
        first = delivery.done_part(0)
        assert first is not None  # every part was published above
        return Published(first.remote_id, first.url)

    def pds_did(self) -> str:
        """The ``did:web:`` of the account's PDS (the audience of a video upload's token)."""
        from channels.bluesky_video import pds_did_of
        return pds_did_of(self.base_url, self._login)

    def _login_did(self) -> str:
        return str(self._login["did"]) if self._login else ""

    def _post_url(self, uri: str) -> str:
        handle = (self._login or {}).get("handle") or self.identifier
        return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"

    def _record(self, delivery: Delivery, index: int, text: str, embed: dict[str, Any] | None,
                root: PartResult | None, parent: PartResult | None) -> dict[str, Any]:
        variant = delivery.variant
        record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text,
                                  "createdAt": _now_iso()}
        langs = variant.extra.get("langs") or self.account.options.get("langs", ["id"])
        if langs:
            record["langs"] = list(langs)[:3]
        facets = variant.extra.get("facets") or []
        if index < len(facets) and facets[index]:
            record["facets"] = facets[index]
        if embed:
            record["embed"] = embed
        if root and parent:
            record["reply"] = {"root": {"uri": root.remote_id, "cid": root.extra["cid"]},
                               "parent": {"uri": parent.remote_id, "cid": parent.extra["cid"]}}
        return record

    def _embed(self, delivery: Delivery) -> dict[str, Any] | Outcome | None:
        """Images with alt text, or else the link card; None when the post has neither."""
        from channels.bluesky_video import VideoUpload
        from channels.images import ImageError, prepare_image
        from channels.uploads import video_of
        variant = delivery.variant
        if video := video_of(variant):
            return VideoUpload(self, delivery, video).embed()
        if variant.media:
            images = []
            for media in variant.media[:MAX_IMAGES]:
                try:
                    image = prepare_image(media.path, self.network, alt=media.alt)
                except ImageError as exc:
                    return Rejected(_("image cannot be sent to Bluesky: {reason}").format(
                                        reason=exc))
                blob = self._upload(image)
                if not isinstance(blob, dict):
                    return blob
                images.append({"alt": image.alt, "image": blob,
                               "aspectRatio": {"width": image.width, "height": image.height}})
            return {"$type": "app.bsky.embed.images", "images": images}
        card = variant.extra.get("card")
        if not card:
            return None
        external: dict[str, Any] = {"uri": card["uri"], "title": card.get("title", ""),
                                    "description": card.get("description", "")}
        if card.get("thumb"):
            try:
                thumb = prepare_image(card["thumb"], self.network)
            except ImageError as exc:
                return Rejected(_("link card image cannot be sent to Bluesky: {reason}").format(
                                    reason=exc))
            blob = self._upload(thumb)
            if not isinstance(blob, dict):
                return blob
            external["thumb"] = blob
        return {"$type": "app.bsky.embed.external", "external": external}

    def _upload(self, image: PreparedImage) -> dict[str, Any] | Outcome:
        response = self._xrpc("POST", "com.atproto.repo.uploadBlob", data=image.data,
                              headers={"Content-Type": image.mime})
        if answered(response) and response.status_code == 200:
            return dict(response.json()["blob"])
        outcome = (self._error(response, "uploadBlob")
                   if answered(response) else response)
        if isinstance(outcome, InDoubt):
            # an uploaded blob is not a post (and is deleted unless referenced)
            return NotSent(_("{detail} (no post was created)").format(detail=outcome.detail),
                           http_status=outcome.http_status)
        return outcome

    # --- probe --------------------------------------------------------------------------
    def probe(self, delivery: Delivery) -> Outcome | None:
        pending = next((i for i in range(len(delivery.variant.parts))
                        if not delivery.done_part(i)), None)
        if pending is not None:
            if self._ensure_login() is not None:
                return None
            rkey = derive_rkey(delivery.publish_key, pending)
            response = self._xrpc("GET", "com.atproto.repo.getRecord", params={
                "repo": self._login_did(), "collection": POST_COLLECTION, "rkey": rkey})
            if not answered(response):
                return None
            if response.status_code == 400 and self._error_name(response) == "RecordNotFound":
                return NotSent(_("no record {rkey}: the post was not created").format(rkey=rkey))
            if response.status_code != 200:
                return None
            found = response.json()
            delivery.part_published(pending, found["uri"], self._post_url(found["uri"]),
                                    cid=found["cid"])
            if pending < len(delivery.variant.parts) - 1:
                return NotSent(_("part {number} exists; the remaining parts are safe "
                                 "to send").format(number=pending + 1))
        first = delivery.done_part(0)
        assert first is not None
        return Published(first.remote_id, first.url)

    # --- check and dry run --------------------------------------------------------------
    def check(self) -> CheckResult:
        response = self._xrpc("GET", "com.atproto.server.getSession")
        if not answered(response):
            return CheckResult(ok=False, detail=_describe(response))
        if response.status_code != 200:
            return CheckResult(ok=False, detail=_describe(self._error(response, "getSession")))
        session = response.json()
        return CheckResult(ok=True, detail=_("logged in as {handle} ({did})").format(
                                               handle=session["handle"], did=session["did"]),
                           identity=session["handle"])

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.bluesky_video import VIDEO_SERVICE, video_upload_steps
        from channels.uploads import video_of
        variant = delivery.variant
        video = video_of(variant)
        planned: list[dict[str, Any]] = [
            {"method": "POST", "url": f"{self.base_url}/xrpc/com.atproto.repo.uploadBlob",
             "file": m.path, "alt": m.alt}
            for m in (variant.media[:MAX_IMAGES] if not video else ())
        ]
        if video:
            service = self.account.options.get("video_service", VIDEO_SERVICE)
            planned = video_upload_steps(self.base_url, service, video)
        for index, text in enumerate(variant.parts):
            record = self._record(delivery, index, text, None, None, None)
            if index == 0 and video:
                record["embed"] = {"$type": "app.bsky.embed.video", "video": "<blob of the job>",
                                   "aspectRatio": {"width": video.width,
                                                   "height": video.height}}
            elif index == 0 and variant.media:
                record["embed"] = {"$type": "app.bsky.embed.images",
                                   "images": [{"alt": m.alt, "image": f"<blob of {m.path}>"}
                                              for m in variant.media[:MAX_IMAGES]]}
            elif index == 0 and variant.extra.get("card"):
                record["embed"] = {"$type": "app.bsky.embed.external",
                                   "external": dict(variant.extra["card"])}
            if index:
                record["reply"] = {"root": "<part 1>", "parent": f"<part {index}>"}
            planned.append({
                "method": "POST", "url": f"{self.base_url}/xrpc/com.atproto.repo.createRecord",
                "json": {"repo": self.identifier, "collection": POST_COLLECTION,
                         "rkey": derive_rkey(delivery.publish_key, index), "record": record},
            })
        return planned
