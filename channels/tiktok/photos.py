"""TikTok photo posts: a carousel TikTok fetches by URL (``content/init``, ``PHOTO``).

TikTok takes JPEG and WebP photos only, up to 35 a post, each fetched from a domain
verified for the app; the post's title holds at most 90 characters and the caption goes
in its description (at most 4,000).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels import http
from channels.http import answered
from channels.i18n import _
from channels.variant import Variant

if TYPE_CHECKING:
    import requests

__all__ = ["MAX_PHOTOS", "photo_payload", "unfetchable"]

MAX_PHOTOS = 35
TITLE_LIMIT = 90
#: what a JPEG and a WebP file begin with (WebP: "RIFF", a size, then "WEBP")
JPEG, RIFF, WEBP = b"\xff\xd8\xff", b"RIFF", b"WEBP"


def photo_payload(variant: Variant, privacy: str, switches: dict[str, bool],
                  urls: list[str]) -> dict[str, Any]:
    """The body of ``POST /v2/post/publish/content/init/`` for ``variant``'s photos."""
    return {"post_info": {"title": variant.title[:TITLE_LIMIT],
                          "description": "\n\n".join(variant.parts),
                          "privacy_level": privacy, **switches},
            "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
                            "photo_images": urls},
            "post_mode": "DIRECT_POST", "media_type": "PHOTO"}


def unfetchable(session: requests.Session, url: str, secrets: list[str],
                timeout: tuple[float, float]) -> str | None:
    """Why TikTok could not fetch a photo at ``url``, or ``None``. Read (its first 16
    bytes) before the post is made: TikTok would fail the post only after making it."""
    answer = http.request(session, "GET", url, secrets=secrets, timeout=timeout,
                          headers={"Range": "bytes=0-15"})
    if not answered(answer):
        return http.redact(getattr(answer, "reason", str(answer)), secrets)
    if answer.status_code not in (200, 206):
        return _("{url} answers HTTP {status}").format(url=url, status=answer.status_code)
    head = answer.content[:16]
    if not (head.startswith(JPEG) or (head.startswith(RIFF) and head[8:12] == WEBP)):
        return _("{url} is not a JPEG or WebP image").format(url=url)
    return None
