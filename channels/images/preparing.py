"""A photo prepared for one or many networks, decoded once, each distinct output made once.

:func:`prepare_many` is what queue time uses (one photo, every account of the release);
:func:`prepare_image` is one network's share of it, which adapters call right before an
upload. A file that already is what the network takes (a prepared file, or a photo
within every limit that carries no metadata) is sent byte for byte as it is, so what
``siar preview`` showed and ``siar add`` stored is exactly what goes out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from channels.i18n import _
from channels.images.encoding import MIME, PAD_COLOUR, SUFFIX, Encoder, target_format
from channels.images.geometry import (
    Framing,
    Layout,
    aspect_ok,
    fitted_size,
    layout,
)
from channels.images.header import Header, header
from channels.images.lookup import rules_for
from channels.images.source import (
    Facts,
    ImageError,
    open_image,
    read,
    refuse_unfixable,
    to_srgb,
    upright,
)
from channels.rules import ImageRules

if TYPE_CHECKING:
    from PIL import Image

#: each further round shrinks both sides by this factor
SHRINK_FACTOR = 0.8
@dataclass(frozen=True)
class Target:
    """One network's share of a photo: its rules, and how the release frames the photo."""

    network: str
    framing: Framing = field(default_factory=Framing)


@dataclass(frozen=True)
class PreparedImage:
    """Bytes ready to upload, with what the upload request needs to say about them."""

    data: bytes
    mime: str
    width: int
    height: int
    alt: str
    filename: str
    #: what preparation changed, for the officer ("scaled from 6000×4000 to 2560×1707")
    changes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def format(self) -> str:
        """Pillow's name of the format (JPEG, PNG …)."""
        return next(name for name, mime in MIME.items() if mime == self.mime)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def prepare_image(path: str | Path, network: str, alt: str = "", *,
                  framing: Framing = Framing()) -> PreparedImage:
    """The image at ``path`` made acceptable for ``network``; raises :class:`ImageError`.
    A file that already is (a prepared file, or a clean photo within every limit) comes
    back byte for byte."""
    target = Target(network, framing)
    return prepare_many(path, [target], alt=alt)[target]


def prepare_many(path: str | Path, targets: Iterable[Target],
                 alt: str = "") -> dict[Target, PreparedImage]:
    """The image at ``path`` made acceptable for each target: decoded once (a JPEG at the
    smallest scale the largest target needs), scaled from the nearest larger size already
    made, and each distinct (pixels, format, quality) encoded once; targets whose networks
    have the same rules get the same bytes. Raises :class:`ImageError` naming the first
    network that cannot have it."""
    path = Path(path)
    wanted = list(dict.fromkeys(targets))
    data = read(path)
    rules = {target: rules_for(target.network) for target in wanted}
    head = header(data)
    ready = {t: as_is for t in wanted
             if (as_is := _as_it_is(path, data, rules[t], alt, head)) is not None}
    if len(ready) == len(wanted):
        return ready
    wanted = [t for t in wanted if t not in ready]
    image, facts = open_image(path, data, decode_at=lambda w, h: _decode_size(w, h, rules,
                                                                              wanted))
    for target in wanted:
        refuse_unfixable(facts, path, rules[target])
    if facts.animated:  # sent untouched (re-encoding would lose timing and palette tricks)
        fmt = image.format or ""
        image.close()
        return {t: PreparedImage(data=data, mime=MIME[fmt], width=facts.width,
                                 height=facts.height, alt=alt,
                                 filename=path.stem + SUFFIX[fmt]) for t in wanted}
    still = upright(image, path)
    if still is not image:
        image.close()
    try:
        return ready | _Job(path, still, facts, alt).run(wanted, rules)
    except ImageError:
        raise
    except Exception as exc:  # Pillow refusing to convert or encode this file's pixels
        network = wanted[0].network if wanted else "?"
        raise ImageError(_("{file} cannot be converted for {network} ({reason})").format(
            file=path.name, network=network, reason=f"{exc.__class__.__name__}: {exc}"),
            hint=_("export it again as JPEG or PNG")) from exc


