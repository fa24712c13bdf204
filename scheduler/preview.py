"""Showing variants as each network will receive them: JSON, Rich panels, one HTML page.

``siar preview`` and ``siar count`` (scheduler/cli/) call these functions. Rich, the
counting rules and the channels (a network's display name and colour are its channel's)
are imported inside the functions so the CLI starts fast.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.i18n import _, language

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from channels.variant import Media, Variant
    from scheduler.releases import ReleaseDoc
    from scheduler.settings import Settings

#: the longest side of a photo's thumbnail on the HTML page (CSS pixels × 2 for phones'
#: dense screens would double the page's weight for little: cards are at most ~500 px)
THUMBNAIL_SIDE = 480


def _look(network: str) -> tuple[str, str]:
    """(display name, accent colour) of ``network``, as its channel declares them."""
    from channels import registry

    channel = registry.lookup(network)
    return channel.display_name or network, channel.accent_colour


def count_networks() -> list[str]:
    """What ``siar count`` reports when no network is named: every installed network
    with a text limit, in the order the entry points list them."""
    from channels import registry

    return [network for network in registry.available()
            if registry.load(network).post_rules.limit is not None]


def with_prepared_media(doc: ReleaseDoc,
                        variants: list[Variant]) -> tuple[list[Variant], dict[str, bytes]]:
    """The variants with each image described as prepared for its network (format, size,
    bytes, hash — what ``siar add`` will keep and publish), and those files' bytes by
    SHA-256 for the HTML page; nothing is written anywhere."""
    if not any(variant.media for variant in variants):
        return list(variants), {}  # a text release: the media machinery is not imported
    from scheduler.media_prep import prepare_variants

    prepared = prepare_variants(variants, doc.images, None, source=doc.source,
                                videos=doc.videos)
    return prepared.variants, prepared.files


def describe_media(media: Media) -> str:
    """One line for a person: "foto.png → JPEG 1080×1350, 412,345 bytes"."""
    from pathlib import PurePath

    name = PurePath(media.source or media.path).name
    if media.width is None or media.height is None:
        return name
    if media.kind == "video":
        return _("{name} → MP4 {width}×{height}, {length}, {size} bytes").format(
            name=name, width=media.width, height=media.height,
            length=duration(media.duration), size=f"{media.bytes or 0:,}")
    kind = (media.mime or "").removeprefix("image/").upper() or "?"
    return _("{name} → {kind} {width}×{height}, {size} bytes").format(
        name=name, kind=kind, width=media.width, height=media.height,
        size=f"{media.bytes or 0:,}")


def duration(seconds: float | None) -> str:
    """A video's length as people read it: "0:42", "1:30", "1:02:05"."""
    total = round(seconds or 0)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else \
        f"{rest // 60}:{rest % 60:02d}"


def how_prepared(variant: Variant) -> str:
    """"as is (…)" or "transcoded: …": what preparing did to the variant's video."""
    from channels.video.planning import AS_IS

    changes = [c for c in variant.extra.get("video_changes", []) if c]
    if not changes or all(c in (AS_IS, _(AS_IS)) for c in changes):
        return _("as is: streams copied, metadata dropped")
    return _("transcoded: {changes}").format(changes="; ".join(changes))


def with_public_urls(variants: list[Variant], settings: Settings,
                     states: Mapping[str, Mapping[str, Any]] | None = None) -> list[Variant]:
    """For networks that fetch images by URL, each image's ``url`` where it is known: the
    store's while it hosts the image (``states``: a queued post's checkpointed state, by
    account), else one reachable without a store (``public_media_base_url``)."""
    from dataclasses import replace

    from channels import registry
    from channels.image_host import hosted_urls

    shown = []
    for variant in variants:
        if variant.media and registry.load(variant.channel).fetches_media_by_url:
            options = settings.account(variant.account).channel_config().options
            state = (states or {}).get(variant.account, {})
            variant = replace(variant, media=hosted_urls(variant.media, state, options))
        shown.append(variant)
    return shown


def variants_json(variants: list[Variant]) -> dict[str, Any]:
    """The preview JSON contract: ``{"variants": [variant.to_json(), ...]}``."""
    return {"variants": [variant.to_json() for variant in variants]}


def _over(variant: Variant, index: int) -> bool:
    return variant.limit is not None and variant.length[index] > variant.limit


