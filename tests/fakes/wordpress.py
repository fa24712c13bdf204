"""A fake WordPress site speaking the REST API (``/wp-json/wp/v2``).

Follows the WordPress REST API Handbook: "Posts" (``POST /wp/v2/posts`` → 201 with
``id``, ``link``, ``slug``; ``GET /wp/v2/posts?slug=…&status=any`` needs an editor),
"Tags"/"Categories" (``GET ?slug=``, ``POST {name}``; a duplicate name is
``400 term_exists`` with ``data.term_id``), "Media" (``POST /wp/v2/media`` with the
raw file and ``Content-Disposition: attachment; filename=…``, then
``POST /wp/v2/media/{id} {alt_text}``; ``DELETE /wp/v2/media/{id}?force=true``, as
attachments cannot be trashed; a file name already used gets ``-1``, ``-2`` …; the
file is served at its ``source_url`` until deleted), "Users" (``GET /wp/v2/users/me``), and the
"Application Passwords" integration guide (HTTP Basic with ``user:password``, spaces in
the password ignored; errors ``rest_not_logged_in``, ``incorrect_password``,
``invalid_username``; a request WordPress saw no credentials for is anonymous, refused by
the route's own check: ``rest_cannot_create`` on a create, ``rest_not_logged_in`` on
``users/me``). Errors use WP_Error's shape ``{"code", "message", "data": {"status"}}``.

Text is stored and shown as WordPress does (:mod:`tests.fakes.wordpress_text`): slugs
sanitised and made unique with ``-2``, titles and excerpts filtered by kses for a user
without ``unfiltered_html``, alt text by ``sanitize_text_field``; a published post's page
(``/{slug}/``: ``<title>``, ``<h1>``, featured image) and the RSS feed (``/feed/``) show
them as a theme would.
"""

from __future__ import annotations

import base64
import io
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from tests.fakes import wordpress_text as wp
from tests.fakes.server import FakeRequest, FakeServer, Response

STATUSES = ("publish", "future", "draft", "pending", "private")
SITE_NAME = "Humas Lapas"
NOT_ALLOWED_TO_CREATE = ("rest_cannot_create",
                         "Sorry, you are not allowed to create posts as this user.")
UPLOAD_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                ".gif": "image/gif", ".webp": "image/webp", ".mp4": "video/mp4"}


def wp_error(code: str, message: str, status: int, **data: Any) -> Response:
    return status, {}, {"code": code, "message": message, "data": {"status": status, **data}}


def invalid_param(name: str, reason: str) -> Response:
    return wp_error("rest_invalid_param", f"Invalid parameter(s): {name}", 400,
                    params={name: reason})


@dataclass
class WPPost:
    id: int
    slug: str
    title: str
    content: str
    status: str
    tags: list[int]
    categories: list[int]
    featured_media: int
    excerpt: str
    created: float = field(default_factory=time.time)


@dataclass
class WPMedia:
    id: int
    filename: str
    data: bytes
    mime: str
    alt_text: str = ""
    #: the attachment's title: the ``title`` field (query or body), else the file's stem
    title: str = ""


