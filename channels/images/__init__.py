"""Images made to fit each network: format, size, aspect ratio, colour, metadata.

A release's photo is **prepared** for each network it goes to: turned upright by its EXIF
orientation, every piece of metadata dropped (camera serials and GPS positions must not
leave the office), converted to sRGB, brought into the network's aspect range — padded
(nothing lost; white, black, a colour or a blurred copy of the photo behind it) or, with
a ``focus:`` in the release, cropped around that point —, scaled down to the network's
pixel limits and to :data:`~channels.images.geometry.MAX_SENT_SIDE`, converted to a
format the network takes (PNG, WebP, HEIC → JPEG where needed; transparency on white)
and recompressed in quality steps until it fits the byte limit.

Siar prepares at queue time (:func:`prepare_many`, one decode for every account of the
release) and keeps the result in the media store; adapters call :func:`prepare_image`
right before uploading, which sends an already prepared file unchanged. So the file the
preview showed is the file published, and networks that fetch images by URL fetch it too.

:func:`validate_image` refuses at queue time what no preparation fixes (missing file, not
an image, far too small, more than :data:`MAX_PIXELS`, animated where the network wants a
still) and says what preparation will change. Every way Pillow can fail on a file is an
:class:`ImageError`, which adapters turn into ``Rejected``: retrying cannot help.

A file in the media store (``…/media/<sha256>/<name>``, see :mod:`channels.stored_media`)
is checked against its SHA-256 before it is used: one changed after queueing is refused.
Pillow is imported where an image is first opened, not here: every adapter imports this
package, and ``siar preview`` of a release without photos must not pay for it.
"""

from __future__ import annotations

from channels.images.checks import validate_image
from channels.images.encoding import PAD_COLOUR, QUALITY_STEPS
from channels.images.geometry import MAX_SENT_SIDE, Framing, parse_background, parse_focus
from channels.images.lookup import rules_for
from channels.images.preparing import (
    SHRINK_FACTOR,
    PreparedImage,
    Target,
    prepare_image,
    prepare_many,
)
from channels.images.source import MAX_PIXELS, ImageError
from channels.rules import ImageRules

__all__ = [
    "MAX_PIXELS",
    "MAX_SENT_SIDE",
    "PAD_COLOUR",
    "QUALITY_STEPS",
    "SHRINK_FACTOR",
    "Framing",
    "ImageError",
    "ImageRules",
    "PreparedImage",
    "Target",
    "parse_background",
    "parse_focus",
    "prepare_image",
    "prepare_many",
    "rules_for",
    "validate_image",
]
