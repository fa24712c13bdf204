"""A fake Instagram professional account on the Graph API (Facebook Login host).

Follows Meta's "Content Publishing" guide and the references "IG User Media"
(``POST /{ig-user-id}/media``: ``image_url``, ``caption``, ``alt_text``,
``is_carousel_item``, ``media_type=CAROUSEL`` + ``children``; Reels: ``media_type=REELS``
+ ``video_url``, ``cover_url``, ``share_to_feed`` — ``VIDEO`` is refused since November
2023), "IG Container"
(``status_code``: IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED), "IG User Media
Publish" (``creation_id``) and "IG User Content Publishing Limit"
(``config.quota_total``, ``quota_usage``). Content rules from Meta's Instagram documentation:
caption ≤ 2,200 characters, ≤ 30 hashtags, ≤ 20 @mentions, carousel ≤ 10, JPEG only.
"""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.fakes.meta import ContainerFake, GraphParams, check_image, graph_error
from tests.fakes.server import Response

CAPTION_LIMIT = 2200
HASHTAG_LIMIT = 30
MENTION_LIMIT = 20
IMAGE_MAX_BYTES = 8 * 1024 * 1024
ASPECT = (4 / 5, 1.91)


class InstagramFake(ContainerFake):
    container_edge = "media"
    publish_edge = "media_publish"
    limit_edge = "content_publishing_limit"
    status_field = "status_code"
    max_children = 10

    def __init__(self, *, user_id: str = "17841405822304914", token: str = "IGQWRtoken123",
                 version: str = "v26.0", username: str = "lapaspangkalpinang") -> None:
        super().__init__(version=version, token=token, user_id=user_id, username=username)

    def scopes(self) -> list[str]:
        return ["instagram_basic", "instagram_content_publish", "pages_read_engagement"]

    def permalink(self, media_id: str) -> str:
        return f"https://www.instagram.com/p/C{media_id[-8:]}/"

    def check_fetched_image(self, data: bytes) -> Response | None:
        if problem := check_image(data, formats=("JPEG",), max_bytes=IMAGE_MAX_BYTES):
            return graph_error(9004, f"The image is not supported: {problem}",
                               subcode=2207052)
        with Image.open(io.BytesIO(data)) as image:
            ratio = image.width / image.height
        if not ASPECT[0] - 0.01 <= ratio <= ASPECT[1] + 0.01:
            return graph_error(36003, "The aspect ratio is not supported.", subcode=2207009)
        return None

    def validate(self, params: GraphParams) -> Response | None:
        caption = params.get("caption") or ""
        if len(caption) > CAPTION_LIMIT:
            return graph_error(100, "(#100) The caption is too long", subcode=2207010)
        if len(re.findall(r"#\w", caption)) > HASHTAG_LIMIT:
            return graph_error(100, "(#100) The caption has more than 30 hashtags",
                               subcode=2207010)
        if len(re.findall(r"@\w", caption)) > MENTION_LIMIT:
            return graph_error(100, "(#100) The caption has more than 20 mentions",
                               subcode=2207010)
        media_type = (params.get("media_type") or "IMAGE").upper()
        if media_type == "CAROUSEL":
            return None
        if media_type == "REELS":  # video_url is required and fetched by ContainerFake
            return None
        if media_type == "VIDEO":
            return graph_error(100, "(#100) The VIDEO media type is no longer supported: "
                                    "publish videos as REELS", subcode=2207067)
        if media_type != "IMAGE":
            return graph_error(100, f"(#100) media_type {media_type} is not supported here")
        url = params.get("image_url")
        if not url:
            return graph_error(100, "(#100) The parameter image_url is required")
        if not url.lower().split("?")[0].endswith((".jpg", ".jpeg")):
            return graph_error(9004, "Only JPEG images are supported", subcode=2207052)
        return None
