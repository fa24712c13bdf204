"""Facebook Page adapter (Graph API, Page access token).

* text (and an optional link card): ``POST /{page-id}/feed {message, link}``
* one photo: ``POST /{page-id}/photos`` multipart ``source`` + ``message`` +
  ``alt_text_custom``; the answer's ``post_id`` is the post
* several photos: each uploaded with ``published=false`` (invisible, harmless if
  repeated), then ``POST /{page-id}/feed`` with ``attached_media[i]={"media_fbid": …}``

* a video (:mod:`channels.facebook_video`): uploaded with the Resumable Upload API for
  a handle, published with ``POST /{page-id}/videos {description,
  fbuploader_video_file_chunk}`` on ``graph-video.facebook.com``, its ``status`` polled
  until ``ready``

A Page has no threads: several parts are joined into one message. There is no
idempotency key, so an in-doubt post is settled by reading the Page's recent posts
(``GET /{page-id}/posts?since=…``) and looking for the exact message (a video: its
checkpointed id, or the Page's videos by description).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from channels.base import CheckResult, Delivery, InDoubt, NotSent, Outcome, Published, Rejected
from channels.facebook_video import PageVideos
from channels.i18n import _
from channels.rules import MB, WEB_FORMATS, ImageRules, PostRules, VideoRules
from channels.variant import Variant

if TYPE_CHECKING:
    from channels.images import PreparedImage

__all__ = ["FacebookChannel"]


class FacebookChannel(PageVideos):
    """Posts to one Facebook Page. Options: ``page_id`` (required), ``graph_version``;
    for videos ``app_id`` (required), ``video_poll_interval``/``video_poll_timeout``,
    ``upload_part_bytes``, ``video_base_url``."""

    network = "facebook"
    display_name = "Facebook"
    accent_colour = "#1877f2"
    post_rules = PostRules(limit=63206)
    # Facebook Page photos: "less than 4 MB", JPG/PNG/GIF/WebP.
    image_rules = ImageRules(max_bytes=4 * MB, formats=WEB_FORMATS)
    #: Page videos: up to 10 GB and 240 minutes (resumable upload above 1 GB)
    video_rules = VideoRules(max_bytes=10_000 * MB, max_seconds=240 * 60)
    docs = "docs/channels/facebook.md"
    default_base_url = "https://graph.facebook.com"
    can_probe = True

    @staticmethod
    def post_url(post_id: str) -> str:
        return f"https://www.facebook.com/{post_id}"

    def preflight(self, variant: Variant) -> str | None:
        """A video needs the account's ``app_id`` (its upload session belongs to the app)."""
        return self.video_preflight(variant)

    # --- publishing ---------------------------------------------------------------------
    def publish(self, delivery: Delivery) -> Outcome:
        from channels.images import ImageError, prepare_image
        from channels.uploads import video_of
        done = delivery.done_part(0)
        if done:
            return Published(done.remote_id, done.url)
        if video := video_of(delivery.variant):
            return self.publish_video(delivery, video)
        try:
            images = [prepare_image(m.path, self.network, alt=m.alt)
                      for m in delivery.variant.media]
        except ImageError as exc:
            return Rejected(_("image cannot be sent to Facebook: {reason}").format(reason=exc))
        if len(images) == 1:
            post_id = self._publish_photo(delivery, images[0])
        elif images:
            post_id = self._publish_multi_photo(delivery, images)
        else:
            post_id = self._publish_feed(delivery, {})
        if not isinstance(post_id, str):
            return post_id
        url = self.post_url(post_id)
        delivery.part_published(0, post_id, url)
        return Published(post_id, url)

    def _feed_fields(self, delivery: Delivery) -> dict[str, str]:
        fields = {"message": self.message(delivery)}
        if delivery.variant.link and not delivery.variant.media:
            fields["link"] = delivery.variant.link
        return fields

    def _publish_feed(self, delivery: Delivery, attached: dict[str, str]) -> str | Outcome:
        body = self.call("POST", f"{self.page_id}/feed", creating=True,
                         data={**self._feed_fields(delivery), **attached})
        if not isinstance(body, dict):
            return body
        return str(body.get("id") or "") or InDoubt(_("feed answered without a post id"))

    def _publish_photo(self, delivery: Delivery, image: PreparedImage) -> str | Outcome:
        fields = {"message": self.message(delivery), "alt_text_custom": image.alt,
                  "published": "true"}
        body = self.call("POST", f"{self.page_id}/photos", creating=True, data=fields,
                         files={"source": (image.filename, image.data, image.mime)})
        if not isinstance(body, dict):
            return body
        return str(body.get("post_id") or body.get("id") or "") or InDoubt(
            _("photos answered without a post id"))

    def _publish_multi_photo(self, delivery: Delivery,
                             images: list[PreparedImage]) -> str | Outcome:
        # Unpublished photos are invisible until attached, so uploading them is not a
        # risky step; their ids are checkpointed only to avoid uploading them again.
        photo_ids: list[str] = list(delivery.state.get("photo_ids", []))
        for image in images[len(photo_ids):]:
            body = self.call("POST", f"{self.page_id}/photos", creating=False,
                             data={"published": "false", "alt_text_custom": image.alt},
                             files={"source": (image.filename, image.data, image.mime)})
            if not isinstance(body, dict):
                return body
            if not body.get("id"):
                return NotSent(_("photo upload answered without an id"))
            photo_ids.append(str(body["id"]))
            delivery.checkpoint(photo_ids=photo_ids)
        attached = {f"attached_media[{i}]": json.dumps({"media_fbid": photo_id})
                    for i, photo_id in enumerate(photo_ids)}
        return self._publish_feed(delivery, attached)

    # --- settling, checking, describing -------------------------------------------------
    def probe(self, delivery: Delivery) -> Outcome | None:
        """Look for the exact message among the Page's posts since shortly before due
        (a video post: see :meth:`probe_video`)."""
        from channels.uploads import video_of
        if video_of(delivery.variant):
            return self.probe_video(delivery)
        post = self.find_recent(delivery, "posts", "message",
                                "id,message,created_time,permalink_url")
        if post is None:
            return None
        if post:
            post_id = str(post["id"])
            url = post.get("permalink_url") or self.post_url(post_id)
            delivery.part_published(0, post_id, url)
            return Published(post_id, url)
        return NotSent(_("no post with this message on the Page since it was due: safe to send"))

    def check(self) -> CheckResult:
        """``GET /me`` with the Page token names the Page; ``debug_token`` its expiry."""
        return self.check_identity("id,name")

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.uploads import video_of
        page = self.account.options.get("page_id", "{page-id}")
        media = delivery.variant.media
        if video := video_of(delivery.variant):
            return self.describe_video(delivery, video)
        requests_: list[dict[str, Any]] = []
        if len(media) == 1:
            requests_.append({"method": "POST", "url": f"{self.api_url}/{page}/photos",
                              "data": {"message": self.message(delivery),
                                       "alt_text_custom": media[0].alt, "published": "true"},
                              "files": {"source": media[0].path}})
            return requests_
        for item in media:
            requests_.append({"method": "POST", "url": f"{self.api_url}/{page}/photos",
                              "data": {"published": "false", "alt_text_custom": item.alt},
                              "files": {"source": item.path}})
        data: dict[str, Any] = self._feed_fields(delivery)
        data.update({f"attached_media[{i}]": json.dumps({"media_fbid": f"{{photo-{i}}}"})
                     for i in range(len(media)) if len(media) > 1})
        requests_.append({"method": "POST", "url": f"{self.api_url}/{page}/feed",
                          "data": data})
        return requests_
