"""A fake Bluesky PDS (AT Protocol XRPC).

Follows the lexicons in bluesky-social/atproto ``lexicons/``:
``com/atproto/server/{createSession,refreshSession,getSession}.json``,
``com/atproto/repo/{uploadBlob,createRecord,getRecord}.json``, and validates posts
against ``app/bsky/feed/post.json`` (text ≤ 300 graphemes and ≤ 3000 bytes, ``createdAt``
datetime, ``langs`` ≤ 3), ``app/bsky/richtext/facet.json`` (``byteStart``/``byteEnd`` are
UTF-8 byte offsets into the text: in bounds, ordered, on character boundaries),
``app/bsky/embed/images.json`` (≤ 4, ``alt`` required, blobs that were uploaded) and
``app/bsky/embed/external.json`` (and ``embed/video.json``, with the video service of
``tests/fakes/bluesky_video.py``). Errors are ``{"error", "message"}``: ``ExpiredToken``
(400) for an expired access token, ``AuthenticationRequired`` (401) for bad credentials,
``RecordNotFound`` (400) from getRecord, ``RateLimitExceeded`` (429 with the
``RateLimit-*`` headers). Reusing an existing rkey answers 500, as the reference PDS does
today (atproto PR #4728).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import regex

from tests.fakes.bluesky_video import VideoService
from tests.fakes.server import FakeRequest, FakeServer, Fault, Response

TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
FACET_FEATURES = {
    "app.bsky.richtext.facet#link": "uri",
    "app.bsky.richtext.facet#mention": "did",
    "app.bsky.richtext.facet#tag": "tag",
}


def fake_cid(data: bytes) -> str:
    digest = base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")
    return f"bafyrei{digest[:52]}"


GRAPHEME = regex.compile(r"\X")


def grapheme_length(text: str) -> int:
    return len(GRAPHEME.findall(text))


@dataclass
class Blob:
    cid: str
    mime: str
    size: int


@dataclass
class Record:
    uri: str
    cid: str
    rkey: str
    value: dict[str, Any]


class FakeBluesky(FakeServer):
    """A PDS hosting one account (``handle``/``did``) that logs in with ``app_password``."""

    def __init__(self, handle: str = "humaslapas.bsky.social",
                 app_password: str = "abcd-efgh-ijkl-mnop",
                 blob_limit: int = 1_000_000) -> None:
        super().__init__()
        self.handle = handle
        self.did = "did:plc:humaslapas7k2mfx4qzt"
        self.app_password = app_password
        self.blob_limit = blob_limit
        self.records: dict[str, Record] = {}
        self.blobs: dict[str, Blob] = {}
        self.access_tokens: set[str] = set()
        self.expired_access: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.sessions_created = 0
        self._tokens = itertools.count(1)
        for nsid, handler in {
            "com.atproto.server.createSession": self._create_session,
            "com.atproto.server.refreshSession": self._refresh_session,
            "com.atproto.repo.uploadBlob": self._upload_blob,
            "com.atproto.repo.createRecord": self._create_record,
        }.items():
            self.route("POST", f"/xrpc/{nsid}", handler)
        self.route("GET", "/xrpc/com.atproto.server.getSession", self._get_session)
        self.route("GET", "/xrpc/com.atproto.repo.getRecord", self._get_record)
        self.video = VideoService(self)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.records.clear()
            self.blobs.clear()
            self.access_tokens.clear()
            self.expired_access.clear()
            self.refresh_tokens.clear()
            self.sessions_created = 0
            self.video.reset()

    # --- test controls ------------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers ExpiredToken from now on."""
        with self.lock:
            self.expired_access |= self.access_tokens

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def rate_limit(self, reset_in: int, path: str | None = None) -> int:
        """The next request gets 429 with ``RateLimit-*`` headers; returns the reset epoch."""
        reset = int(time.time()) + reset_in
        self.fail_next(Fault(status=429, path=path, body={
            "error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers={
            "RateLimit-Limit": "5000", "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(reset), "RateLimit-Policy": "5000;w=3600"}))
        return reset

    def posts(self) -> list[Record]:
        return sorted(self.records.values(), key=lambda r: r.rkey)

    # --- auth ---------------------------------------------------------------------------
    def _issue(self) -> dict[str, Any]:
        number = next(self._tokens)
        access, refresh = f"eyJ.access.{number}", f"eyJ.refresh.{number}"
        with self.lock:
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
        return {"did": self.did, "handle": self.handle, "accessJwt": access,
                "refreshJwt": refresh, "active": True}

    def _bearer(self, request: FakeRequest) -> str | None:
        header = request.header("Authorization") or ""
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else None

    def _authorize(self, request: FakeRequest) -> Response | None:
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        if token in self.expired_access:
            return self._error(400, "ExpiredToken", "Token has expired")
        if token not in self.access_tokens:
            return self._error(401, "InvalidToken", "Token could not be verified")
        return None

    def _create_session(self, request: FakeRequest) -> Response:
        body = self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("identifier"), str) \
                or not isinstance(body.get("password"), str):
            return self._error(400, "InvalidRequest", "Input must have the property "
                                                      "\"identifier\" and \"password\"")
        if body["identifier"] not in (self.handle, self.did) \
                or body["password"] != self.app_password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions_created += 1
        return 200, {}, self._issue()

    def _refresh_session(self, request: FakeRequest) -> Response:
        token = self._bearer(request)
        if token not in self.refresh_tokens:
            return self._error(400, "ExpiredToken", "Token has been revoked")
        with self.lock:
            self.refresh_tokens.discard(token)
        return 200, {}, self._issue()

    def _get_session(self, request: FakeRequest) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        return 200, {}, {"did": self.did, "handle": self.handle, "active": True,
                         "email": "humas@lapas.example", "emailConfirmed": True}

    # --- repo ---------------------------------------------------------------------------
    def _upload_blob(self, request: FakeRequest) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        mime = request.header("Content-Type") or ""
        if not mime or mime.startswith(("application/json", "multipart/")):
            return self._error(400, "InvalidRequest", "uploadBlob takes the raw bytes with "
                                                      "their own Content-Type")
        if len(request.body) > self.blob_limit:
            return self._error(400, "BlobTooLarge",
                               f"This file is too large. It is {len(request.body)} bytes but "
                               f"the maximum size is {self.blob_limit} bytes.")
        blob = Blob(cid=fake_cid(request.body), mime=mime, size=len(request.body))
        with self.lock:
            self.blobs[blob.cid] = blob
        return 200, {}, {"blob": {"$type": "blob", "ref": {"$link": blob.cid},
                                  "mimeType": blob.mime, "size": blob.size}}

    def _create_record(self, request: FakeRequest) -> Response:
        if (denied := self._authorize(request)) is not None:
            return denied
        body = self._json(request)
        if not isinstance(body, dict):
            return self._error(400, "InvalidRequest", "Input must be an object")
        if body.get("repo") not in (self.did, self.handle):
            return self._error(400, "InvalidRequest", "Input/repo must be the session's repo")
        if body.get("collection") != "app.bsky.feed.post":
            return self._error(400, "InvalidRequest", "This fake only stores posts")
        rkey = body.get("rkey") or self._next_tid()
        if not TID_PATTERN.match(str(rkey)):
            return self._error(400, "InvalidRequest", "Input/rkey must be a valid TID")
        if rkey in self.records:
            return self._error(500, "InternalServerError", "Internal Server Error")
        problem = self._validate_post(body.get("record"))
        if problem:
            return self._error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: "
                                                      f"{problem}")
        uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
        record = Record(uri=uri, cid=fake_cid(repr(body["record"]).encode()), rkey=rkey,
                        value=body["record"])
        with self.lock:
            self.records[rkey] = record
        return 200, {}, {"uri": record.uri, "cid": record.cid,
                         "commit": {"cid": fake_cid(uri.encode()), "rev": rkey},
                         "validationStatus": "valid"}

    def _get_record(self, request: FakeRequest) -> Response:
        query = {k: v[-1] for k, v in request.query.items()}
        if not {"repo", "collection", "rkey"} <= query.keys():
            return self._error(400, "InvalidRequest", "Params must have repo, collection, rkey")
        record = self.records.get(query["rkey"])
        if query["repo"] not in (self.did, self.handle) or record is None:
            return self._error(400, "RecordNotFound",
                               f"Could not locate record: at://{query['repo']}/"
                               f"{query['collection']}/{query['rkey']}")
        return 200, {}, {"uri": record.uri, "cid": record.cid, "value": record.value}

    # --- validation (app.bsky.feed.post and the embeds it references) ----------------------
    def _validate_post(self, record: Any) -> str | None:
        if not isinstance(record, dict) or record.get("$type") != "app.bsky.feed.post":
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text")
        if not isinstance(text, str):
            return "Record/text must be a string"
        if grapheme_length(text) > 300:
            return "Record/text must not be longer than 300 graphemes"
        if len(text.encode()) > 3000:
            return "Record/text must not be longer than 3000 characters"
        try:
            datetime.fromisoformat(str(record.get("createdAt")).replace("Z", "+00:00"))
        except ValueError:
            return "Record/createdAt must be an valid atproto datetime"
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            return "Record/langs must not have more than 3 elements"
        return (self._validate_facets(text, record.get("facets", []))
                or self._validate_embed(record.get("embed"))
                or self._validate_reply(record.get("reply")))

    @staticmethod
    def _validate_facets(text: str, facets: Any) -> str | None:
        data = text.encode()
        if not isinstance(facets, list):
            return "Record/facets must be an array"
        for n, facet in enumerate(facets):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict):
                return f"Record/facets/{n}/index must be an object"
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not isinstance(start, int) or not isinstance(end, int) or start < 0 \
                    or end < start or end > len(data):
                return f"Record/facets/{n}/index is out of the text's {len(data)} bytes"
            try:
                data[start:end].decode()
            except UnicodeDecodeError:
                return f"Record/facets/{n}/index splits a UTF-8 character"
            features = facet.get("features")
            if not isinstance(features, list) or not features:
                return f"Record/facets/{n}/features must not be empty"
            for feature in features:
                kind = feature.get("$type") if isinstance(feature, dict) else None
                field = FACET_FEATURES.get(str(kind))
                if field is None or not isinstance(feature.get(field), str):
                    return f"Record/facets/{n}/features has an invalid feature"
        return None

    def _validate_embed(self, embed: Any) -> str | None:
        if embed is None:
            return None
        if not isinstance(embed, dict):
            return "Record/embed must be an object"
        if embed.get("$type") == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= 4:
                return "Record/embed/images must have 1 to 4 elements"
            for n, image in enumerate(images):
                if not isinstance(image.get("alt"), str):
                    return f"Record/embed/images/{n} must have the property \"alt\""
                if (problem := self._validate_blob(image.get("image"))) is not None:
                    return f"Record/embed/images/{n}/image {problem}"
            return None
        if embed.get("$type") == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict) or not all(
                    isinstance(external.get(k), str) for k in ("uri", "title", "description")):
                return "Record/embed/external must have uri, title and description"
            if "thumb" in external:
                return self._validate_blob(external["thumb"])
            return None
        if embed.get("$type") == "app.bsky.embed.video":
            return self._validate_video(embed)
        return "Record/embed has an unsupported $type"

    def _validate_video(self, embed: dict[str, Any]) -> str | None:
        """``app.bsky.embed.video``: a video/mp4 blob on this PDS, an optional
        ``aspectRatio`` of positive integers and ``alt`` of at most 10,000 bytes."""
        blob = embed.get("video")
        ref = blob.get("ref", {}).get("$link") if isinstance(blob, dict) else None
        if ref not in self.blobs or self.blobs[ref].mime != "video/mp4":
            return "Record/embed/video must be a video/mp4 blob on this PDS"
        ratio = embed.get("aspectRatio")
        if ratio is not None and not (isinstance(ratio, dict) and all(
                isinstance(ratio.get(k), int) and ratio[k] > 0 for k in ("width", "height"))):
            return "Record/embed/aspectRatio must have positive width and height"
        if len(str(embed.get("alt", "")).encode()) > 10_000:
            return "Record/embed/alt is too long"
        return None

    def _validate_blob(self, blob: Any) -> str | None:
        ref = blob.get("ref", {}).get("$link") if isinstance(blob, dict) else None
        if blob is None or blob.get("$type") != "blob" or ref not in self.blobs:
            return "must be a blob uploaded to this PDS"
        if not str(self.blobs[ref].mime).startswith("image/"):
            return "must be an image"
        return None

    def _validate_reply(self, reply: Any) -> str | None:
        if reply is None:
            return None
        for part in ("root", "parent"):
            ref = reply.get(part) if isinstance(reply, dict) else None
            if not isinstance(ref, dict):
                return f"Record/reply/{part} must be a strong ref"
            rkey = str(ref.get("uri", "")).rsplit("/", 1)[-1]
            stored = self.records.get(rkey)
            if stored is None or stored.uri != ref.get("uri") or stored.cid != ref.get("cid"):
                return f"Record/reply/{part} does not reference an existing post"
        return None

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def _next_tid() -> str:
        """A TID for now (atproto "Record Key" spec: 13 base32-sortable characters)."""
        value = (time.time_ns() // 1000) << 10
        alphabet = "234567abcdefghijklmnopqrstuvwxyz"
        return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    @staticmethod
    def _json(request: FakeRequest) -> Any:
        if (request.header("Content-Type") or "").split(";")[0] != "application/json":
            return None
        try:
            return request.json()
        except ValueError:
            return None

    @staticmethod
    def _error(status: int, error: str, message: str) -> Response:
        return status, {}, {"error": error, "message": message}
