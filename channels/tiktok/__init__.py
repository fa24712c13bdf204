"""TikTok adapter (Content Posting API v2, direct post), the one place TikTok is described.

A post is a video, or photos (a carousel) when the release has images and no video:

1. ``POST /v2/post/publish/creator_info/query/``: the privacy levels this creator may use,
   the longest video they may post, and whether they may post now (an error code says
   why not: the daily cap → later; banned → refused);
2. video: ``POST /v2/post/publish/video/init/`` with ``post_info`` (title = the caption,
   privacy level, comment/duet/stitch switches, cover frame) and ``source_info``
   (``FILE_UPLOAD`` in chunks, :mod:`channels.tiktok.upload`; or ``PULL_FROM_URL`` from the
   media store for a domain verified with TikTok: account option ``pull_from_url``);
   photos: ``POST /v2/post/publish/content/init/`` with ``media_type = PHOTO`` and the
   photos' URLs from the media store;
3. the ``publish_id`` is checkpointed before any byte is sent; then
   ``POST /v2/post/publish/status/fetch/`` is polled until ``PUBLISH_COMPLETE`` (``FAILED``:
   refused, with TikTok's reason in words; still processing after ``poll_timeout``: in
   doubt, and the probe asks again with the same ``publish_id``).

An app TikTok has not audited may only post privately (``SELF_ONLY``): the account option
``audited = false`` says so, and the preview and ``siar accounts check`` warn about it.
Tokens rotate on every refresh (:mod:`channels.tiktok.api`, :mod:`channels.tokens`).
"""

from __future__ import annotations

import os
import time
from pathlib import PurePath
from typing import Any