class WordPressFake(FakeServer):
    def __init__(self, *, username: str = "humas", app_password: str = "abcd EFGH 1234 ijkl",
                 can_publish: bool = True, unfiltered_html: bool = False) -> None:
        super().__init__()
        self.username = username
        self.app_password = app_password.replace(" ", "")
        self.can_publish = can_publish
        #: administrators and editors of a single site may save any HTML; others get kses
        self.unfiltered_html = unfiltered_html
        #: some Apache/CGI hosts drop the Authorization header before PHP sees it
        self.strips_authorization = False
        self.posts: list[WPPost] = []
        self.terms: dict[str, dict[int, str]] = {"tags": {}, "categories": {1: "Berita"}}
        self.media: dict[int, WPMedia] = {}
        #: the largest request body the web server lets through (nginx client_max_body_size)
        self.max_body = 64 * 1024 * 1024
        self._ids = itertools.count(101)
        api = "/wp-json/wp/v2"
        self.route("POST", f"{api}/posts", self._authed(self._create_post))
        self.route("GET", f"{api}/posts", self._list_posts)
        self.route("GET", f"{api}/tags", self._authed(lambda r: self._find_terms(r, "tags"),
                                                      optional=True))
        self.route("POST", f"{api}/tags", self._authed(lambda r: self._create_term(r, "tags")))
        self.route("GET", f"{api}/categories",
                   self._authed(lambda r: self._find_terms(r, "categories"), optional=True))
        self.route("POST", f"{api}/categories",
                   self._authed(lambda r: self._create_term(r, "categories")))
        self.route("POST", f"{api}/media", self._authed(self._upload))
        self.route("POST", f"{api}/media/{{id}}", self._authed(self._update_media))
        self.route("DELETE", f"{api}/media/{{id}}", self._authed(self._delete_media))
        self.route("GET", f"{api}/users/me",
                   self._authed(self._me, anonymous=("rest_not_logged_in",
                                                     "You are not currently logged in.")))
        self.route("GET", "/wp-content/uploads/{year}/{month}/{name}", self._file)
        self.route("GET", "/feed/", self._feed)
        self.route("GET", "/{slug}/", self._page)

    # --- test helpers -------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
        self.posts.clear()
        self.media.clear()
        self.terms = {"tags": {}, "categories": {1: "Berita"}}
        self.strips_authorization = False
        self.can_publish = True
        self.unfiltered_html = False
        self.max_body = 64 * 1024 * 1024

    def add_post(self, slug: str, *, created: float, title: str = "Rilis lama") -> WPPost:
        """A post already on the site (e.g. an older release with the same title)."""
        post = WPPost(id=next(self._ids), slug=slug, title=title, content="<p>lama</p>",
                      status="publish", tags=[], categories=[], featured_media=0, excerpt="",
                      created=created)
        self.posts.append(post)
        return post

    def add_term(self, taxonomy: str, name: str) -> int:
        term_id = next(self._ids)
        self.terms[taxonomy][term_id] = name
        return term_id

    def post_link(self, post: WPPost) -> str:
        return f"{self.url}/{post.slug}/"


    # --- authentication -----------------------------------------------------------------
    def _user(self, request: FakeRequest) -> str | Response | None:
        header = request.header("Authorization")
        if not header or self.strips_authorization:
            return None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return wp_error("rest_not_logged_in", "You are not currently logged in.", 401)
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        if user != self.username:
            return wp_error("invalid_username", "Unknown username. Check again or try your "
                                                "email address.", 401)
        if password.replace(" ", "") != self.app_password:
            return wp_error("incorrect_password", "The provided password is an invalid "
                                                  "application password.", 401)
        return user

    def _authed(self, handler, *, optional: bool = False,
                anonymous: tuple[str, str] = NOT_ALLOWED_TO_CREATE):
        """Credentials that fail are refused with their own error before any route runs
        (``rest_application_password_check_errors``); a request without credentials is
        anonymous and refused by the route's permission check (``anonymous``)."""
        def checked(request: FakeRequest) -> Response:
            user = self._user(request)
            if isinstance(user, tuple):
                return user
            if user is None and not optional:
                return wp_error(*anonymous, 401)
            return handler(request)
        return checked

    # --- posts --------------------------------------------------------------------------
    def _create_post(self, request: FakeRequest) -> Response:
        if not self.can_publish:
            return wp_error("rest_cannot_create", "Sorry, you are not allowed to create "
                                                  "posts as this user.", 403)
        if "json" not in (request.header("Content-Type") or ""):
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        body = request.json()
        if not isinstance(body, dict):
            return wp_error("rest_invalid_json", "Invalid JSON body passed.", 400)
        status = body.get("status", "draft")
        if status not in STATUSES:
            return invalid_param("status", f"status is not one of {', '.join(STATUSES)}.")
        for taxonomy in ("tags", "categories"):
            values = body.get(taxonomy, [])
            if not isinstance(values, list):
                return invalid_param(taxonomy, f"{taxonomy} is not of type array.")
            for i, value in enumerate(values):
                if not isinstance(value, int):
                    return invalid_param(taxonomy, f"{taxonomy}[{i}] is not of type integer.")
                if value not in self.terms[taxonomy]:
                    return invalid_param(taxonomy, f"Invalid term ID {value}.")
        featured = body.get("featured_media", 0)
        if not isinstance(featured, int) or (featured and featured not in self.media):
            return invalid_param("featured_media", "Invalid featured media ID.")
        for name in ("title", "content", "excerpt", "slug"):
            if name in body and not isinstance(body[name], str):
                return invalid_param(name, f"{name} is not of type string.")
        if not (body.get("title") or body.get("content")):
            return wp_error("empty_content", "Content, title, and excerpt are empty.", 400)
        title, excerpt = body.get("title", ""), body.get("excerpt", "")
        if not self.unfiltered_html:  # title_save_pre / excerpt_save_pre
            title, excerpt = wp.kses(title), wp.kses(excerpt)
        given = body.get("slug") or ("" if status in wp.UNSLUGGED_STATUSES else title)
        slug = wp.unique_slug(wp.sanitize_title(given), status,
                              {p.slug for p in self.posts if p.slug})
        post = WPPost(id=next(self._ids), slug=slug, title=title,
                      content=body.get("content", ""), status=status,
                      tags=body.get("tags", []), categories=body.get("categories", []),
                      featured_media=featured, excerpt=excerpt)
        self.posts.append(post)
        return 201, {"Location": f"{self.url}/wp-json/wp/v2/posts/{post.id}"}, \
            self._post_json(post)

    def _post_json(self, post: WPPost) -> dict[str, Any]:
        return {"id": post.id, "slug": post.slug, "status": post.status, "type": "post",
                "link": self.post_link(post), "title": {"raw": post.title,
                                                        "rendered": wp.the_title(post.title)},
                "content": {"raw": post.content, "rendered": post.content},
                "tags": post.tags, "categories": post.categories,
                "featured_media": post.featured_media,
                "date_gmt": datetime.fromtimestamp(post.created, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S")}

    def _list_posts(self, request: FakeRequest) -> Response:
        user = self._user(request)
        if isinstance(user, tuple):
            return user
        status = request.query.get("status", ["publish"])[0]
        if status != "publish" and user is None:
            return invalid_param("status", "Status is forbidden.")
        # array arguments may be given comma-separated (wp_parse_list)
        slugs = ",".join(request.query.get("slug", [])).split(",") if "slug" in request.query \
            else None
        found = [self._post_json(p) for p in self.posts
                 if (slugs is None or p.slug in slugs)
                 and (status == "any" or p.status == status)]
        return 200, {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"}, found

    # --- terms --------------------------------------------------------------------------
    def _find_terms(self, request: FakeRequest, taxonomy: str) -> Response:
        slug = request.query.get("slug", [None])[0]
        found = [{"id": i, "name": n, "slug": wp.sanitize_title(n)}
                 for i, n in self.terms[taxonomy].items()
                 if slug is None or wp.sanitize_title(n) == slug]
        return 200, {}, found

    def _create_term(self, request: FakeRequest, taxonomy: str) -> Response:
        name = (request.json() or {}).get("name")
        if not isinstance(name, str) or not name.strip():
            return wp_error("rest_missing_callback_param", "Missing parameter(s): name", 400,
                            params=["name"])
        for term_id, existing in self.terms[taxonomy].items():
            if existing.lower() == name.lower():
                return wp_error("term_exists", "A term with the name provided already "
                                               "exists with this parent.", 400,
                                term_id=term_id)
        term_id = self.add_term(taxonomy, name)
        return 201, {}, {"id": term_id, "name": name, "slug": wp.sanitize_title(name),
                         "taxonomy": "post_tag" if taxonomy == "tags" else "category"}

    # --- media --------------------------------------------------------------------------
    def _upload(self, request: FakeRequest) -> Response:
        disposition = request.header("Content-Disposition") or ""
        if "filename=" not in disposition:
            return wp_error("rest_upload_no_content_disposition",
                            "No Content-Disposition supplied.", 400)
        if not request.body:
            return wp_error("rest_upload_no_data", "No data supplied.", 400)
        filename = disposition.split("filename=", 1)[1].strip().strip('"')
        suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if suffix not in UPLOAD_TYPES:
            return wp_error("rest_upload_sideload_error", "Sorry, you are not allowed to "
                                                          "upload this file type.", 500)
        if len(request.body) > self.max_body:  # the web server's limit, before PHP
            return 413, {"Content-Type": "text/html"}, (
                "<html><head><title>413 Request Entity Too Large</title></head></html>")
        if UPLOAD_TYPES[suffix].startswith("video/"):
            if request.body[4:8] != b"ftyp":
                return wp_error("rest_upload_sideload_error", "Sorry, this file type is not "
                                                              "permitted for security reasons.",
                                500)
        else:
            try:
                with Image.open(io.BytesIO(request.body)) as image:
                    image.verify()
            except Exception:
                return wp_error("rest_upload_image_error", "The uploaded file is not a valid "
                                                           "image.", 500)
        taken = {m.filename for m in self.media.values()}
        stem, counter = filename[:len(filename) - len(suffix)], itertools.count(1)
        while filename in taken:  # wp_unique_filename
            filename = f"{stem}-{next(counter)}{suffix}"
        # the body is the file: WordPress reads the other fields from the query
        title = (request.query.get("title") or [""])[-1]
        if not self.unfiltered_html:
            title = wp.kses(title)
        media = WPMedia(id=next(self._ids), filename=filename, data=request.body,
                        mime=UPLOAD_TYPES[suffix], title=title or stem)
        self.media[media.id] = media
        return 201, {}, self._media_json(media)

    def _media_json(self, media: WPMedia) -> dict[str, Any]:
        kind = "image" if media.mime.startswith("image/") else "file"
        return {"id": media.id, "media_type": kind, "mime_type": media.mime,
                "alt_text": media.alt_text,
                "title": {"raw": media.title, "rendered": wp.the_title(media.title)},
                "source_url": f"{self.url}/wp-content/uploads/2026/11/{media.filename}"}

    def _update_media(self, request: FakeRequest) -> Response:
        media = self.media.get(int(request.params["id"]))
        if media is None:
            return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
        body = request.json() or {}
        if "alt_text" in body:
            if not isinstance(body["alt_text"], str):
                return invalid_param("alt_text", "alt_text is not of type string.")
            media.alt_text = wp.sanitize_text_field(body["alt_text"])
        return 200, {}, self._media_json(media)

    def _delete_media(self, request: FakeRequest) -> Response:
        media = self.media.get(int(request.params["id"]))
        if media is None:
            return wp_error("rest_post_invalid_id", "Invalid post ID.", 404)
        if (request.query.get("force") or [""])[-1] not in ("true", "1"):
            return wp_error("rest_trash_not_supported", "Attachments do not support trashing."
                            " Set 'force' to true to delete.", 501)
        del self.media[media.id]
        return 200, {}, {"deleted": True, "previous": self._media_json(media)}

    def _file(self, request: FakeRequest) -> Response:
        for media in self.media.values():
            if media.filename == request.params["name"]:
                return 200, {"Content-Type": media.mime}, media.data
        return 404, {}, "Not Found"

    # --- what visitors see ----------------------------------------------------------------
    def _page(self, request: FakeRequest) -> Response:
        """A published post's page as a theme prints it (title unescaped in ``<h1>``)."""
        post = next((p for p in self.posts
                     if p.slug == request.params["slug"] and p.status == "publish"), None)
        if post is None:
            return 404, {"Content-Type": "text/html; charset=UTF-8"}, "<h1>Not Found</h1>"
        image = ""
        media = self.media.get(post.featured_media)
        if media is not None:
            alt = wp.esc_html(wp.strip_tags(media.alt_text).strip())
            image = (f'<img class="wp-post-image" src="{self._media_json(media)["source_url"]}"'
                     f' alt="{alt}">')
        page = (f'<!DOCTYPE html>\n<html lang="id-ID"><head><meta charset="UTF-8">'
                f"<title>{wp.document_title(post.title)} &#8211; {SITE_NAME}</title></head>"
                f'<body class="single"><article><h1 class="entry-title">'
                f"{wp.the_title(post.title)}</h1>{image}"
                f'<div class="entry-content">{post.content}</div></article></body></html>')
        return 200, {"Content-Type": "text/html; charset=UTF-8"}, page

    def _feed(self, request: FakeRequest) -> Response:
        items = "".join(f"<item><title>{wp.rss_title(p.title)}</title>"
                        f"<link>{self.post_link(p)}</link></item>"
                        for p in reversed(self.posts) if p.status == "publish")
        feed = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>{SITE_NAME}</title><link>{self.url}</link>{items}</channel></rss>")
        return 200, {"Content-Type": "application/rss+xml; charset=UTF-8"}, feed

    def _me(self, request: FakeRequest) -> Response:
        return 200, {}, {"id": 2, "name": "Humas Lapas", "username": self.username,
                         "capabilities": {"publish_posts": self.can_publish,
                                          "upload_files": True}}

