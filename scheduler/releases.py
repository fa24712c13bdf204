"""Reading a press release: Markdown with front matter, plain text, Word .docx, or stdin.

Everything wrong with a release is found here, before anything touches the database,
and reported with the file, the field and what is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scheduler.errors import ReleaseError, SiarError
from scheduler.timeparse import DEFAULT_ZONE, TimeParseError, parse_when

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HASHTAG = re.compile(r"^[^\W]\w*$", re.UNICODE)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}


@dataclass(frozen=True)
class ImageRef:
    """An image named by a release, resolved against the release file's folder."""

    path: Path
    alt: str = ""


@dataclass
class ReleaseDoc:
    """A parsed, validated release: what the composer works from."""

    source: str
    title: str
    body: str
    at: datetime | None = None
    zone: str = DEFAULT_ZONE
    channels: list[str] | None = None
    hashtags: list[str] = field(default_factory=list)
    link: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    summary: str | None = None
    language: str = "id"
    repeat: str | None = None


class _ImageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    alt: str = ""


class FrontMatter(BaseModel):
    """The keys a release's front matter may have. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, description="headline")
    at: str | datetime | None = Field(default=None, description="when to publish")
    channels: list[str] | None = Field(default=None, description="account or network names")
    hashtags: list[str] = Field(default_factory=list, description="tags without '#'")
    link: str | None = Field(default=None, description="the full release on the web")
    images: list[_ImageSpec | str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list, description="organisation keys")
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
                raise ValueError(
                    f"{tag!r} is not a usable hashtag: letters, digits and '_' only, "
                    "not all digits"
                )
            cleaned.append(bare)
        return cleaned

    @field_validator("link")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+\.[^\s]+$", value.strip()):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.strip() if value else value


def load(path: str | Path, *, stdin_text: str | None = None,
         default_zone: str = DEFAULT_ZONE, now: datetime | None = None) -> ReleaseDoc:
    """Read and validate a release file (``-`` or ``stdin_text`` for standard input)."""
    if stdin_text is not None or str(path) == "-":
        return parse_text(stdin_text or "", source="<stdin>", base_dir=Path.cwd(),
                          default_zone=default_zone, now=now)
    file = Path(path)
    source = str(path)
    if not file.exists():
        raise ReleaseError(source, None, "file not found",
                           hint="give the path of a .md, .txt or .docx release")
    if file.suffix.lower() == ".docx":
        return _load_docx(file, default_zone=default_zone, now=now)
    if file.suffix.lower() not in {".md", ".markdown", ".txt", ""}:
        raise ReleaseError(source, None, f"unsupported file type {file.suffix!r}",
                           hint="use Markdown (.md), plain text (.txt) or Word (.docx)")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReleaseError(source, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                           hint="save the file as UTF-8") from exc
    return parse_text(text, source=source, base_dir=file.parent.resolve(),
                      default_zone=default_zone, now=now)


def parse_text(text: str, *, source: str, base_dir: Path, default_zone: str = DEFAULT_ZONE,
               now: datetime | None = None) -> ReleaseDoc:
    """Parse Markdown-with-front-matter, or plain text whose first line is the title."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _read_yaml(match.group(1), source)
        body = text[match.end():]
    elif text.startswith("---\n"):
        raise ReleaseError(source, "front matter", "the front matter is not closed",
                           hint="end it with a line containing only '---'")
    else:
        body = text
    return _build(meta, body, source=source, base_dir=base_dir, default_zone=default_zone,
                  now=now)


def _read_yaml(raw: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 2}" if mark else "front matter"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ReleaseError(source, f"front matter ({where})", f"invalid YAML: {problem}",
                           hint="check indentation, colons and quotes") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ReleaseError(source, "front matter", "must be a mapping of keys to values",
                           hint="write 'key: value' lines, e.g. 'title: ...'")
    return data


def _build(meta: dict[str, Any], body: str, *, source: str, base_dir: Path,
           default_zone: str, now: datetime | None) -> ReleaseDoc:
    try:
        front = FrontMatter.model_validate(meta)
    except ValidationError as exc:
        error = exc.errors()[0]
        field_name = ".".join(str(p) for p in error["loc"]) or "front matter"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(FrontMatter.model_fields)
            raise ReleaseError(source, field_name, "unknown key",
                               hint=f"allowed keys: {allowed}") from exc
        raise ReleaseError(source, field_name, error["msg"].removeprefix("Value error, "),
                           hint=_field_hint(field_name)) from exc

    body = body.strip("\n")
    title = (front.title or "").strip()
    if not title:
        lines = body.lstrip().split("\n", 1)
        first = lines[0].strip()
        if first.startswith("#") and not first.startswith("#" * 7):
            first = first.lstrip("#").strip()
        title = first
        body = lines[1].strip("\n") if len(lines) > 1 else ""
    if not title:
        raise ReleaseError(source, "title", "the release has no title",
                           hint="add 'title:' to the front matter or make the first line the title")
    if not body.strip():
        raise ReleaseError(source, "body", "the release has no text",
                           hint="write the release text below the front matter / title line")

    at = None
    zone = default_zone
    if front.at is not None:
        try:
            at, zone = parse_when(front.at, default_zone=default_zone, now=now)
        except TimeParseError as exc:
            raise ReleaseError(source, "at", str(exc)) from exc

    if front.repeat is not None:
        from scheduler.slots import cron_trigger  # imported only for recurring releases

        try:
            cron_trigger(front.repeat, zone)
        except SiarError as exc:
            raise ReleaseError(source, "repeat", exc.message, hint=exc.hint) from exc

    images = []
    for index, spec in enumerate(front.images):
        spec = _ImageSpec(path=spec) if isinstance(spec, str) else spec
        path = (base_dir / spec.path).resolve()
        field_name = f"images[{index}].path"
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise ReleaseError(source, field_name, f"{spec.path!r} is not an image",
                               hint=f"use one of {', '.join(sorted(IMAGE_SUFFIXES))}")
        if not path.is_file():
            raise ReleaseError(source, field_name, f"image file {spec.path!r} not found",
                               hint=f"paths are relative to {base_dir}")
        images.append(ImageRef(path=path, alt=spec.alt.strip()))

    return ReleaseDoc(
        source=source, title=title, body=body, at=at, zone=zone, channels=front.channels,
        hashtags=front.hashtags, link=front.link, images=images, mentions=front.mentions,
        summary=front.summary, language=front.language, repeat=front.repeat,
    )


def _field_hint(field_name: str) -> str | None:
    return {
        "hashtags": "write a list such as [HumasBergerakBersama, Pemasyarakatan]",
        "channels": "write a list of account or network names, e.g. [x, mastodon]",
        "link": "write the full address starting with https://",
        "at": "e.g. 2024-09-24 10:00 WIB",
    }.get(field_name.split(".")[0])


def _load_docx(file: Path, *, default_zone: str, now: datetime | None) -> ReleaseDoc:
    """A Word release: the first non-empty paragraph is the title, headings become '##'."""
    try:
        import docx  # python-docx; imported here to keep the CLI's start-up light
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ReleaseError(str(file), None, "python-docx is not installed") from exc
    try:
        document = docx.Document(str(file))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise ReleaseError(str(file), None, f"cannot read the Word file: {exc}",
                           hint="save it again as .docx (not .doc)") from exc
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        if lines and style.startswith("heading"):
            text = f"## {text}"
        elif style.startswith("list"):
            text = f"- {text}"
        lines.append(text)
    return parse_text("\n\n".join(lines), source=str(file), base_dir=file.parent.resolve(),
                      default_zone=default_zone, now=now)
