"""Where a photo's pixels go: the aspect ratio (pad or crop), the size, pure arithmetic.

A :class:`Layout` says which part of the upright photo is used (the whole photo, or a crop
box around the release's ``focus:``), the size it is scaled to, and the size of the
canvas it is placed on (larger than the photo only when padded). Nothing here opens an
image, so every rule can be checked for any size (``tests/channels/test_image_geometry.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.i18n import _
from channels.rules import ImageRules

#: The longest side Siar sends anywhere, whatever a network would take: 2560 px is what
#: WordPress keeps of a larger upload (``big_image_size_threshold``) and what Telegram
#: shows; Facebook shows 2048, Instagram and Threads 1440. A 6000 px camera photo sent
#: whole costs upload time and the byte budget (so more JPEG artefacts) and looks the same.
MAX_SENT_SIDE = 2560

#: ``focus:`` names → (x, y) as fractions of the width and height
FOCUS_POINTS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5), "centre": (0.5, 0.5), "tengah": (0.5, 0.5),
    "top": (0.5, 0.0), "bottom": (0.5, 1.0), "left": (0.0, 0.5), "right": (1.0, 0.5),
    "top-left": (0.0, 0.0), "top-right": (1.0, 0.0),
    "bottom-left": (0.0, 1.0), "bottom-right": (1.0, 1.0),
}
#: what a padded photo stands on: a colour, or a blurred enlargement of the photo itself
BACKGROUNDS = ("white", "black", "blur")
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_FRACTIONS = re.compile(r"\s*([01](?:\.\d+)?|\.\d+)\s*,\s*([01](?:\.\d+)?|\.\d+)\s*")


@dataclass(frozen=True)
class Framing:
    """How a photo outside a network's aspect range is brought into it.

    Without ``focus`` it is **padded** (nothing of the photo is lost) on ``background``;
    with one it is **cropped** to the nearest allowed ratio, the crop placed so that the
    focus point is as central as the photo allows.
    """

    #: (x, y) as fractions of width and height, 0 … 1; None: pad
    focus: tuple[float, float] | None = None
    #: "white", "black", "blur" or "#rrggbb"
    background: str = "white"

    def describe(self) -> str:
        """A few words for the officer: "pad (white)", "crop (top)"."""
        if self.focus is None:
            return _("pad ({colour})").format(colour=self.background)
        return _("crop ({focus})").format(focus=self.focus_name())

    def focus_name(self) -> str:
        """The focus point as the release may name it ("top"), else its fractions."""
        if self.focus is None:
            return "center"
        names = [name for name, point in FOCUS_POINTS.items() if point == self.focus]
        x, y = self.focus
        return names[0] if names else f"{x:.2f},{y:.2f}"


def parse_focus(text: str) -> tuple[float, float]:
    """``top``, ``bottom-left`` … or ``"x,y"`` fractions (``"0.3,0.2"``); ValueError says
    what is accepted."""
    name = text.strip().lower().replace(" ", "-").replace("_", "-")
    if name in FOCUS_POINTS:
        return FOCUS_POINTS[name]
    if match := _FRACTIONS.fullmatch(text):
        x, y = float(match.group(1)), float(match.group(2))
        if 0 <= x <= 1 and 0 <= y <= 1:
            return x, y
    raise ValueError(_("{value} is not a focus point: use one of {names}, or 'x,y' as "
                       "fractions of width and height (e.g. '0.5,0.3')").format(
                           value=repr(text),
                           names=", ".join(n for n in FOCUS_POINTS
                                           if n not in ("centre", "tengah"))))


def parse_background(text: str) -> str:
    """``white``, ``black``, ``blur`` or ``#rrggbb``; ValueError says what is accepted."""
    value = text.strip().lower()
    if value in BACKGROUNDS or _HEX_COLOUR.fullmatch(value):
        return value
    raise ValueError(_("{value} is not a background: use white, black, blur or a colour "
                       "such as '#1d3557'").format(value=repr(text)))


