"""Reading a press release: Markdown with front matter, plain text, Word .docx, or stdin.

Everything wrong with a release is found here, before anything touches the database,
and reported with the file, the field and what is allowed. Files are bounded before they
are read (:data:`MAX_RELEASE_BYTES`, front matter :data:`MAX_FRONT_MATTER_BYTES`) and
decoded by :func:`decode`: UTF-8, UTF-16/32 with a byte-order mark, else Windows-1252;
never text full of NUL or control characters.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from channels.stored_media import MAX_IMAGE_BYTES
from scheduler.errors import ReleaseError, SiarError, validation_message
from scheduler.front_matter import read_front_matter
from scheduler.i18n import _
from scheduler.release_keys import KEYS, Photo, front_matter, image_spec, is_account_link
from scheduler.release_videos import IMAGE_SUFFIXES, VideoRef, read_videos, video_spec
from scheduler.timeparse import DEFAULT_ZONE, TimeParseError, parse_when

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_OPENING = re.compile(r"---[ \t]*\n")

#: A release is text: 2 MB is about 300,000 words, far beyond any press release, and keeps
#: composing (YAML, Markdown, fitting every network) within a second or two.
MAX_RELEASE_BYTES = 2 * 1024 * 1024
#: A Word file carries its styles, fonts and often photos: larger, but its text is then held
#: to MAX_RELEASE_BYTES like any other.
MAX_DOCX_BYTES = 20 * 1024 * 1024
#: Front matter is a few keys; 64 KB bounds what the YAML parser is given.
MAX_FRONT_MATTER_BYTES = 64 * 1024

_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
#: the first bytes of the byte-order marks (most files start with none of them)
_BOM_FIRST = frozenset(bom[:1] for bom, _encoding in _BOMS)
#: C0 controls, DEL and C1 controls, except tab, line feed, form feed and carriage return
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ImageRef:
    """An image named by a release, resolved against the release file's folder."""

    path: Path
    alt: str = ""
    #: crop around this point (fractions of width and height) where a network's aspect
    #: range needs it; None: pad instead (see ``channels.images.Framing``)
    focus: tuple[float, float] | None = None
    #: what padding shows: "white", "black", "blur" or "#rrggbb"
    background: str = "white"


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
    #: website first: the account whose published post's address is the link (``link:
    #: website`` or an account name; resolved to the account's name when planned)
    link_from: str | None = None
    images: list[ImageRef] = field(default_factory=list)
    videos: list[VideoRef] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    summary: str | None = None
    language: str = "id"
    repeat: str | None = None
    #: things the officer should know that do not stop queueing (e.g. how the file was read)
    notes: list[str] = field(default_factory=list)


def load(path: str | Path, *, stdin_text: str | None = None,
         stdin_data: bytes | None = None, default_zone: str = DEFAULT_ZONE,
         now: datetime | None = None) -> ReleaseDoc:
    """Read and validate a release file (``-``, ``stdin_text`` or ``stdin_data`` for
    standard input: text already decoded, or the raw bytes, decoded like a file's)."""
    if stdin_data is not None:
        if len(stdin_data) > MAX_RELEASE_BYTES:
            raise ReleaseError("<stdin>", None, _(
                "the text is larger than {size}, the most Siar reads for one release").format(
                    size=_size(MAX_RELEASE_BYTES)), hint=_("a press release is text: shorten it"))
        text, notes = decode(stdin_data, "<stdin>")
        return parse_text(text, source="<stdin>", base_dir=Path.cwd(), default_zone=default_zone,
                          now=now, notes=notes)
    if stdin_text is not None or str(path) == "-":
        text = stdin_text or ""
        _check_text(text, "<stdin>")
        return parse_text(text, source="<stdin>", base_dir=Path.cwd(),
                          default_zone=default_zone, now=now)
    # the path stays text: building a Path for each of 10,000 files was a tenth of reading
    file = os.fspath(path)
    source = str(path)
    # one stat() answers "there?", "a folder?" and "a regular file?", and gives the size
    try:
        status = os.stat(file)
    except (FileNotFoundError, NotADirectoryError):
        status = None
    except OSError as exc:
        raise ReleaseError(source, None, _("cannot read the file: {reason}").format(
            reason=exc.strerror or exc),
            hint=_("check that the file exists and that you may read it")) from exc
    if status is None:
        raise ReleaseError(source, None, _("file not found"),
                           hint=_("give the path of a .md, .txt or .docx release"))
    if stat.S_ISDIR(status.st_mode):
        raise ReleaseError(source, None, _("is a folder, not a release file"),
                           hint=_("give the path of a .md, .txt or .docx file, e.g. {example}")
                           .format(example=Path(source) / "rilis.md"))
    if not stat.S_ISREG(status.st_mode):  # a FIFO or a device such as /dev/zero would never end
        raise ReleaseError(source, None, _("is not a regular file"),
                           hint=_("save the release as a .md, .txt or .docx file"))
    written = _suffix(file)
    suffix = written.lower()
    if suffix not in {".md", ".markdown", ".txt", "", ".docx"}:
        raise ReleaseError(source, None, _("unsupported file type {suffix}").format(
            suffix=repr(written)),
            hint=_("use Markdown (.md), plain text (.txt) or Word (.docx)"))
    limit = MAX_DOCX_BYTES if suffix == ".docx" else MAX_RELEASE_BYTES
    data = _read_at_most(file, source, limit, size=status.st_size)
    if suffix == ".docx":
        return _load_docx(Path(file), data, default_zone=default_zone, now=now)
    text, notes = decode(data, source)
    return parse_text(text, source=source,
                      base_dir=_folder(os.getcwd(), os.path.dirname(file)),
                      default_zone=default_zone, now=now, notes=notes)


