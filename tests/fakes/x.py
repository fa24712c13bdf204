"""A fake X API v2 for one user authenticated with OAuth 1.0a.

Follows X's published OpenAPI document for API v2: ``POST /2/tweets`` (``CreatePostsRequest``,
``additionalProperties: false``; 201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}``),
``POST /2/media/upload`` (``MediaUploadRequest``: multipart ``media`` + ``media_category``),
``POST /2/media/metadata`` (``CreateMediaMetadataRequest``), ``GET /2/users/me`` and
``GET /2/users/{id}/tweets`` (``max_results`` 5–100, ``start_time``). Every request must
carry an OAuth 1.0a ``Authorization`` header whose HMAC-SHA1 signature verifies (RFC 5849
section 3.4: base string of method, URL and normalised parameters). Errors are the
documented problem documents; a 429 carries ``x-rate-limit-limit/-remaining/-reset``
(epoch seconds). Texts are counted with twitter-text's weighted length (280), and a
repeated text gets 403 "duplicate content" like the real API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from twitter_text import parse_tweet

from tests.fakes.multipart import parse_form_data
from tests.fakes.server import FakeRequest, FakeServer, Fault, Response
from tests.fakes.x_video import ChunkedUploads

CREATE_POST_FIELDS = {"card_uri", "community_id", "direct_message_deep_link", "edit_options",
                      "for_super_followers_only", "geo", "made_with_ai", "media", "nullcast",
                      "paid_partnership", "poll", "quote_tweet_id", "reply", "reply_settings",
                      "share_with_followers", "text"}
MEDIA_CATEGORIES = {"tweet_image", "tweet_video", "tweet_gif", "dm_image", "dm_video", "dm_gif",
                    "subtitles"}
ID_PATTERN = re.compile(r"^[0-9]{1,19}$")
URL_PATTERN = re.compile(r"https?://\S+")
REQUIRED_OAUTH = ("oauth_consumer_key", "oauth_nonce", "oauth_signature",
                  "oauth_signature_method", "oauth_timestamp", "oauth_token")


def percent_encode(value: str) -> str:
    """RFC 5849 section 3.6: unreserved characters stay, everything else is %XX."""
    return quote(value, safe="~-._")


def problem(status: int, title: str, detail: str, kind: str = "about:blank",
            **extra: Any) -> Response:
    return status, {}, {"title": title, "detail": detail, "type": kind, "status": status,
                        **extra}


@dataclass
class Post:
    id: str
    text: str
    created_at: datetime
    media_ids: list[str] = field(default_factory=list)
    in_reply_to: str | None = None


class FakeX(FakeServer):
    """Serves the user ``@username`` for one app key pair and one access token pair."""

    def __init__(self, api_key: str, api_secret: str, access_token: str,
                 access_token_secret: str, username: str = "humaslapas") -> None:
        super().__init__()
        self.api_key, self.api_secret = api_key, api_secret
        self.access_token, self.access_token_secret = access_token, access_token_secret
        self.user_id = "1456789012345678901"
        self.username = username
        self.posts: list[Post] = []
        self.media: dict[str, dict[str, Any]] = {}
        self.nonces: set[str] = set()
        #: False emulates the 2026-02-23 rule: replies only when the author summoned us
        self.replies_allowed = True
        self._ids = itertools.count(1_880_000_000_000_000_001)
        self.route("POST", "/2/tweets", self._create_post)
        self.route("POST", "/2/media/upload", self._upload_media)
        self.route("POST", "/2/media/metadata", self._media_metadata)
        self.videos = ChunkedUploads(self)
        self.route("GET", "/2/users/me", self._users_me)
        self.route("GET", "/2/users/{id}/tweets", self._users_tweets)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.posts.clear()
            self.media.clear()
            self.nonces.clear()
            self.videos.reset()
            self.replies_allowed = True

    # --- test controls ------------------------------------------------------------------
    def rate_limit(self, reset_in: int, path: str | None = None) -> int:
        reset = int(time.time()) + reset_in
        self.fail_next(Fault(status=429, path=path, body={
            "title": "Too Many Requests", "detail": "Too Many Requests",
            "type": "about:blank", "status": 429}, headers={
            "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset)}))
        return reset

    def add_post(self, text: str, created_at: datetime | None = None) -> Post:
        post = Post(id=str(next(self._ids)), text=text,
                    created_at=created_at or datetime.now(UTC))
        with self.lock:
            self.posts.append(post)
        return post

    # --- OAuth 1.0a ---------------------------------------------------------------------
    def _answer(self, request: FakeRequest) -> Response:
        refused = self._verify_oauth(request)
        if refused:
            return problem(401, "Unauthorized", "Unauthorized", oauth_problem=refused)
        return super()._answer(request)

    def _verify_oauth(self, request: FakeRequest) -> str | None:
        """None when the signature verifies, else why not (RFC 5849 sections 3.1–3.4)."""
        header = request.header("Authorization") or ""
        if not header.startswith("OAuth "):
            return "missing OAuth Authorization header"
        oauth = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        if missing := [p for p in REQUIRED_OAUTH if p not in oauth]:
            return f"parameter_absent: {', '.join(missing)}"
        if oauth["oauth_signature_method"] != "HMAC-SHA1":
            return "signature_method_rejected"
        if oauth["oauth_consumer_key"] != self.api_key:
            return "consumer_key_unknown"
        if oauth["oauth_token"] != self.access_token:
            return "token_rejected"
        if abs(time.time() - int(oauth["oauth_timestamp"])) > 300:
            return "timestamp_refused"
        with self.lock:
            if oauth["oauth_nonce"] in self.nonces:
                return "nonce_used"
            self.nonces.add(oauth["oauth_nonce"])
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += [(k, v) for k, values in request.query.items() for v in values]
        if (request.header("Content-Type") or "").startswith(
                "application/x-www-form-urlencoded"):
            params += [(k, v) for k, values in request.form().items() for v in values]
        normalised = "&".join(f"{k}={v}" for k, v in sorted(
            (percent_encode(k), percent_encode(v)) for k, v in params))
        base_url = f"http://{request.header('Host')}{request.path}"
        base = "&".join(percent_encode(p) for p in (request.method, base_url, normalised))
        key = f"{percent_encode(self.api_secret)}&{percent_encode(self.access_token_secret)}"
        expected = base64.b64encode(hmac.new(key.encode(), base.encode(),
                                             hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            return "signature_invalid"
        return None

    # --- endpoints ----------------------------------------------------------------------
    def _create_post(self, request: FakeRequest) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._invalid("Request body must be a JSON object")
        if unknown := set(body) - CREATE_POST_FIELDS:
            return self._invalid(f"Unrecognized fields: {', '.join(sorted(unknown))}")
        text = body.get("text", "")
        media_ids = (body.get("media") or {}).get("media_ids", [])
        if not isinstance(text, str) or (not text and not media_ids):
            return self._invalid("text must be a non-empty string unless media is given")
        if not parse_tweet(text).valid:
            return problem(403, "Forbidden", "Your Tweet text is too long. For more "
                                             "information on how X counts characters, visit "
                                             "https://docs.x.com/resources/fundamentals/"
                                             "counting-characters")
        if not isinstance(media_ids, list) or len(media_ids) > 4 or any(
                str(m) not in self.media for m in media_ids):
            return self._invalid("media.media_ids must list 1 to 4 uploaded media ids")
        if refused := self.videos.refuse_in_post([str(m) for m in media_ids]):
            return self._invalid(refused)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and not any(p.id == reply_to for p in self.posts):
            return self._invalid("The Tweet you are replying to does not exist or is not "
                                 "visible to you.")
        if reply_to is not None and not self.replies_allowed:
            return problem(403, "Forbidden", "Reply to this conversation is not allowed "
                                             "because you have not been mentioned or otherwise "
                                             "engaged by the author of the post replied to.")
        with self.lock:
            if any(p.text == text for p in self.posts):
                return problem(403, "Forbidden", "You are not allowed to create a Tweet with "
                                                 "duplicate content.")
            post = Post(id=str(next(self._ids)), text=text, created_at=datetime.now(UTC),
                        media_ids=[str(m) for m in media_ids], in_reply_to=reply_to)
            self.posts.append(post)
        return 201, {}, {"data": {"id": post.id, "text": post.text,
                                  "edit_history_tweet_ids": [post.id]}}

    def _upload_media(self, request: FakeRequest) -> Response:
        try:
            fields = parse_form_data(request.header("Content-Type") or "", request.body)
        except ValueError:
            return self._invalid("media upload must be multipart/form-data here")
        if unknown := set(fields) - {"media", "media_category", "additional_owners"}:
            return self._invalid(f"Unrecognized fields: {', '.join(sorted(unknown))}")
        if "media" not in fields or "media_category" not in fields:
            return self._invalid("media and media_category are required")
        category = fields["media_category"].text
        if category not in MEDIA_CATEGORIES:
            return self._invalid(f"media_category {category!r} is not one of the allowed "
                                 f"values")
        data = fields["media"].data
        if not data.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"RIFF")):
            return self._invalid("media type unrecognized")
        if len(data) > 5 * 1024 * 1024:
            return self._invalid("File size exceeds 5242880 bytes.")
        media_id = str(next(self._ids))
        with self.lock:
            self.media[media_id] = {"size": len(data), "alt_text": None, "category": category}
        return 200, {}, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                  "size": len(data), "expires_after_secs": 86400,
                                  "image": {"image_type": "image/jpeg", "w": 640, "h": 426}}}

    def _media_metadata(self, request: FakeRequest) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ID_PATTERN.match(str(body.get("id", ""))):
            return self._invalid("id is required and must be a media id")
        if body["id"] not in self.media:
            return problem(404, "Not Found Error", "Could not find media",
                           "https://api.x.com/2/problems/resource-not-found")
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or len(alt) > 1000:
            return self._invalid("metadata.alt_text.text must be a string of at most 1000 "
                                 "characters")
        self.media[body["id"]]["alt_text"] = alt
        return 200, {}, {"data": {"id": body["id"],
                                  "associated_metadata": {"alt_text": {"text": alt}}}}

    def _users_me(self, request: FakeRequest) -> Response:
        return 200, {}, {"data": {"id": self.user_id, "name": "Humas Lapas",
                                  "username": self.username}}

    def _users_tweets(self, request: FakeRequest) -> Response:
        if request.params["id"] != self.user_id:
            return problem(404, "Not Found Error", "Could not find user",
                           "https://api.x.com/2/problems/resource-not-found")
        max_results = int(request.query.get("max_results", ["10"])[0])
        if not 5 <= max_results <= 100:
            return self._invalid("max_results must be between 5 and 100")
        posts = sorted(self.posts, key=lambda p: int(p.id), reverse=True)
        if "start_time" in request.query:
            start = datetime.fromisoformat(request.query["start_time"][0].replace("Z",
                                                                                  "+00:00"))
            posts = [p for p in posts if p.created_at >= start]
        page = posts[:max_results]
        if not page:
            return 200, {}, {"meta": {"result_count": 0}}
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0].id,
                                "oldest_id": page[-1].id}
        if len(posts) > max_results:
            meta["next_token"] = "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
        return 200, {}, {"data": [self._rendered(p) for p in page], "meta": meta}

    # --- helpers ------------------------------------------------------------------------
    def _rendered(self, post: Post) -> dict[str, Any]:
        """A post as v2 returns it: entities escaped, URLs as t.co, media link appended."""
        text = URL_PATTERN.sub(lambda m: f"https://t.co/{abs(hash(m.group(0))) % 10**10}",
                               html.escape(post.text, quote=False))
        if post.media_ids:
            text += f" https://t.co/m{post.id[-8:]}"
        return {"id": post.id, "text": text, "edit_history_tweet_ids": [post.id],
                "created_at": post.created_at.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z")}

    @staticmethod
    def _invalid(message: str) -> Response:
        return problem(400, "Invalid Request", "One or more parameters to your request was "
                       "invalid.", "https://api.x.com/2/problems/invalid-request",
                       errors=[{"message": message}])