@dataclass(frozen=True)
class Layout:
    """Which part of the upright photo goes where, in the prepared image's pixels."""

    #: the part of the upright photo used: (left, top, right, bottom)
    box: tuple[int, int, int, int]
    #: the size that part is scaled to
    photo: tuple[int, int]
    #: the prepared image's size; the photo is centred on it (larger only when padded)
    canvas: tuple[int, int]

    @property
    def padded(self) -> bool:
        return self.canvas != self.photo

    def cropped(self, width: int, height: int) -> bool:
        return self.box != (0, 0, width, height)


def aspect_ok(width: int, height: int, aspect: tuple[float, float] | None) -> bool:
    """Whether ``width``/``height`` lies in ``aspect`` (narrowest, widest), with the
    rounding of whole pixels allowed for."""
    if aspect is None:
        return True
    ratio = width / height
    return aspect[0] - 1e-3 <= ratio <= aspect[1] + 1e-3


def padded_size(width: int, height: int, rules: ImageRules) -> tuple[int, int]:
    """The canvas that brings ``width``×``height`` into the aspect range by adding border."""
    if not rules.aspect or aspect_ok(width, height, rules.aspect):
        return width, height
    narrowest, widest = rules.aspect
    if width / height < narrowest:
        return int(-(-height * narrowest // 1)), height
    return width, int(-(-width / widest // 1))


def crop_box(width: int, height: int, rules: ImageRules,
             focus: tuple[float, float]) -> tuple[int, int, int, int]:
    """The largest box of an allowed ratio inside the photo, centred on ``focus`` as far
    as the photo's edges allow."""
    if not rules.aspect or aspect_ok(width, height, rules.aspect):
        return 0, 0, width, height
    narrowest, widest = rules.aspect
    if width / height < narrowest:  # too tall: keep the width, cut height
        box_w, box_h = width, min(height, max(1, int(width / narrowest)))
    else:  # too wide: keep the height, cut width
        box_w, box_h = min(width, max(1, int(height * widest))), height
    left = round(min(max(focus[0] * width - box_w / 2, 0), width - box_w))
    top = round(min(max(focus[1] * height - box_h / 2, 0), height - box_h))
    return left, top, left + box_w, top + box_h


def fitted_size(width: int, height: int, rules: ImageRules) -> tuple[int, int]:
    """``width``×``height`` scaled down (never up) into every pixel limit of ``rules`` and
    :data:`MAX_SENT_SIDE`."""
    longest = min(rules.max_side or MAX_SENT_SIDE, MAX_SENT_SIDE)
    scale = min(1.0, longest / max(width, height))
    if rules.max_dimension_sum:
        scale = min(scale, rules.max_dimension_sum / (width + height))
    if rules.max_pixels:
        scale = min(scale, (rules.max_pixels / (width * height)) ** 0.5)
    if scale >= 1.0:
        return width, height
    # floor, so that rounding never lands one pixel above the limit
    return max(1, int(width * scale)), max(1, int(height * scale))


def layout(width: int, height: int, rules: ImageRules, framing: Framing,
           shrink: float = 1.0) -> Layout:
    """Where the upright ``width``×``height`` photo goes for ``rules``; ``shrink`` (< 1)
    makes it smaller still, for a file that did not fit the byte limit."""
    if framing.focus is not None:
        box = crop_box(width, height, rules, framing.focus)
        canvas = (box[2] - box[0], box[3] - box[1])
    else:
        box = (0, 0, width, height)
        canvas = padded_size(width, height, rules)
    fitted = fitted_size(*canvas, rules)
    if shrink < 1.0:
        fitted = (max(1, int(fitted[0] * shrink)), max(1, int(fitted[1] * shrink)))
    scale = fitted[0] / canvas[0]
    photo = (min(fitted[0], max(1, round((box[2] - box[0]) * scale))),
             min(fitted[1], max(1, round((box[3] - box[1]) * scale))))
    if framing.focus is not None:
        photo = fitted  # the crop is the whole canvas
    return Layout(box=box, photo=photo, canvas=fitted)