def _suffix(file: str) -> str:
    """``PurePath(file).suffix`` of a regular file's path (which ends in its name)."""
    name = os.path.basename(file)
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


@lru_cache(maxsize=64)
def _folder(cwd: str, name: str) -> Path:
    """A release file's folder (``name``: ``os.path.dirname`` of its path), resolved from
    ``cwd``: what image paths are relative to. Remembered: a content calendar's files share
    a folder, and resolving it took a tenth of reading each small file."""
    return (Path(cwd) / name).resolve()


def _read_at_most(file: str | Path, source: str, limit: int, *,
                  size: int | None = None) -> bytes:
    """The file's bytes, refused (before reading it all) when larger than ``limit``;
    ``size`` is what stat() said, if known."""
    def too_big() -> ReleaseError:
        return ReleaseError(source, None, _(
            "the file is larger than {size}, the most Siar reads for one release").format(
                size=_size(limit)),
            hint=_("leave photos out of the Word file and name them in 'images:'")
            if limit == MAX_DOCX_BYTES else _("a press release is text: shorten it, or split "
                                              "it into several releases"))

    try:
        if size is None:
            size = os.stat(file).st_size
        if size > limit:
            raise too_big()
        # the descriptor itself, not open(): no file and buffer objects to build and tear
        # down, a twentieth of reading and checking a small release
        handle = os.open(file, os.O_RDONLY | _OPEN_FLAGS)
        try:
            # asking for the size stat() gave (plus one, to see growth) instead of the
            # limit: read(n) sets n bytes aside first, 2 MB per small file
            data = _read_up_to(handle, size + 1)
            if len(data) > size:  # the file grew since stat(): read on, up to the limit
                data += _read_up_to(handle, limit + 1 - len(data))
        finally:
            os.close(handle)
    except OSError as exc:
        raise ReleaseError(source, None, _("cannot read the file: {reason}").format(
            reason=exc.strerror or exc),
            hint=_("check that the file exists and that you may read it")) from exc
    if len(data) > limit:
        raise too_big()
    return data


