"""The keys a release's front matter may have, checked.

:func:`front_matter` reads the usual front matter (text values, lists of texts, photos as
paths or mappings of texts, no videos: what nearly every release has) with plain checks, and
everything else through the pydantic model :class:`FrontMatter`, whose messages name the
field and what is allowed. Both give the same values; a value the plain checks do not take
for certain goes to the model, which accepts it the same way or says what is wrong. The
model is built on first use: a content calendar of 10,000 releases spent a fifth of reading
each file in pydantic, and building the models was part of every ``siar preview``'s start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from scheduler.i18n import _

_HASHTAG = re.compile(r"^[^\W]\w*$", re.UNICODE)
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

#: every key, in the order the model declares them (the "allowed keys" of an error)
KEYS = ("title", "at", "channels", "hashtags", "link", "images", "videos", "mentions",
        "summary", "language", "repeat")
_TEXTS = frozenset(("title", "at", "summary", "repeat"))  # text or nothing
_LISTS = frozenset(("channels", "mentions"))  # lists of texts


def is_account_link(link: str) -> bool:
    """``link: website`` or ``link: ACCOUNT``: the link is another post's address (website
    first), not an address written in the file."""
    return _ACCOUNT.fullmatch(link.strip()) is not None


@dataclass
class Photo:
    """One entry of ``images:`` written as a mapping, as :func:`image_spec`'s model reads it
    (the same attributes)."""

    path: str
    alt: str = ""
    #: center, top, bottom-left … or "x,y": crop around it instead of padding
    focus: str | None = None
    #: white, black, blur or #rrggbb: what padding shows
    background: str | None = None


#: the keys of an ``images:`` mapping, and whether each may be left empty (``None``)
_PHOTO_KEYS = {"path": False, "alt": False, "focus": True, "background": True}


@dataclass
class Front:
    """The front matter's values, as :class:`FrontMatter` validates them (the same
    attributes; photos are paths or :class:`Photo`, videos the model's ``VideoSpec`` or
    paths)."""

    title: str | None = None
    at: str | datetime | None = None
    channels: list[str] | None = None
    hashtags: list[str] = field(default_factory=list)
    link: str | None = None
    images: list[Any] = field(default_factory=list)
    videos: list[Any] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    summary: str | None = None
    language: str = "id"
    repeat: str | None = None


def front_matter(meta: dict[str, Any]) -> Any:
    """The validated front matter (a :class:`Front`, or the model's instance, which has
    the same attributes); pydantic's ``ValidationError`` when a value is wrong."""
    front = _plain(meta)
    return front if front is not None else model().model_validate(meta)


def _plain(meta: dict[str, Any]) -> Front | None:
    """``meta`` validated without the model, or None where the model must look: an
    unknown key, a value of another type, photos or videos, anything it would refuse."""
    front = Front()
    for key, value in meta.items():
        if key in _TEXTS:
            if value is not None and type(value) is not str:
                return None
        elif key in _LISTS:
            if key == "channels" and type(value) is str:
                value = [value]
            elif not _texts(value) and not (key == "channels" and value is None):
                return None
            else:
                value = list(value) if value is not None else None
        elif key == "hashtags":
            value = _tags(value)
            if value is None:
                return None
        elif key == "link":
            if value is not None and (type(value) is not str or not _link_ok(value)):
                return None
            value = value.strip() if value else value
        elif key == "language":
            if type(value) is not str:
                return None
        elif key == "images":
            value = _photos(value)
            if value is None:
                return None
        elif key == "videos":
            if value != [] or type(value) is not list:
                return None
            value = []
        else:  # not a key of a release (or not text): the model names the allowed ones
            return None
        setattr(front, key, value)
    return front


def _photos(value: Any) -> list[str | Photo] | None:
    """``images:`` as the model reads it (each a path, or a mapping of text values); None
    for anything else (the model then says what is wrong, or takes it its own way)."""
    if type(value) is not list:
        return None
    photos: list[str | Photo] = []
    for item in value:
        if type(item) is str:
            photos.append(item)
        elif (type(item) is dict and "path" in item
              and all(key in _PHOTO_KEYS and (type(entry) is str
                                              or (entry is None and _PHOTO_KEYS[key]))
                      for key, entry in item.items())):
            photos.append(Photo(**item))
        else:
            return None
    return photos


