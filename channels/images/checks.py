"""Queue-time checks: what no preparation fixes is an error, what preparation will change
a note for the officer. Only the file's header is decoded (a JPEG at 1/8), once per file."""

from __future__ import annotations

from pathlib import Path

from channels.images.encoding import target_format
from channels.images.geometry import Framing, aspect_ok, crop_box, fitted_size, padded_size
from channels.images.lookup import rules_for
from channels.images.source import ImageError, file_facts, refuse_unfixable


def validate_image(path: str | Path, network: str, alt: str = "", *,
                   as_is: bool = False, framing: Framing = Framing()) -> list[str]:
    """Raises :class:`ImageError` for what cannot be fixed, and returns notes on what
    preparing the image for ``network`` will change.

    ``as_is``: nothing may be changed (the network would fetch the original file itself),
    so any needed change is an error. Siar now prepares every image at queue time and
    networks fetch the prepared file, so intake no longer asks for this.
    """
    rules = rules_for(network)
    path = Path(path)
    facts = file_facts(path)
    refuse_unfixable(facts, path, rules)
    notes: list[str] = []
    if rules.max_alt is not None and len(alt) > rules.max_alt:
        notes.append(f"{path.name}: alt text has {len(alt)} characters, "
                     f"{network} keeps at most {rules.max_alt}")
    if facts.animated:
        return notes
    width, height = facts.width, facts.height
    changes: list[str] = []
    if rules.aspect and not aspect_ok(width, height, rules.aspect):
        if framing.focus is None:
            border = "a blurred copy of the photo" if framing.background == "blur" else \
                f"a {framing.background} border"
            changes.append(f"{path.name}: aspect ratio {width}×{height} is outside what "
                           f"{network} accepts; it will be padded with {border}")
            width, height = padded_size(width, height, rules)
        else:
            box = crop_box(width, height, rules, framing.focus)
            changes.append(f"{path.name}: aspect ratio {width}×{height} is outside what "
                           f"{network} accepts; it will be "
                           + framing.describe().replace("crop", "cropped", 1))
            width, height = box[2] - box[0], box[3] - box[1]
    scaled = fitted_size(width, height, rules)
    if scaled != (width, height) and not as_is:  # a fetching network scales it itself
        changes.append(f"{path.name}: will be scaled down from {width}×{height} "
                       f"to {scaled[0]}×{scaled[1]} for {network}")
    if (converted := target_format(facts.format, rules)) != facts.format:
        changes.append(f"{path.name}: {facts.format} will be converted to "
                       f"{converted} for {network}")
    if facts.size > rules.max_bytes:
        changes.append(f"{path.name}: {facts.size:,} bytes will be recompressed "
                       f"to fit {network}'s {rules.max_bytes:,} bytes")
    if as_is and changes:
        raise ImageError("; ".join(changes).replace(" will be ", " would have to be ")
                         + f" — {network} fetches the file as it is: save a copy that "
                           "needs no change")
    return notes + changes