def render_console(variants: list[Variant], console: Console) -> None:
    """A Rich panel per variant: each part with length/limit, warnings highlighted."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.text import Text

    for variant in variants:
        items: list[Any] = []
        total = len(variant.parts)
        for index, part in enumerate(variant.parts):
            limit = "∞" if variant.limit is None else str(variant.limit)
            style = "bold red" if _over(variant, index) else "green"
            label = _("part {number}/{total} · ").format(number=index + 1, total=total) \
                if total > 1 else ""
            items.append(Rule(Text(f"{label}{variant.length[index]}/{limit}", style=style),
                              align="right", style="dim"))
            items.append(Text(part))
        for media in variant.media:
            shown = describe_media(media) if media.width is not None else media.path
            alt = media.alt or _("(none)")
            if media.kind == "video":
                prepared = f" · {how_prepared(variant)}" if media.width is not None else ""
                items.append(Text(f"🎬 {shown}{prepared}  " + _("caption") + f": {alt}",
                                  style="cyan"))
                continue
            items.append(Text(f"🖼  {shown}  alt: {alt}", style="cyan"))
        for warning in variant.warnings:
            items.append(Text(f"⚠ {warning}", style="bold yellow"))
        name = _look(variant.channel)[0]
        console.print(Panel(Group(*items), title=f"[bold]{variant.account}[/bold] · {name}",
                            title_align="left", expand=True))


def count_text(text: str, networks: list[str] | None = None) -> list[dict[str, Any]]:
    """Per network: ``{"channel", "length", "limit", "fits"}``, counted as the composer does."""
    from scheduler.text.counting import rules_for

    rows = []
    for network in networks or count_networks():
        rules = rules_for(network)
        length = rules.measure(text)
        rows.append({"channel": network, "length": length, "limit": rules.limit,
                     "fits": rules.fits(text)})
    return rows


# --- the HTML page ------------------------------------------------------------------------

# patterns, not compiled ones: only the HTML page needs them (re compiles them on first use)
_HIGHLIGHT = (
    r"(?P<url>https?://[^\s<]+[^\s<.,;:!?)\]”’\"])"
    r"|(?P<tag>(?<![\w&])#[^\W_][\w]*)"
    r"|(?P<mention>(?<![\w])@[\w.]+\w(?:@[\w.-]+\w)?)"
)
_TELEGRAM_TAGS = r"&lt;(/?)(b|i|u|s|code|pre|blockquote)&gt;"
_TELEGRAM_LINK = r"(?s)&lt;a href=&quot;(.*?)&quot;&gt;(.*?)&lt;/a&gt;"


def _highlight(escaped: str) -> str:
    def mark(match: re.Match[str]) -> str:
        kind = match.lastgroup or "url"
        return f'<span class="{kind}">{match.group(0)}</span>'

    return re.sub(_HIGHLIGHT, mark, escaped)


def _part_html(variant: Variant, part: str) -> str:
    escaped = html.escape(part, quote=True)
    if variant.extra.get("parse_mode") == "HTML":
        # show Telegram's formatting: only the tags Telegram itself accepts come back
        escaped = re.sub(_TELEGRAM_TAGS, r"<\1\2>", escaped)
        escaped = re.sub(_TELEGRAM_LINK, r'<span class="url" title="\1">\2</span>', escaped)
        return escaped
    return _highlight(escaped)


def _initials(name: str) -> str:
    letters = [word[0] for word in re.split(r"[-_\s]+", name) if word]
    return html.escape("".join(letters[:2]).upper() or "?")


def _thumbnail(data: bytes) -> tuple[str, int, int] | None:
    """A small JPEG of ``data`` as a ``data:`` URI (the page stays one self-contained
    file), with its size; None if it cannot be read."""
    import base64
    import io

    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            small = image.convert("RGB")
    except Exception:  # an unreadable file shows as a placeholder, never stops the page
        return None
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return (f"data:image/jpeg;base64,{base64.b64encode(out.getvalue()).decode()}",
            small.width, small.height)


class _Thumbnails:
    """Each prepared file's thumbnail, made once however many cards show it."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.made: dict[str, tuple[str, int, int] | None] = {}

    def __call__(self, media: Media) -> tuple[str, int, int] | None:
        key = media.sha256 or media.path
        if key not in self.made:
            data = self.files.get(media.sha256 or "")
            if data is None and media.kind == "video":
                data = _poster(media)
            if data is None:
                try:  # a queued release: the prepared file in the media store
                    with open(media.path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    data = b""
            self.made[key] = _thumbnail(data) if data else None
        return self.made[key]


def _poster(media: Media) -> bytes:
    """A queued video's picture for its card: its cover, else its frame at one second."""
    if media.cover:
        try:
            with open(media.cover, "rb") as handle:
                return handle.read()
        except OSError:
            pass
    from channels.video import frame_jpeg

    try:
        return frame_jpeg(Path(media.path), min(1.0, (media.duration or 0) / 2))
    except Exception:  # FFmpeg's many errors: an unreadable file shows as a placeholder
        return b""


def _picture(media: Media, thumbnails: _Thumbnails, placeholder: str) -> str:
    """The ``<img>`` of a media item's thumbnail, or a placeholder when there is none."""
    shown = thumbnails(media)
    if shown is None:
        return f'<div class="placeholder">{placeholder}</div>'
    uri, width, height = shown
    return (f'<img src="{uri}" width="{width}" height="{height}" '
            f'alt="{html.escape(media.alt, quote=True)}">')


def _video_figure(media: Media, thumbnails: _Thumbnails, variant: Variant) -> str:
    """A video as the network gets it: its cover (or a frame), its length, what
    preparing did, and its caption."""
    caption = html.escape(media.alt) or "<em>(" + html.escape(_("no caption")) + ")</em>"
    label = html.escape(_("caption"))
    length = (f'<span class="duration">▶ {duration(media.duration)}</span>'
              if media.duration is not None else "")
    facts = (f'<div class="facts">{html.escape(describe_media(media))}<br>'
             f"{html.escape(how_prepared(variant))}</div>" if media.width is not None else "")
    return (f'<figure class="image video"><div class="poster">'
            f"{_picture(media, thumbnails, '🎬')}{length}</div>"
            f"<figcaption>{facts}{label}: {caption}</figcaption></figure>")


def _figure(media: Media, thumbnails: _Thumbnails) -> str:
    alt = html.escape(media.alt) or "<em>(" + html.escape(_("no alt text")) + ")</em>"
    facts = (f'<div class="facts">{html.escape(describe_media(media))}</div>'
             if media.width is not None else "")
    return (f'<figure class="image">{_picture(media, thumbnails, "🖼")}<figcaption>{facts}'
            f"alt: {alt}</figcaption></figure>")


def _card(variant: Variant, thumbnails: _Thumbnails) -> str:
    name, accent = _look(variant.channel)
    posts = []
    total = len(variant.parts)
    for index, part in enumerate(variant.parts):
        over = _over(variant, index)
        limit = "∞" if variant.limit is None else str(variant.limit)
        media = ""
        if index == 0 and variant.media:
            tiles = "".join(_video_figure(m, thumbnails, variant) if m.kind == "video"
                            else _figure(m, thumbnails) for m in variant.media)
            media = f'<div class="media">{tiles}</div>'
        card = variant.extra.get("card") if index == 0 else None
        link_card = ""
        if card and not variant.media:
            link_card = (f'<div class="linkcard"><div class="lc-title">'
                         f'{html.escape(card.get("title", ""))}</div><div class="lc-desc">'
                         f'{html.escape(card.get("description", ""))}</div><div class="lc-uri">'
                         f'{html.escape(card.get("uri", ""))}</div></div>')
        title = ""
        if index == 0 and ("subject" in variant.extra or "title" in variant.extra):
            # a post with a heading of its own (an e-mail's subject, an article's title)
            heading = variant.extra.get("subject") or variant.extra.get("title") or variant.title
            title = f'<div class="subject">{html.escape(heading)}</div>'
        counter = f"{index + 1}/{total} · " if total > 1 else ""
        posts.append(
            f'<div class="post{" thread" if total > 1 else ""}">'
            f'<div class="avatar" style="background:{accent}">{_initials(variant.account)}</div>'
            f'<div class="content"><div class="who"><span class="name">'
            f'{html.escape(variant.account)}</span> <span class="net">{html.escape(name)}'
            f"</span></div>{title}<div class=\"text\">{_part_html(variant, part)}</div>"
            f"{media}{link_card}"
            f'<span class="badge{" over" if over else ""}">{counter}'
            f"{variant.length[index]}/{limit}</span></div></div>"
        )
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in variant.warnings)
    warning_box = f'<ul class="warnings">{warnings}</ul>' if warnings else ""
    return (f'<section class="card net-{html.escape(variant.channel)}" '
            f'style="--accent:{accent}"><header>{html.escape(name)} · '
            f"{html.escape(variant.account)}</header>{''.join(posts)}{warning_box}</section>")