from channels.base import (
    AuthFailed,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.composing import Draft, Release
from channels.i18n import N_, _
from channels.image_host import HostingError, ImageHost, ImagesOfAnAttempt, will_have_url
from channels.rules import MB, MIB, Counting, ImageRules, PostRules, Unit, VideoRules
from channels.tiktok.api import (
    DONE,
    FAIL_REASONS,
    FAILED,
    PRIVACY_LEVELS,
    TikTokClient,
    privacy_of,
)
from channels.tiktok.photos import MAX_PHOTOS, photo_payload, unfetchable
from channels.variant import Media, Variant

__all__ = ["TikTokChannel"]

CAPTION_LIMIT = 2200
STATE_KEY = "tiktok_publish_id"


class TikTokChannel(TikTokClient):
    """Options: ``privacy_level`` (default ``PUBLIC_TO_EVERYONE``), ``audited`` (default
    true; false: every post is ``SELF_ONLY``), ``disable_comment``/``disable_duet``/
    ``disable_stitch``, ``cover_timestamp_ms``, ``pull_from_url``, ``chunk_mb`` (5-64),
    ``poll_interval``/``poll_timeout`` (seconds), ``rate_limit_wait`` (seconds)."""

    network = "tiktok"
    display_name = "TikTok"
    accent_colour = "#fe2c55"
    # TikTok counts the title (the caption) in UTF-16 runes
    post_rules = PostRules(limit=CAPTION_LIMIT, counting=Counting(Unit.UTF16_UNITS),
                           unit_name=N_("UTF-16 units"), max_images=MAX_PHOTOS)
    # photo posts: JPEG or WebP, at most 1080p, 20 MB
    image_rules = ImageRules(max_bytes=20 * MB, formats=frozenset({"JPEG", "WEBP"}),
                             max_side=1920, min_side=360)
    # Content Posting API, "Media Transfer Guide": MP4 (H.264), at most 4 GB and 10 min,
    # 23-60 fps, sides 360-4096 px; vertical 9:16 is what the app shows full screen
    video_rules = VideoRules(max_bytes=4 * 1024 * MIB, max_seconds=600.0, min_seconds=3.0,
                             aspect=(9 / 16, 9 / 16), pad_to=9 / 16, max_fps=60.0,
                             min_fps=23.0)
    docs = "docs/channels/tiktok.md"
    can_probe = True
    fetches_media_by_url = True
    #: where photos (and pulled videos) are put for TikTok to fetch (set by the daemon)
    image_host: ImageHost | None = None

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """The privacy level the post will have; warns when the app is unaudited (every
        post private) and when the release has nothing TikTok can show."""
        options = draft.options
        privacy = privacy_of(options)
        if privacy == "SELF_ONLY" and options.get("audited", True) is False:
            draft.warn(_("TikTok: the app is not audited yet, so this post will be private "
                         "(SELF_ONLY, only the account sees it)"))
        if not release.images and not release.videos:
            draft.warn(_("TikTok needs a video or photos: this release has neither"))
        return {"privacy_level": privacy}

    # --- what the post needs ----------------------------------------------------------
    def preflight(self, variant: Variant) -> str | None:
        """Why this variant cannot be published on TikTok, or ``None`` (for queue time)."""
        videos = [m for m in variant.media if m.kind == "video"]
        if not videos and not variant.media:
            return _("TikTok posts need a video or at least one photo")
        if len(videos) > 1:
            return _("TikTok takes one video per post")
        if not videos and len(variant.media) > MAX_PHOTOS:
            return _("TikTok takes at most {most} photos per post").format(most=MAX_PHOTOS)
        needs_url = variant.media if not videos or self.pulls else []
        missing = [PurePath(m.path).name for m in needs_url
                   if not (self.image_host is not None
                           or will_have_url(m, self.account.options))]
        if missing:
            return (_("TikTok fetches photos from a public URL, and none is known for {files}: "
                      "choose where Siar hosts them in siar.toml ([media] store = ...), or set "
                      "the account option public_media_base_url").format(files=', '.join(missing)))
        if privacy_of(self.account.options) not in PRIVACY_LEVELS:
            return (_("options.privacy_level must be one of {choices}").format(
                        choices=', '.join(PRIVACY_LEVELS)))
        return None

    @property
    def pulls(self) -> bool:
        """Videos are fetched by TikTok from the media store (a verified domain)."""
        return bool(self.account.options.get("pull_from_url", False))

    @property
    def chunk_size(self) -> int:
        """The chunk size the account asks for (``chunk_mb``), else 10 MB."""
        from channels.tiktok.upload import DEFAULT_CHUNK
        chunk_mb = self.account.options.get("chunk_mb")
        return int(float(chunk_mb) * MIB) if chunk_mb else DEFAULT_CHUNK

    def images(self, delivery: Delivery | None) -> ImagesOfAnAttempt:
        return ImagesOfAnAttempt(self.image_host, delivery, self.account.options)

    @staticmethod
    def video_of(variant: Variant) -> Media | None:
        return next((m for m in variant.media if m.kind == "video"), None)

    # --- publishing -------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        """Publish the video (or photos); every answer is mapped onto one outcome."""
        images = self.images(delivery)
        processing = False
        try:
            outcome = self._publish(delivery, images)
            processing = isinstance(outcome, InDoubt)
        except HostingError as exc:
            outcome = NotSent(_("the media could not be put where TikTok fetches it: "
                                "{reason}").format(reason=self.redact(str(exc))), retry_after=60.0)
        images.finish(network_may_still_fetch=processing)
        return outcome

    def _publish(self, delivery: Delivery, images: ImagesOfAnAttempt) -> Outcome:
        from channels.tiktok.upload import plan_chunks, upload
        from channels.video.checks import refused_video
        if done := delivery.done_part(0):
            return Published(done.remote_id, done.url)
        variant = delivery.variant
        if problem := self.preflight(variant):
            return Rejected(problem)
        if earlier := delivery.state.get(STATE_KEY):
            # an earlier attempt began a post: never a second one while it may appear
            settled = self.settle(delivery, str(earlier))
            if not isinstance(settled, str):
                return settled
        if refused := refused_video(variant):
            return refused  # changed or removed since it was queued: nothing sent
        creator = self.call("post/publish/creator_info/query")
        if not isinstance(creator, dict):
            return creator
        privacy = self.privacy(creator)
        if isinstance(privacy, Rejected):
            return privacy
        video = self.video_of(variant)
        if video is None:
            return self._post_photos(delivery, images, privacy, creator)
        longest = creator.get("max_video_post_duration_sec")
        if longest and video.duration and video.duration > float(longest):
            return Rejected(_("the video is {duration:.0f} s long; this TikTok creator may post "
                              "at most {most} s").format(
                                duration=video.duration, most=int(longest)))
        post_info = {"title": self.caption(variant), "privacy_level": privacy,
                     **self.switches(creator),
                     "video_cover_timestamp_ms": int(self.account.options.get(
                         "cover_timestamp_ms", 1000))}
        if self.pulls:
            source: dict[str, Any] = {"source": "PULL_FROM_URL",
                                      "video_url": images.url(video) or ""}
            started = self.call("post/publish/video/init", create=True,
                                payload={"post_info": post_info, "source_info": source})
            return self._follow(delivery, started, creator)
        try:
            plan = plan_chunks(os.path.getsize(video.path), self.chunk_size)
        except (OSError, ValueError) as exc:
            return Rejected(_("the video cannot be uploaded to TikTok: {reason}").format(
                                reason=exc))
        started = self.call("post/publish/video/init",
                            payload={"post_info": post_info, "source_info": plan.source_info()})
        if not isinstance(started, dict):
            return started
        if not started.get("publish_id") or not started.get("upload_url"):
            return NotSent(_("TikTok's init answer has no publish_id or upload_url"))
        # before a byte leaves: a crash from here on is settled by this id, not resent
        delivery.checkpoint(**{STATE_KEY: str(started["publish_id"])})
        upload_url = str(started["upload_url"])
        self._seen.add(upload_url.split("?", 1)[-1])  # the upload token is a credential
        sent = upload(self.session, upload_url, video.path, plan,
                      mime=video.mime or "video/mp4", secrets=self.hidden,
                      timeout=self.timeouts,
                      failure=lambda answer, what, final: self.failure(answer, what,
                                                                       creating=final))
        if sent is not None:
            return sent
        return self.wait_for(delivery, str(started["publish_id"]), creator)

    def _post_photos(self, delivery: Delivery, images: ImagesOfAnAttempt, privacy: str,
                     creator: dict[str, Any]) -> Outcome:
        variant = delivery.variant
        urls = []
        for media in variant.media:
            url = images.url(media) or ""
            if problem := unfetchable(self.session, url, self.hidden, self.timeouts):
                return Rejected(_("TikTok cannot fetch {name}: {problem}").format(
                                    name=PurePath(media.path).name, problem=problem))
            urls.append(url)
        started = self.call("post/publish/content/init", create=True,
                            payload=photo_payload(variant, privacy,
                                                  self.switches(creator, photo=True), urls))
        return self._follow(delivery, started, creator)

    def _follow(self, delivery: Delivery, started: dict[str, Any] | Outcome,
                creator: dict[str, Any]) -> Outcome:
        """After an init that makes the post by itself (TikTok fetches the media)."""
        if not isinstance(started, dict):
            return started
        if not started.get("publish_id"):
            return InDoubt(_("TikTok's init answer has no publish_id"))
        delivery.checkpoint(**{STATE_KEY: str(started["publish_id"])})
        return self.wait_for(delivery, str(started["publish_id"]), creator)

    # --- status -------------------------------------------------------------------------
    def wait_for(self, delivery: Delivery, publish_id: str,
                 creator: dict[str, Any] | None = None) -> Outcome:
        """Poll status/fetch until TikTok has published or failed the post; still
        processing after ``poll_timeout`` is in doubt (the probe asks again)."""
        options = self.account.options
        interval = float(options.get("poll_interval", 5.0))
        deadline = time.monotonic() + float(options.get("poll_timeout", 300.0))
        while True:
            status = self.call("post/publish/status/fetch", {"publish_id": publish_id})
            if not isinstance(status, dict):
                return (InDoubt(_("the post's status could not be read: {reason}").format(
                                    reason=getattr(status, 'reason', status)))
                        if not isinstance(status, Rejected | InDoubt) else status)
            state = str(status.get("status") or "")
            if state in (DONE, "SEND_TO_USER_INBOX"):
                return self.published(delivery, publish_id, status, creator)
            if state == FAILED:
                reason = str(status.get("fail_reason") or "unknown")
                return Rejected(_("TikTok did not publish the post: {explained} ({reason})").format(
                                    explained=(_(FAIL_REASONS[reason]) if reason in FAIL_REASONS
                                               else reason),
                                    reason=reason))
            if time.monotonic() >= deadline:
                return InDoubt(_("TikTok is still processing the post ({state}) after {seconds} "
                                 "s; it is checked again").format(
                                   state=state, seconds=options.get('poll_timeout', 300)))
            time.sleep(interval)

    def published(self, delivery: Delivery, publish_id: str, status: dict[str, Any],
                  creator: dict[str, Any] | None) -> Published:
        """Record the post: TikTok's public post id once moderation passed (none for a
        private post: the publish id stands for it)."""
        ids = status.get("publicaly_available_post_id") or []
        post_id = str(ids[0]) if ids else publish_id
        user = (creator or {}).get("creator_username")
        kind = "video" if self.video_of(delivery.variant) else "photo"
        url = f"https://www.tiktok.com/@{user}/{kind}/{post_id}" if ids and user else None
        delivery.part_published(0, post_id, url, publish_id=publish_id)
        return Published(post_id, url)

    def settle(self, delivery: Delivery, publish_id: str) -> Outcome | str:
        """What became of the post an earlier attempt began: ``Published``; why it never
        will be (a ``str``: failed, or its upload never finished — only Siar holds the
        bytes), so a new post is safe; or an outcome that stops this attempt (in doubt
        while TikTok is still at it or its status cannot be read, refused credentials)."""
        status = self.call("post/publish/status/fetch", {"publish_id": publish_id})
        if not isinstance(status, dict):
            if isinstance(status, AuthFailed) or (isinstance(status, NotSent)
                                                  and status.rate_limited):
                return status
            return InDoubt(_("the earlier post's status could not be read: {reason}").format(
                               reason=getattr(status, 'reason', getattr(status, 'detail', ''))))
        state = str(status.get("status") or "")
        if state in (DONE, "SEND_TO_USER_INBOX"):
            return self.published(delivery, publish_id, status, None)
        if state == FAILED:
            return _("TikTok failed the earlier post ({reason})").format(
                       reason=status.get('fail_reason'))
        video = self.video_of(delivery.variant)
        if (state == "PROCESSING_UPLOAD" and video is not None and not self.pulls
                and int(status.get("uploaded_bytes") or 0) < int(video.bytes or 0)):
            return _("the earlier upload never finished: TikTok will not publish it")
        waited = self.wait_for(delivery, publish_id)
        return waited.reason if isinstance(waited, Rejected) else waited

    def probe(self, delivery: Delivery) -> Outcome | None:
        """Settle a post in doubt by its checkpointed ``publish_id``."""
        if done := delivery.done_part(0):
            return Published(done.remote_id, done.url)
        publish_id = delivery.state.get(STATE_KEY)
        if publish_id is None:
            # without an id no upload began; an init that makes the post by itself
            # (photos, pulled videos) may have been applied unanswered: cannot tell
            video = self.video_of(delivery.variant)
            return (NotSent(_("TikTok never answered the init: no upload began"))
                    if video is not None and not self.pulls else None)
        settled = self.settle(delivery, str(publish_id))
        if isinstance(settled, str):
            return NotSent(settled)
        return settled if isinstance(settled, Published) else None

    # --- what is sent -------------------------------------------------------------------
    @staticmethod
    def caption(variant: Variant) -> str:
        return "\n\n".join(variant.parts)

    def privacy(self, creator: dict[str, Any]) -> str | Rejected:
        """The account's privacy level if this creator may use it."""
        wanted = privacy_of(self.account.options)
        allowed = [str(level) for level in creator.get("privacy_level_options") or []]
        if allowed and wanted not in allowed:
            return Rejected(_("TikTok privacy level {wanted} is not available to this creator; "
                              "set options.privacy_level to one of: {allowed}").format(
                                wanted=wanted, allowed=', '.join(allowed)))
        return wanted

    def switches(self, creator: dict[str, Any], *, photo: bool = False) -> dict[str, bool]:
        """Comments, duets and stitches: off where the account or the creator turned
        them off (photo posts have comments only)."""
        options = self.account.options
        names = ("comment",) if photo else ("comment", "duet", "stitch")
        return {f"disable_{name}": bool(options.get(f"disable_{name}", False)
                                        or creator.get(f"{name}_disabled", False))
                for name in names}

    # --- checking and describing --------------------------------------------------------
    def check(self) -> CheckResult:
        """The creator TikTok answers for, what they may post, and whether the app is
        audited (an unaudited one posts privately only)."""
        creator = self.call("post/publish/creator_info/query")
        if not isinstance(creator, dict):
            return CheckResult(ok=False, detail=getattr(creator, "reason",
                                                        getattr(creator, "detail", "")))
        user = creator.get("creator_username") or creator.get("creator_nickname")
        allowed = ", ".join(creator.get("privacy_level_options") or []) or "none"
        detail = (_("TikTok creator @{user}: privacy levels {allowed}; videos up to "
                    "{seconds} s").format(
                      user=user, allowed=allowed,
                      seconds=creator.get('max_video_post_duration_sec', '?')))
        if self.account.options.get("audited", True) is False:
            detail += (_("; the app is NOT audited: every post is private (SELF_ONLY) until "
                         "TikTok audits it"))
        privacy = self.privacy(creator)
        if isinstance(privacy, Rejected):
            return CheckResult(ok=False, detail=f"{detail}; {privacy.reason}",
                               identity=f"@{user}")
        return CheckResult(ok=True, detail=detail, identity=f"@{user}",
                           expires_at=self.token_expiry())

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.tiktok.upload import plan_chunks
        base = f"{self.base_url}/v2/post/publish"
        variant = delivery.variant
        privacy = privacy_of(self.account.options)
        calls: list[dict[str, Any]] = [{"method": "POST", "url": f"{base}/creator_info/query/"}]
        video = self.video_of(variant)
        if video is None:
            urls = [m.url or f"{{public URL of {PurePath(m.path).name}}}" for m in variant.media]
            calls.append({"method": "POST", "url": f"{base}/content/init/",
                          "json": photo_payload(variant, privacy,
                                                self.switches({}, photo=True), urls)})
        else:
            size = int(video.bytes or 0)
            plan = plan_chunks(size, self.chunk_size) if size else None
            source = ({"source": "PULL_FROM_URL", "video_url": video.url or "{media URL}"}
                      if self.pulls or plan is None else plan.source_info())
            calls.append({"method": "POST", "url": f"{base}/video/init/", "json": {
                "post_info": {"title": self.caption(variant), "privacy_level": privacy,
                              **self.switches({})},
                "source_info": source}})
            if source["source"] == "FILE_UPLOAD" and plan is not None:
                calls += [{"method": "PUT", "url": "{upload_url}",
                           "headers": {"Content-Range": f"bytes {a}-{b}/{size}"}}
                          for a, b in plan.ranges()]
        calls.append({"method": "POST", "url": f"{base}/status/fetch/",
                      "json": {"publish_id": "{publish_id}"}})
        return calls