def _decode_size(width: int, height: int, rules: dict[Target, ImageRules],
                 targets: list[Target]) -> tuple[int, int]:
    """The least (width, height) a JPEG stored ``width``×``height`` must be decoded at for
    every target (turned or not: the scale is what counts)."""
    needed = 0.0
    for target in targets:
        for shown in ((width, height), (height, width)):  # the EXIF turn is not known here
            plan = layout(*shown, rules[target], target.framing)
            needed = max(needed, plan.photo[0] / (plan.box[2] - plan.box[0]),
                         plan.photo[1] / (plan.box[3] - plan.box[1]))
    needed = min(needed, 1.0)
    return max(1, int(width * needed + 1)), max(1, int(height * needed + 1))


class _Job:
    """One photo's preparation: the upright pixels, their scaled copies, the encodings."""

    def __init__(self, path: Path, still: Image.Image, facts: Facts, alt: str) -> None:
        self.path = path
        self.facts = facts
        self.alt = alt
        self.srgb: Image.Image | None = None
        self.still = still
        #: full-picture copies, largest first: each new size is made from the nearest
        #: larger one (a 6000 px photo is read once, not once per network)
        self.sizes: list[Image.Image] = []
        self.encoder = Encoder()

    def run(self, targets: list[Target],
            rules: dict[Target, ImageRules]) -> dict[Target, PreparedImage]:
        made: dict[tuple[ImageRules, Framing], PreparedImage] = {}
        # largest outputs first, so smaller ones are scaled from them
        order = sorted(targets, key=lambda t: -_area(self._layout(rules[t], t.framing)))
        for target in order:
            key = (rules[target], target.framing)
            if key not in made:
                made[key] = self._prepare(rules[target], target)
        return {target: made[(rules[target], target.framing)] for target in targets}

    def _layout(self, rules: ImageRules, framing: Framing, shrink: float = 1.0) -> Layout:
        return layout(self.still.width, self.still.height, rules, framing, shrink)

    def _prepare(self, rules: ImageRules, target: Target) -> PreparedImage:
        fmt = target_format(self.facts.format, rules)
        shrink = 1.0
        while True:
            plan = self._layout(rules, target.framing, shrink)
            pixels = self._render(plan, target.framing)
            encoded = self.encoder.within((plan, target.framing), pixels, fmt, rules)
            if encoded is not None:
                data, used = encoded
                return PreparedImage(data=data, mime=MIME[used], width=plan.canvas[0],
                                     height=plan.canvas[1], alt=self.alt,
                                     filename=self.path.stem + SUFFIX[used],
                                     changes=self._changes(plan, target.framing, used,
                                                           len(data), rules))
            shrink *= SHRINK_FACTOR
            if max(self._layout(rules, target.framing, shrink).canvas) < rules.min_side:
                raise ImageError(
                    _("{file}: cannot fit {network}'s {limit} bytes limit without shrinking "
                      "it below {side} px").format(file=self.path.name,
                                                   network=target.network,
                                                   limit=f"{rules.max_bytes:,}",
                                                   side=rules.min_side),
                    hint=_("use a smaller or less detailed photo"))

    # --- pixels ------------------------------------------------------------------------

    def _source(self) -> Image.Image:
        if self.srgb is None:
            self.srgb = to_srgb(self.still)
            self.sizes = [self.srgb]
        return self.srgb

    def _scaled(self, box: tuple[int, int, int, int], size: tuple[int, int]) -> Image.Image:
        """The ``box`` of the upright photo at ``size``, made from the smallest copy that
        is still at least that large."""
        from PIL import Image
        full = self._source()
        whole = box == (0, 0, full.width, full.height)
        box_w, box_h = box[2] - box[0], box[3] - box[1]
        for copy in reversed(self.sizes):  # smallest first
            x_scale, y_scale = copy.width / full.width, copy.height / full.height
            if box_w * x_scale >= size[0] - 0.5 and box_h * y_scale >= size[1] - 0.5:
                break
        if whole and copy.size == size:
            return copy
        scaled_box = (box[0] * x_scale, box[1] * y_scale, box[2] * x_scale, box[3] * y_scale)
        result = copy.resize(size, Image.Resampling.LANCZOS, box=scaled_box)
        if whole:
            self.sizes.append(result)
            self.sizes.sort(key=lambda image: -image.width)
        return result

    def _render(self, plan: Layout, framing: Framing) -> Image.Image:
        photo = self._scaled(plan.box, plan.photo)
        if not plan.padded:
            return photo
        canvas = self._background(photo, plan.canvas, framing.background)
        flat = photo if photo.mode == canvas.mode else photo.convert("RGBA")
        offset = ((plan.canvas[0] - plan.photo[0]) // 2, (plan.canvas[1] - plan.photo[1]) // 2)
        if flat.mode == "RGBA":
            canvas.paste(flat, offset, mask=flat.getchannel("A"))
        else:
            canvas.paste(flat, offset)
        return canvas

    @staticmethod
    def _background(photo: Image.Image, size: tuple[int, int], kind: str) -> Image.Image:
        from PIL import Image, ImageColor, ImageFilter
        if kind != "blur":
            colour = PAD_COLOUR if kind == "white" else ImageColor.getrgb(kind)
            return Image.new("RGB", size, colour)
        # the photo enlarged to cover the canvas, blurred: made small and then scaled up,
        # which blurs as well and costs a fraction of blurring at full size
        small = (max(1, size[0] // 32), max(1, size[1] // 32))
        cover = max(small[0] / photo.width, small[1] / photo.height)
        thumb = photo.convert("RGB").resize((max(small[0], round(photo.width * cover)),
                                             max(small[1], round(photo.height * cover))),
                                            Image.Resampling.BOX)
        left, top = (thumb.width - small[0]) // 2, (thumb.height - small[1]) // 2
        thumb = thumb.crop((left, top, left + small[0], top + small[1]))
        # dimmed a little, so the photo itself stands out from its own background
        thumb = thumb.filter(ImageFilter.GaussianBlur(2)).point(lambda v: v * 85 // 100)
        return thumb.resize(size, Image.Resampling.BICUBIC)

    # --- what changed ------------------------------------------------------------------

    def _changes(self, plan: Layout, framing: Framing, fmt: str, size: int,
                 rules: ImageRules) -> tuple[str, ...]:
        facts = self.facts
        changes = []
        if fmt != facts.format:
            changes.append(_("{format} converted to {converted}").format(
                format=facts.format, converted=fmt))
        if plan.cropped(self.still.width, self.still.height):
            changes.append(_("cropped to {width}:{height} ratio, {framing}").format(
                width=plan.canvas[0], height=plan.canvas[1], framing=framing.describe()))
        if plan.padded:
            changes.append(_("padded to the network's aspect ratio ({colour})").format(
                colour=framing.background))
        if plan.photo != (plan.box[2] - plan.box[0], plan.box[3] - plan.box[1]):
            changes.append(_("scaled from {width}×{height} to {new_width}×{new_height}").format(
                width=facts.width, height=facts.height, new_width=plan.canvas[0],
                new_height=plan.canvas[1]))
        if size < facts.size and facts.size > rules.max_bytes:
            changes.append(_("recompressed from {size} to {new_size} bytes (limit {limit})")
                           .format(size=f"{facts.size:,}", new_size=f"{size:,}",
                                   limit=f"{rules.max_bytes:,}"))
        return tuple(changes)


def _area(plan: Layout) -> int:
    return plan.canvas[0] * plan.canvas[1]


def _as_it_is(path: Path, data: bytes, rules: ImageRules, alt: str,
              head: Header | None = None) -> PreparedImage | None:
    """``data`` itself when it already is what preparing would make for ``rules``: a still
    in a format the network takes, within every limit, with no metadata at all (sending
    it unchanged spares a JPEG another generation of loss)."""
    head = head or header(data)
    if head is None or not head.clean or head.format not in MIME:
        return None
    width, height = head.width, head.height
    fits = (head.format in rules.formats and len(data) <= rules.max_bytes
            and max(width, height) >= rules.min_side
            and fitted_size(width, height, rules) == (width, height)
            and aspect_ok(width, height, rules.aspect))
    if not fits:
        return None
    return PreparedImage(data=data, mime=MIME[head.format], width=width, height=height,
                         alt=alt, filename=path.name)