_CSS = """
*{box-sizing:border-box}body{margin:0;padding:24px;background:#eef1f5;color:#0f1419;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
h1{font-size:20px;margin:0 0 16px}main{display:grid;gap:20px;
grid-template-columns:repeat(auto-fill,minmax(min(100%,520px),1fr));align-items:start}
@media (max-width:600px){body{padding:10px}main{gap:12px}.post{padding:10px;gap:8px}
.avatar{flex-basis:32px;height:32px;font-size:12px}h1{font-size:17px}}
.card{background:#fff;border-radius:14px;box-shadow:0 1px 3px rgba(0,0,0,.12);
overflow:hidden;border-top:5px solid var(--accent)}
.card header{padding:8px 14px;font-weight:600;color:var(--accent);font-size:13px;
text-transform:uppercase;letter-spacing:.04em;border-bottom:1px solid #eee}
.post{display:flex;gap:12px;padding:14px;position:relative}
.post.thread+.post.thread:before{content:"";position:absolute;left:33px;top:-14px;height:28px;
border-left:2px solid #cfd9de}
.avatar{flex:0 0 40px;height:40px;border-radius:50%;color:#fff;font-weight:700;display:flex;
align-items:center;justify-content:center;font-size:14px}
.net-discord .avatar,.net-slack .avatar{border-radius:10px}
.content{flex:1;min-width:0}.who{margin-bottom:2px}.name{font-weight:700}.net{color:#536471}
.subject{font-weight:700;font-size:16px;margin:4px 0}
.text{white-space:pre-wrap;overflow-wrap:anywhere}
.url{color:var(--accent);text-decoration:underline}.tag,.mention{color:var(--accent);font-weight:600}
.media{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px;margin-top:8px;
align-items:start}
.image{margin:0;border:1px solid #cfd9de;border-radius:10px;overflow:hidden;background:#f1f3f5}
.image img{display:block;width:100%;height:auto;outline:1px dashed #8b98a5;outline-offset:-1px}
.facts{font-variant-numeric:tabular-nums;color:#0f1419}
.video{grid-column:1/-1}.poster{position:relative;background:#000}
.video .poster img{max-height:360px;width:auto;max-width:100%;margin:0 auto}
.duration{position:absolute;right:6px;bottom:6px;padding:1px 6px;border-radius:4px;
background:rgba(0,0,0,.75);color:#fff;font-size:12px;font-variant-numeric:tabular-nums}
.placeholder{height:90px;background:linear-gradient(135deg,#dfe6ee,#c3cfdb);display:flex;
align-items:center;justify-content:center;font-size:30px}
figcaption{font-size:12px;padding:4px 6px;color:#536471}
.linkcard{border:1px solid #cfd9de;border-radius:10px;margin-top:8px;padding:8px 10px}
.lc-title{font-weight:700}.lc-desc{color:#536471;font-size:13px}.lc-uri{color:#536471;font-size:12px}
.badge{display:inline-block;margin-top:8px;padding:2px 8px;border-radius:999px;font-size:12px;
background:#e7f6ec;color:#1a7f37;font-variant-numeric:tabular-nums}
.badge.over{background:#ffebe9;color:#cf222e;font-weight:700}
.warnings{margin:0;padding:10px 14px 10px 32px;background:#fff8c5;color:#6b4f00;font-size:13px;
border-top:1px solid #eed888}
.net-telegram .post{background:#e6f2fb}.net-telegram .text{background:#fff;border-radius:12px;
padding:8px 10px}
.net-discord .post{background:#313338;color:#dbdee1}.net-discord .net{color:#949ba4}
.net-discord .url,.net-discord .tag,.net-discord .mention{color:#00a8fc}
.net-threads .post,.net-x .post{border-bottom:1px solid #eff3f4}
.net-x .url,.net-x .tag,.net-x .mention{color:#1d9bf0}
.net-threads .url,.net-threads .tag,.net-threads .mention{color:#0095f6}
"""