#: no descriptor leaks into a forked process; Windows reads bytes as they are
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _read_up_to(handle: int, count: int) -> bytes:
    """Up to ``count`` bytes from the descriptor, fewer only at the end of the file."""
    data = os.read(handle, count)
    if len(data) in (0, count):
        return data
    chunks = [data]
    count -= len(data)
    while count > 0 and (chunk := os.read(handle, count)):
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def decode(data: bytes, source: str) -> tuple[str, list[str]]:
    """The text of a release file, and notes on how it was read.

    UTF-8 (with or without a byte-order mark) and UTF-16/32 with a byte-order mark are read
    as such. Other bytes are read as Windows-1252, the "ANSI" of Notepad on Indonesian and
    Western Windows, with a note. NUL bytes without a byte-order mark (UTF-16 saved without
    one, or not text at all) and control characters are refused: queued, they would turn
    every post into garbage.
    """
    for bom, encoding in _BOMS if data[:1] in _BOM_FIRST else ():
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ReleaseError(source, None, _(
                    "not valid {encoding} text ({reason} at byte {offset})").format(
                        encoding=encoding.upper(), reason=exc.reason,
                        offset=exc.start + len(bom)),
                    hint=_("save the file again as UTF-8")) from exc
            _check_text(text, source)
            return text, []
    if b"\x00" in data:
        utf16 = data[1::2].count(0) + data[::2].count(0) >= len(data) // 4
        raise ReleaseError(source, None,
                           _("looks like UTF-16 text without a byte-order mark") if utf16
                           else _("contains NUL bytes: this is not a text file"),
                           hint=_("save the file as UTF-8 (in Notepad: Save as, Encoding: "
                                  "UTF-8)"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_error = exc
    else:
        _check_text(text, source)
        return text, []
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ReleaseError(source, None, _(
            "not UTF-8 text ({reason} at byte {offset}) and not Windows-1252 either").format(
                reason=first_error.reason, offset=first_error.start),
            hint=_("save the file as UTF-8")) from exc
    _check_text(text, source)
    return text, [_("not UTF-8: read as Windows-1252 (check the accented letters, or save "
                    "the file as UTF-8)")]


def _check_text(text: str, source: str) -> None:
    """Refuse control characters (other than tab, line and page breaks) in release text."""
    if bad := _CONTROL.search(text):
        line = text.count("\n", 0, bad.start()) + 1
        raise ReleaseError(source, _("line {number}").format(number=line), _(
            "control character {code} in the text: this is not a plain text file or it was "
            "saved in another encoding").format(code=f"U+{ord(bad.group()):04X}"),
            hint=_("save the file as UTF-8 text"))


def _size(limit: int) -> str:
    return f"{limit // 1024:,} KB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MB"


def parse_text(text: str, *, source: str, base_dir: Path, default_zone: str = DEFAULT_ZONE,
               now: datetime | None = None, notes: list[str] | None = None) -> ReleaseDoc:
    """Parse Markdown-with-front-matter, or plain text whose first line is the title."""
    if len(text) > MAX_RELEASE_BYTES:  # stdin and Word files; a file's bytes were checked
        raise ReleaseError(source, None, _(
            "the text is longer than {count} characters, the most Siar reads for one release")
            .format(count=f"{MAX_RELEASE_BYTES:,}"),
            hint=_("a press release is text: shorten it or split it in two"))
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    meta: dict[str, Any] = {}
    if _OPENING.match(text):
        _check_front_matter_size(text, source)
    match = _FRONT_MATTER.match(text)
    if match:
        meta = read_front_matter(match.group(1), source)
        body = text[match.end():]
    elif text.startswith("---\n"):
        raise ReleaseError(source, _("front matter"), _("the front matter is not closed"),
                           hint=_("end it with a line containing only '---'"))
    else:
        body = text
    doc = _build(meta, body, source=source, base_dir=base_dir, default_zone=default_zone,
                 now=now)
    doc.notes = list(notes or [])
    return doc


def _check_front_matter_size(text: str, source: str) -> None:
    """Refuse front matter above MAX_FRONT_MATTER_BYTES before the YAML parser sees it
    (a 48 MB one took minutes and gigabytes)."""
    end = text.find("\n---", 3, MAX_FRONT_MATTER_BYTES + 1)
    too_long = (len(text) > MAX_FRONT_MATTER_BYTES if end < 0
                else len(text[:end].encode("utf-8")) > MAX_FRONT_MATTER_BYTES)
    if too_long:
        raise ReleaseError(source, _("front matter"), _(
            "longer than {size} KB (or not closed)").format(size=MAX_FRONT_MATTER_BYTES // 1024),
            hint=_("keep the front matter to the keys a release has (title, at, channels, …) "
                   "and put the text below the closing '---'"))


def _build(meta: dict[str, Any], body: str, *, source: str, base_dir: Path,
           default_zone: str, now: datetime | None) -> ReleaseDoc:
    try:
        front = front_matter(meta)
    except ValueError as exc:  # pydantic's ValidationError is one; imported only then (an
        # import statement costs microseconds on every one of a calendar's files)
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        error = exc.errors()[0]
        field_name = ".".join(str(p) for p in error["loc"]) or _("front matter")
        if error["type"] == "extra_forbidden":
            loc = error["loc"]
            item = {"images": image_spec, "videos": video_spec}.get(str(loc[0]))
            if item is not None and len(loc) > 2:  # a key of one photo or video
                field_name = f"{loc[0]}[{loc[1]}].{loc[-1]}"
            allowed = ", ".join(item().model_fields if item and len(loc) > 2 else KEYS)
            raise ReleaseError(source, field_name, _("unknown key"),
                               hint=_("allowed keys: {keys}").format(keys=allowed)) from exc
        raise ReleaseError(source, field_name, validation_message(error),
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
        raise ReleaseError(source, "title", _("the release has no title"),
                           hint=_("add 'title:' to the front matter or make the first line "
                                  "the title"))
    if not body.strip():
        raise ReleaseError(source, "body", _("the release has no text"),
                           hint=_("write the release text below the front matter / title line"))

    at = None
    zone = default_zone
    if front.at is not None:
        try:
            at, zone = parse_when(front.at, default_zone=default_zone, now=now)
        except TimeParseError as exc:
            raise ReleaseError(source, "at", str(exc)) from exc

    if front.repeat is not None:
        from scheduler.cron import cron_trigger  # imported only for recurring releases

        try:
            cron_trigger(front.repeat, zone)
        except SiarError as exc:
            raise ReleaseError(source, "repeat", exc.message, hint=exc.hint) from exc

    images = []
    for index, spec in enumerate(front.images):
        spec = Photo(path=spec) if isinstance(spec, str) else spec
        path = (base_dir / spec.path).resolve()
        field_name = f"images[{index}].path"
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            from channels.video import VIDEO_SUFFIXES  # the video machinery only then

            if path.suffix.lower() in VIDEO_SUFFIXES:
                raise ReleaseError(source, field_name, _(
                    "{path!r} is a video, and 'images:' takes photos only").format(
                        path=spec.path), hint=_(
                    "name it under 'videos:' instead: videos: [{{path: {path}, "
                    "caption: …}}]").format(path=spec.path))
            raise ReleaseError(source, field_name, _("{path} is not an image").format(
                path=repr(spec.path)), hint=_("use one of {suffixes}").format(
                    suffixes=", ".join(sorted(IMAGE_SUFFIXES))))
        if not path.is_file():
            raise ReleaseError(source, field_name, _("image file {path} not found").format(
                path=repr(spec.path)), hint=_("paths are relative to {folder}").format(
                    folder=base_dir))
        if (size := path.stat().st_size) > MAX_IMAGE_BYTES:
            raise ReleaseError(source, field_name, _(
                "{path} has {size} bytes; Siar takes images up to {limit}").format(
                    path=repr(spec.path), size=f"{size:,}", limit=_size(MAX_IMAGE_BYTES)),
                hint=_("export a smaller JPEG: a few MB is plenty for every network"))
        images.append(ImageRef(path=path, alt=spec.alt.strip(),
                               **_framing(spec, source, f"images[{index}]")))

    videos = read_videos(front.videos, source, base_dir)
    return ReleaseDoc(
        source=source, title=title, body=body, at=at, zone=zone, channels=front.channels,
        hashtags=front.hashtags, images=images, videos=videos, mentions=front.mentions,
        link=None if front.link and is_account_link(front.link) else front.link,
        link_from=front.link.strip() if front.link and is_account_link(front.link) else None,
        summary=front.summary, language=front.language, repeat=front.repeat,
    )


def _framing(spec: Any, source: str, where: str) -> dict[str, Any]:
    """``focus`` and ``background`` of one image, checked (names the field on error)."""
    from channels.images.geometry import parse_background, parse_focus

    framing: dict[str, Any] = {}
    for key, parse in (("focus", parse_focus), ("background", parse_background)):
        value = getattr(spec, key)
        if value is None:
            continue
        try:
            framing[key] = parse(value)
        except ValueError as exc:
            raise ReleaseError(source, f"{where}.{key}", str(exc)) from exc
    return framing


def _field_hint(field_name: str) -> str | None:
    return {
        "hashtags": _("write a list such as [HumasBergerakBersama, Pemasyarakatan]"),
        "channels": _("write a list of account or network names, e.g. [x, mastodon]"),
        "link": _("write the full address starting with https://"),
        "at": _("e.g. at: 2026-12-10 10.00 WIB, or at: besok 09.00"),
    }.get(field_name.split(".")[0])


def _load_docx(file: Path, data: bytes, *, default_zone: str,
               now: datetime | None) -> ReleaseDoc:
    """A Word release: the first non-empty paragraph is the title, headings become '##'."""
    import io

    try:
        import docx  # python-docx; imported here to keep the CLI's start-up light
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ReleaseError(str(file), None, _("python-docx is not installed")) from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise ReleaseError(str(file), None, _("cannot read the Word file: {reason}").format(
            reason=exc), hint=_("save it again as .docx (not .doc)")) from exc
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
