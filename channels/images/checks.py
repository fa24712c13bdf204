"""Queue-time checks: what no preparation fixes is an error, what preparation will change
a note for the officer. Only the file's header is decoded (a JPEG at 1/8), once per file."""

from __future__ import annotations

from pathlib import Path

from channels.i18n import _
from channels.images.encoding import target_format
from channels.images.geometry import Framing, aspect_ok, crop_box, fitted_size, padded_size
from channels.images.lookup import rules_for
from channels.images.source import file_facts, refuse_unfixable


def validate_image(path: str | Path, network: str, alt: str = "", *,
                   framing: Framing = Framing()) -> list[str]:
    """Raises :class:`ImageError` for what cannot be fixed, and returns notes on what
    preparing the image for ``network`` will change (every network gets the prepared file,
    those that fetch images by URL too)."""
    rules = rules_for(network)
    path = Path(path)
    facts = file_facts(path)
    refuse_unfixable(facts, path, rules)
    notes: list[str] = []
    if rules.max_alt is not None and len(alt) > rules.max_alt:
        notes.append(_("{file}: alt text has {count} characters, {network} keeps at most "
                       "{most}").format(file=path.name, count=len(alt), network=network,
                                        most=rules.max_alt))
    if facts.animated:
        return notes
    width, height = facts.width, facts.height
    changes: list[str] = []
    if rules.aspect and not aspect_ok(width, height, rules.aspect):
        if framing.focus is None:
            border = _("a blurred copy of the photo") if framing.background == "blur" else \
                _("a {colour} border").format(colour=framing.background)
            changes.append(_("{file}: aspect ratio {width}×{height} is outside what {network} "
                             "accepts; it will be padded with {border}").format(
                                 file=path.name, width=width, height=height, network=network,
                                 border=border))
            width, height = padded_size(width, height, rules)
        else:
            box = crop_box(width, height, rules, framing.focus)
            changes.append(_("{file}: aspect ratio {width}×{height} is outside what {network} "
                             "accepts; it will be cropped around {focus}").format(
                                 file=path.name, width=width, height=height, network=network,
                                 focus=framing.focus_name()))
            width, height = box[2] - box[0], box[3] - box[1]
    scaled = fitted_size(width, height, rules)
    if scaled != (width, height):
        changes.append(_("{file}: will be scaled down from {width}×{height} to {new_width}×"
                         "{new_height} for {network}").format(
                             file=path.name, width=width, height=height, new_width=scaled[0],
                             new_height=scaled[1], network=network))
    if (converted := target_format(facts.format, rules)) != facts.format:
        changes.append(_("{file}: {format} will be converted to {converted} for {network}")
                       .format(file=path.name, format=facts.format, converted=converted,
                               network=network))
    if facts.size > rules.max_bytes:
        changes.append(_("{file}: {size} bytes will be recompressed to fit {network}'s "
                         "{limit} bytes").format(file=path.name, size=f"{facts.size:,}",
                                                 network=network,
                                                 limit=f"{rules.max_bytes:,}"))
    return notes + changes