def _texts(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _tags(value: Any) -> list[str] | None:
    """The ``hashtags`` as :meth:`FrontMatter._tags` and ``_valid_tags`` make them; None
    for a value the model would refuse (it then says why)."""
    if type(value) is str:
        value = value.replace(",", " ").split()
    elif not _texts(value):
        return None
    cleaned = []
    for tag in value:
        bare = tag.strip().lstrip("#")
        if not bare or not _HASHTAG.match(bare) or bare.replace("_", "").isdigit():
            return None
        cleaned.append(bare)
    return cleaned


def _link_ok(value: str) -> bool:
    return is_account_link(value) or _URL.match(value.strip()) is not None


@cache
def model() -> Any:
    """The pydantic model of a release's front matter (built on first use)."""
    from pydantic import BaseModel, ConfigDict, Field, field_validator

    from scheduler.factories import no_items
    from scheduler.release_videos import video_spec

    ImageSpec, VideoSpec = image_spec(), video_spec()  # the annotations name them

    class FrontMatter(BaseModel):
        """The keys a release's front matter may have. Unknown keys are errors."""

        model_config = ConfigDict(extra="forbid")

        title: str | None = Field(default=None, description="headline")
        at: str | datetime | None = Field(default=None, description="when to publish")
        channels: list[str] | None = Field(default=None, description="account or network names")
        hashtags: list[str] = Field(default_factory=no_items, description="tags without '#'")
        link: str | None = Field(default=None, description="the full release on the web")
        images: list[ImageSpec | str] = Field(default_factory=no_items)  # type: ignore[valid-type]
        videos: list[VideoSpec | str] = Field(default_factory=no_items)  # type: ignore[valid-type]
        mentions: list[str] = Field(default_factory=no_items, description="organisation keys")
        summary: str | None = Field(default=None, description="a short lead for tight networks")
        language: str = Field(default="id", description="BCP 47 language code")
        repeat: str | None = Field(default=None, description="cron expression for recurrence")

        @field_validator("channels", mode="before")
        @classmethod
        def _one_or_many(cls, value: Any) -> Any:
            return [value] if isinstance(value, str) else value

        @field_validator("hashtags", mode="before")
        @classmethod
        def _tags(cls, value: Any) -> Any:
            if isinstance(value, str):
                value = value.replace(",", " ").split()
            return value

        @field_validator("hashtags")
        @classmethod
        def _valid_tags(cls, value: list[str]) -> list[str]:
            cleaned = []
            for tag in value:
                bare = str(tag).strip().lstrip("#")
                if not bare or not _HASHTAG.match(bare) or bare.replace("_", "").isdigit():
                    raise ValueError(_(
                        "{tag} is not a usable hashtag: letters, digits and '_' only, "
                        "not all digits").format(tag=repr(tag)))
                cleaned.append(bare)
            return cleaned

        @field_validator("link")
        @classmethod
        def _url(cls, value: str | None) -> str | None:
            if value is None or is_account_link(value):
                return value.strip() if value else value
            if not _URL.match(value.strip()):
                raise ValueError(_("{value} is neither an http(s) URL nor 'website' or the "
                                   "name of an account").format(value=repr(value)))
            return value.strip()

    return FrontMatter


@cache
def image_spec() -> Any:
    """The pydantic model of one entry of ``images:`` written as a mapping."""
    from pydantic import BaseModel, ConfigDict

    class _ImageSpec(BaseModel):
        model_config = ConfigDict(extra="forbid")
        path: str
        alt: str = ""
        #: center, top, bottom-left … or "x,y": crop around it instead of padding
        focus: str | None = None
        #: white, black, blur or #rrggbb: what padding shows
        background: str | None = None

    return _ImageSpec