def card_css() -> str:
    """The cards' style sheet (the desk's release page shows the same cards)."""
    return _CSS


def render_cards(variants: list[Variant], *, files: Mapping[str, bytes] | None = None) -> str:
    """A card per account, as HTML (the body of :func:`render_html`); each photo is a
    thumbnail of the file prepared for that network (``files``: prepared bytes by SHA-256,
    for a preview that stored nothing; else read from ``path``)."""
    thumbnails = _Thumbnails(files or {})
    return "".join(_card(variant, thumbnails) for variant in variants)


def queued_variants(posts: list[Any], settings: Settings) -> list[Variant]:
    """The variants of queued posts as they will go out (public media URLs included)."""
    from channels.variant import Variant

    return with_public_urls([Variant.from_json(p.variant) for p in posts], settings,
                            {p.account: p.progress.get("state", {}) for p in posts})


def render_html(variants: list[Variant], *, title: str,
                files: Mapping[str, bytes] | None = None) -> str:
    """One self-contained page (inline CSS, nothing external) with a card per account
    (:func:`render_cards`)."""
    cards = render_cards(variants, files=files)
    heading = _("Preview")
    return (f'<!DOCTYPE html><html lang="{language()}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(heading)} · {html.escape(title)}</h1><main>{cards}</main>"
            "</body></html>")
