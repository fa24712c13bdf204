"""A WordPress video: the file into the media library (``POST /wp/v2/media`` with the raw
bytes streamed from disk and ``Content-Disposition``), its cover too (the video's poster
and the post's featured image), and a video block at the top of the post's content. The
library item is titled by the video's own title (``videos: [{title: …}]``), else the
post's (WordPress would otherwise name it after the file).

Each library item is checkpointed (``media``) as soon as WordPress answers with its id,
so a retry — after a failed cover upload, a refused post, a crash before the post —
never uploads the video a second time. An upload that fails is sent again at once
(:func:`channels.uploads.retried`; an unused library item is invisible). A web server
that refuses the size answers 413: the refusal says which limits to raise.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from channels.base import Delivery, Outcome, Rejected
from channels.i18n import _
from channels.images import ImageError, prepare_image
from channels.uploads import FileBody, retried, size_text, upload_options
from channels.variant import Media
from channels.video.checks import refused_video

if TYPE_CHECKING:
    from channels.wordpress import WordPressChannel


def plain_text(text: str) -> str:
    """``text`` escaped so that WordPress, which treats titles and excerpts as HTML, shows it
    literally (``<Online>`` would otherwise be dropped as an unknown tag, by kses or by
    the browser)."""
    return html.escape(text, quote=False)


def upload_video(channel: WordPressChannel, delivery: Delivery, video: Media,
                 uploaded: list[dict[str, Any]]) -> list[dict[str, Any]] | Outcome:
    """``[video item, poster item]`` (the poster when the video has a cover), continuing
    from what an earlier attempt checkpointed in ``uploaded``."""
    if not uploaded:
        if refused := refused_video(delivery.variant):
            return refused  # changed or removed since it was queued: nothing sent
        name = f"{channel.slug(delivery)[:60] or 'video'}.mp4"
        # WordPress reads an upload's fields from the query too (the body is the file)
        title = plain_text(video.title or channel.title(delivery.variant))
        body = retried(lambda: channel.call(
            "POST", "media", creating=False, data=FileBody(video.path), params={"title": title},
            headers={"Content-Type": "video/mp4",
                     "Content-Disposition": f'attachment; filename="{name}"'}),
            pause=upload_options(channel.account.options)["pause"])
        if not isinstance(body, dict):
            if isinstance(body, Rejected) and body.http_status == 413:
                return Rejected(_("the site's web server refused the {size} video as too large: "
                                  "raise its upload limit (nginx client_max_body_size, PHP "
                                  "upload_max_filesize and post_max_size)").format(
                                    size=size_text(video.bytes or 0)), http_status=413)
            return body
        uploaded = [{"id": int(body["id"]), "url": str(body.get("source_url", "")),
                     "alt": video.alt, "kind": "video"}]
        delivery.checkpoint(media=uploaded)
    if video.cover and len(uploaded) < 2:
        try:
            poster = channel._upload(prepare_image(video.cover, channel.network))
        except ImageError as exc:
            return Rejected(_("the video's cover cannot be sent to WordPress: {reason}").format(
                                reason=exc))
        if not isinstance(poster, dict):
            return poster
        uploaded = [*uploaded, {**poster, "kind": "poster"}]
        delivery.checkpoint(media=uploaded)
    return uploaded


def video_content(media: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The video block for the top of the content when ``media`` starts with the video,
    and the library items left (its poster, if any, becomes the featured image)."""
    if not media or media[0].get("kind") != "video":
        return "", media
    return video_block(media[0], media[1] if len(media) > 1 else None), media[1:]


def video_block(video: dict[str, Any], poster: dict[str, Any] | None) -> str:
    """The block editor's ``core/video`` markup for the uploaded video."""
    attributes = json.dumps({"id": video["id"]})
    poster_attribute = f' poster="{html.escape(poster["url"])}"' if poster else ""
    label = f' aria-label="{html.escape(video["alt"])}"' if video.get("alt") else ""
    return (f"<!-- wp:video {attributes} -->\n<figure class=\"wp-block-video\"><video controls"
            f"{poster_attribute}{label} src=\"{html.escape(video['url'])}\"></video></figure>\n"
            f"<!-- /wp:video -->\n")


def video_upload_steps(api: str, video: Media, title: str) -> tuple[list[dict[str, Any]],
                                                                    list[dict[str, Any]]]:
    """The uploads :func:`upload_video` sends, and the library items they stand for, for
    the dry run (``title``: the post's, for a video without its own)."""
    steps: list[dict[str, Any]] = [
        {"method": "POST", "url": f"{api}/media", "data": f"<bytes of {video.path}>",
         "params": {"title": plain_text(video.title or title)},
         "headers": {"Content-Type": "video/mp4",
                     "Content-Disposition": 'attachment; filename="<slug>.mp4"'}}]
    items = [{"id": "{video-id}", "url": "{video-url}", "alt": video.alt, "kind": "video"}]
    if video.cover:
        steps.append({"method": "POST", "url": f"{api}/media", "data": f"<bytes of "
                      f"{video.cover}>", "headers": {"Content-Type": "image/jpeg"}})
        items.append({"id": "{poster-id}", "url": "{poster-url}", "alt": ""})
    return steps, items
