"""Instagram adapter (Instagram Graph API, content publishing).

Instagram fetches every image itself from a **public URL**, then publishes in two steps
(see :class:`channels.meta.ContainerChannel`):

1. ``POST /{ig-user-id}/media {image_url, caption, alt_text}`` → container id
   (a carousel: one ``is_carousel_item`` container per image, then a
   ``media_type=CAROUSEL`` container with ``children``);
2. poll ``GET /{container}?fields=status_code`` until FINISHED;
3. checkpoint the container id, then ``POST /{ig-user-id}/media_publish {creation_id}``.

The image URL comes from the media store the daemon hands in (``[media] store``: the
file is put there while publishing and deleted once Instagram has fetched it), else the
media's own ``url`` or the account option ``public_media_base_url`` + the file name
(:mod:`channels.image_host`). Without any the post cannot be made and is refused before
anything is sent (:meth:`preflight`).
Instagram has no threads: several parts are joined into one caption.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from channels.base import AuthFailed, CheckResult, Delivery, NotSent, Outcome, Published, Rejected
from channels.composing import Draft, Release
from channels.i18n import _
from channels.image_host import ImagesOfAnAttempt
from channels.meta import PUBLISHING_LIMIT_WAIT
from channels.meta_video import VideoContainerChannel, without_video_url
from channels.rules import MB, MIB, HashtagRules, ImageRules, PostRules, VideoRules
from channels.variant import Media, Variant

__all__ = ["InstagramChannel"]

MAX_CAROUSEL = 10


class InstagramChannel(VideoContainerChannel):
    """Options: ``user_id`` (the IG user id, required), ``public_media_base_url``,
    ``graph_version``, ``poll_interval``/``poll_timeout`` (seconds), and for Reels
    ``video_poll_interval``/``video_poll_timeout``."""

    network = "instagram"
    display_name = "Instagram"
    accent_colour = "#d62976"
    post_rules = PostRules(limit=2200, max_images=MAX_CAROUSEL)
    hashtag_rules = HashtagRules(max_tags=30)
    # Instagram content publishing: JPEG only, ≤ 8 MiB, aspect 4:5 … 1.91:1, width
    # 320 … 1440 (larger is scaled down by Instagram anyway).
    image_rules = ImageRules(max_bytes=8 * MIB, formats=frozenset({"JPEG"}), max_side=1440,
                             aspect=(4 / 5, 1.91), min_side=320, max_alt=1000)
    #: Reels: MP4, H.264, 3 s to 15 min, 300 MB, at most 1920 columns, 25 Mbit/s, AAC
    #: ≤ 48 kHz at 128 kbit/s; shown full screen at 9:16, so other shapes are padded to it;
    #: a cover (``cover_url``) for the profile grid
    video_rules = VideoRules(max_bytes=300 * MB, max_seconds=15 * 60, min_seconds=3,
                             aspect=(9 / 16, 9 / 16), pad_to=9 / 16,
                             max_video_kbps=25_000, cover=True)
    docs = "docs/channels/instagram.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """Nothing extra; warns when the release has no image or video (Instagram needs
        one)."""
        if not release.images and not release.videos:
            draft.warn(_("Instagram needs an image or a video: this release has neither"))
        return {}
    fetches_media_by_url = True
    default_base_url = "https://graph.facebook.com"
    container_edge = "media"
    publish_edge = "media_publish"
    status_field = "status_code"
    sends_cover = True  # a Reel's cover_url

    # --- what the post needs before it can be queued ----------------------------------
    def preflight(self, variant: Variant) -> str | None:
        """Why this variant cannot be published on Instagram, or ``None``.

        Meant for queue time, so staff hear about it when they schedule the release.
        """
        if not variant.media:
            return _("Instagram posts need at least one image or a video")
        if len(variant.media) > MAX_CAROUSEL:
            return _("Instagram takes at most {most} images per post").format(most=MAX_CAROUSEL)
        missing = self.missing_urls(variant.media)
        if missing:
            return (_("Instagram fetches images and videos from a public URL, and none is known "
                      "for {files}: choose where Siar hosts them in siar.toml ([media] store = "
                      "\"wordpress:ACCOUNT\", \"s3\" or \"siar\"), or set the account option "
                      "public_media_base_url").format(files=', '.join(missing)))
        return None

    @staticmethod
    def caption(variant: Variant) -> str:
        return "\n\n".join(variant.parts)

    @staticmethod
    def _item_params(media: Media, images: ImagesOfAnAttempt, *,
                     child: bool) -> dict[str, str]:
        params = {"image_url": images.url(media) or "", "alt_text": media.alt}
        if child:
            params["is_carousel_item"] = "true"
        return params

    def reel_params(self, video: Media, images: ImagesOfAnAttempt,
                    caption: str) -> dict[str, str]:
        """A Reel's container: ``media_type=REELS``, the hosted ``video_url`` (and
        ``cover_url``), the caption, shown in the feed as well as in Reels."""
        return {"media_type": "REELS", **self.video_urls(video, images), "caption": caption,
                "share_to_feed": "true"}

    # --- publishing -------------------------------------------------------------------
    def publish_with(self, delivery: Delivery, images: ImagesOfAnAttempt) -> Outcome:
        from channels.uploads import video_of
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        variant = delivery.variant
        if problem := self.preflight(variant):
            return Rejected(problem)
        caption = self.caption(variant)
        if not delivery.state.get(self.container_key(0)):
            quota = self.quota_left()
            if isinstance(quota, int) and quota <= 0:
                return NotSent(_("the account's 24-hour publishing quota is used up"),
                               retry_after=PUBLISHING_LIMIT_WAIT, rate_limited=True)
            # A refused token or a throttle stops here; a quota read that merely failed
            # does not block the post (media_publish enforces the quota anyway).
            if isinstance(quota, AuthFailed) or (isinstance(quota, NotSent)
                                                 and quota.rate_limited):
                return quota
        if video := video_of(variant):
            params = self.reel_params(video, images, caption)
        elif len(variant.media) == 1:
            params = {**self._item_params(variant.media[0], images, child=False),
                      "caption": caption}
        else:
            children = self.carousel_children(
                delivery, len(variant.media),
                lambda i: self._item_params(variant.media[i], images, child=True))
            if not isinstance(children, list):
                return children
            params = {"media_type": "CAROUSEL", "children": ",".join(children),
                      "caption": caption}
        media_id = self.publish_container(delivery, 0, caption, params)
        if not isinstance(media_id, str):
            return media_id
        url = self.permalink(media_id)
        delivery.part_published(0, media_id, url,
                                container_id=delivery.state.get(self.container_key(0)))
        return Published(media_id, url)

    def container_error(self, container_id: str) -> str:
        body = self.call("GET", container_id, creating=False, params={"fields": "status"})
        return str(body.get("status")) if isinstance(body, dict) else "status ERROR"

    def quota_left(self) -> int | Outcome | None:
        """Posts left in the rolling 24-hour publishing quota (``None``: not reported)."""
        body = self.call("GET", f"{self.user_id}/content_publishing_limit", creating=False,
                         params={"fields": "config,quota_usage"})
        if not isinstance(body, dict):
            return body
        if not body.get("data"):
            return None
        entry = body["data"][0]
        total = (entry.get("config") or {}).get("quota_total")
        if total is None:
            return None
        return int(total) - int(entry.get("quota_usage") or 0)

    def find_published_media(self, text: str) -> tuple[str, str | None] | None:
        body = self.call("GET", f"{self.user_id}/media", creating=False,
                         params={"fields": "id,caption,permalink,timestamp", "limit": "25"})
        if not isinstance(body, dict):
            return None
        for media in body.get("data", []):
            if str(media.get("caption", "")).strip() == text.strip():
                return str(media["id"]), media.get("permalink")
        return None

    def probe_parts(self, delivery: Delivery) -> list[str]:
        return [self.caption(delivery.variant)]

    # --- checking and describing --------------------------------------------------------
    def check(self) -> CheckResult:
        """The IG account's name, the token's expiry and the quota left today."""
        result = self.check_identity("id,username", path=self.user_id)
        if not result.ok:
            return result
        quota = self.quota_left()
        if not isinstance(quota, int):
            return result
        return replace(result, detail=_("{detail}; {quota} posts left in the 24 h quota").format(
                                          detail=result.detail, quota=quota))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        user = self.account.options.get("user_id", "{ig-user-id}")
        base = f"{self.api_url}/{user}"
        variant = delivery.variant
        caption = self.caption(variant)
        images = self.images(None)
        calls: list[dict[str, Any]] = []
        if video := video_of(variant):
            parent = without_video_url(self.reel_params(video, images, caption))
        elif len(variant.media) > 1:
            for media in variant.media:
                calls.append({"method": "POST", "url": f"{base}/media",
                              "data": self._item_params(media, images, child=True)})
            parent = {"media_type": "CAROUSEL", "children": "{child-ids}", "caption": caption}
        else:
            parent = {"caption": caption, **(self._item_params(variant.media[0], images,
                                                               child=False)
                                             if variant.media else {})}
        calls.append({"method": "POST", "url": f"{base}/media", "data": parent})
        if video_of(variant):
            calls.append({"method": "GET", "url": f"{self.api_url}/{{container-id}}",
                          "params": {"fields": "id,status_code"}, "until": "FINISHED"})
        calls.append({"method": "POST", "url": f"{base}/media_publish",
                      "data": {"creation_id": "{container-id}"}})
        return calls
