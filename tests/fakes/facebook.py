"""A fake Facebook Page on the Graph API.

Follows Meta's reference pages "Page Feed" (``POST /{page-id}/feed``: ``message``,
``link``, ``published``, ``attached_media`` as ``attached_media[i]={"media_fbid": …}``;
answer ``{"id": "{page-id}_{post-id}"}``), "Page Photos" (``POST /{page-id}/photos``:
multipart ``source`` or ``url``, ``message``, ``alt_text_custom``, ``published``;
answer ``{"id": photo-id, "post_id": …}`` when published, ``{"id": photo-id}`` when not)
and "Page Posts" (``GET /{page-id}/posts?fields=…&since=…``), plus the shared Graph
behaviour of :mod:`tests.fakes.meta`. Limits from Meta's Graph API documentation: message
63,206 characters; photos under 4 MB.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tests.fakes.meta import GraphFake, GraphParams, check_image, graph_error
from tests.fakes.server import FakeRequest, Response

MESSAGE_LIMIT = 63_206
PHOTO_MAX_BYTES = 4_000_000


@dataclass
class PagePhoto:
    id: str
    data: bytes
    alt: str | None
    published: bool
    attached_to: str | None = None


@dataclass
class PagePost:
    id: str
    message: str
    link: str | None
    created: float
    photos: list[str] = field(default_factory=list)


class FacebookFake(GraphFake):
    def __init__(self, *, page_id: str = "104857600123", token: str = "EAAPageToken123",
                 version: str = "v26.0", page_name: str = "Lapas Pangkalpinang") -> None:
        super().__init__(version=version, token=token)
        self.page_id = page_id
        self.page_name = page_name
        self.posts: list[PagePost] = []
        self.photos: dict[str, PagePhoto] = {}
        self.graph_route("POST", "/{page}/feed", self._feed)
        self.graph_route("POST", "/{page}/photos", self._photos)
        self.graph_route("GET", "/{page}/posts", self._list_posts)
        self.graph_route("GET", "/me", self._me)
        self.add_debug_token(page_id, ["pages_manage_posts", "pages_read_engagement",
                                       "pages_show_list"])

    def forget_objects(self) -> None:
        self.posts.clear()
        self.photos.clear()

    def _wrong_page(self, request: FakeRequest) -> Response | None:
        if request.params["page"] != self.page_id:
            return graph_error(100, "(#100) Unsupported post request. Object with ID "
                                    f"'{request.params['page']}' does not exist",
                               error_type="GraphMethodException")
        return None

    def _new_post(self, message: str, link: str | None, photos: list[str]) -> PagePost:
        post = PagePost(id=f"{self.page_id}_{self.new_id()}", message=message, link=link,
                        created=time.time(), photos=photos)
        self.posts.append(post)
        return post

    def _feed(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        message = params.get("message") or ""
        link = params.get("link")
        attached: list[str] = []
        index = 0
        while (raw := params.get(f"attached_media[{index}]")) is not None:
            try:
                attached.append(str(json.loads(raw)["media_fbid"]))
            except (ValueError, KeyError, TypeError):
                return graph_error(100, f"(#100) param attached_media[{index}] must be an "
                                        "object with media_fbid")
            index += 1
        if not (message or link or attached):
            return graph_error(100, "(#100) Missing message or attachment")
        if len(message) > MESSAGE_LIMIT:
            return graph_error(100, "(#100) Message is too long")
        if link and urlsplit(link).scheme not in ("http", "https"):
            return graph_error(100, "(#100) link URL is not properly formatted")
        for photo_id in attached:
            photo = self.photos.get(photo_id)
            if photo is None or photo.published or photo.attached_to:
                return graph_error(100, f"(#100) attached_media {photo_id} is not an "
                                        "unpublished photo of this Page")
        post = self._new_post(message, link, attached)
        for photo_id in attached:
            self.photos[photo_id].attached_to = post.id
        return 200, {}, {"id": post.id}

    def _photos(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        source = params.files.get("source")
        if source is None:
            return graph_error(324, "(#324) Requires upload file", error_type="OAuthException")
        if problem := check_image(source.data, max_bytes=PHOTO_MAX_BYTES):
            return graph_error(324, f"(#324) {problem}")
        published = (params.get("published") or "true").lower() != "false"
        photo = PagePhoto(id=self.new_id(), data=source.data,
                          alt=params.get("alt_text_custom"), published=published)
        self.photos[photo.id] = photo
        if not published:
            return 200, {}, {"id": photo.id}
        post = self._new_post(params.get("message") or "", None, [photo.id])
        return 200, {}, {"id": photo.id, "post_id": post.id}

    def _list_posts(self, request: FakeRequest, params: GraphParams) -> Response:
        if wrong := self._wrong_page(request):
            return wrong
        since = float(params.get("since") or 0)
        data = [{"id": p.id, "message": p.message,
                 "created_time": datetime.fromtimestamp(p.created, UTC).strftime(
                     "%Y-%m-%dT%H:%M:%S+0000"),
                 "permalink_url": f"https://www.facebook.com/{p.id}"}
                for p in reversed(self.posts) if p.created >= since]
        return 200, {}, {"data": data, "paging": {}}

    def _me(self, request: FakeRequest, params: GraphParams) -> Response:
        return 200, {}, {"id": self.page_id, "name": self.page_name}
