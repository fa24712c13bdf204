"""What a network allows, as data: each :class:`~channels.base.Channel` declares its own.

The composer (``scheduler/``) holds the machinery — counting algorithms, fitting, markup
rendering, hashtag merging — and applies whatever rules a channel declares here. So a
network's knowledge lives with its adapter, and a third-party adapter declares its rules
the same way a built-in one does. Everything here is a frozen (hashable) value: the
composer keys its memos on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from channels.i18n import N_

__all__ = [
    "DEFAULT_IMAGE_RULES",
    "MB",
    "MIB",
    "WEB_FORMATS",
    "WORD_TAG",
    "Counting",
    "DailyCapacity",
    "HashtagRules",
    "ImageRules",
    "MentionRules",
    "PostRules",
    "Unit",
    "VideoRules",
]

MB = 1_000_000
MIB = 1024 * 1024


class Unit(Enum):
    """The unit a network counts a text's length in."""

    #: Unicode code points (``len()`` in Python)
    CODE_POINTS = "code points"
    #: user-perceived characters (extended grapheme clusters, UAX #29)
    GRAPHEMES = "graphemes"
    #: UTF-16 code units (Telegram)
    UTF16_UNITS = "UTF-16 units"
    #: UTF-8 bytes
    UTF8_BYTES = "UTF-8 bytes"
    #: X's weighted length as twitter-text v3 defines it: light ranges weigh 1, the rest
    #: 2, an emoji sequence 2, every link (bare domains too) 23, after NFC normalisation
    TWITTER_WEIGHTED = "twitter-text v3"


@dataclass(frozen=True)
class Counting:
    """How a network counts a text's length.

    The text is first transformed as the network does before counting (``after_html``,
    ``url_length``, ``local_mentions``), then counted in ``unit``. The algorithms live in
    ``scheduler/text/counting.py``; this is only what to apply.
    """

    unit: Unit = Unit.CODE_POINTS
    #: every http(s) URL counts as this many units whatever its length (Mastodon: 23);
    #: ``TWITTER_WEIGHTED`` has its own link rule and takes none here
    url_length: int | None = None
    #: a remote mention ``@user@host`` counts as ``@user`` (Mastodon)
    local_mentions: bool = False
    #: an emoji counts as many units as its UTF-8 bytes (Threads); with ``CODE_POINTS`` only
    emoji_as_bytes: bool = False
    #: the text is HTML the network parses first: tags count nothing, an entity one
    #: character (Telegram's HTML parse mode)
    after_html: bool = False

    def __post_init__(self) -> None:
        if self.unit is Unit.TWITTER_WEIGHTED and (self.url_length is not None
                                                   or self.local_mentions
                                                   or self.emoji_as_bytes):
            raise ValueError("twitter-text weighting has its own rules for links and emoji")
        if self.emoji_as_bytes and self.unit is not Unit.CODE_POINTS:
            raise ValueError("emoji_as_bytes counts code points otherwise")


@dataclass(frozen=True)
class PostRules:
    """What one network allows in one post: its text limit and counting, threads, links,
    images per post and alt text."""

    #: text limit in ``counting.unit``; None = no practical limit. An account's ``limit``
    #: replaces this number only, never the way of counting.
    limit: int | None = None
    counting: Counting = Counting()
    #: the unit for people, in messages ("weighted characters", "graphemes" …)
    unit_name: str = N_("characters")
    #: replies to oneself make a thread, so a long release can become one
    threads: bool = False
    #: a second limit in UTF-8 bytes (Bluesky)
    byte_limit: int | None = None
    #: at most this many links in one post (Threads: 5); more is a warning
    max_links: int | None = None
    #: at most this many images per post; None = the adapter sends any number
    max_images: int | None = None
    #: a caption's limit when the text goes with a photo (Telegram)
    caption_limit: int | None = None
    #: image descriptions longer than this are cut by the composer
    alt_limit: int | None = None


#: a tag is letters, marks, digits and "_"
WORD_TAG = r"[\p{L}\p{M}\p{N}_]+"


@dataclass(frozen=True)
class HashtagRules:
    """Which hashtags a network takes, how many, and where they go."""

    #: at most this many per post (Instagram: 30); campaign tags win over the release's
    max_tags: int | None = None
    #: a valid tag (without "#"), in the syntax of the ``regex`` module; a tag made only
    #: of digits and "_" is never one
    valid: str = WORD_TAG
    #: tags are written into the post's text; False where the network takes them in a
    #: field of their own (Threads' topic tag, see :meth:`Channel.compose_extra`)
    in_text: bool = True


@dataclass(frozen=True)
class MentionRules:
    """How a post names an organisation of the ``[mentions]`` table.

    With a handle for this network, the post says ``form`` with ``{handle}`` (without a
    leading "@") and ``{name}`` filled in, both escaped for the channel's dialect; without
    one, or with one not starting with ``handle_prefix``, it names the organisation.
    """

    form: str = "@{handle}"
    handle_prefix: str = ""


@dataclass(frozen=True)
class ImageRules:
    """What one network accepts for a still image (``channels/images/`` applies them).

    ``formats`` are the Pillow formats sent as such (re-encoded where anything had to
    change: metadata, size, colour profile); anything else becomes ``convert_to``. Limits
    left ``None`` do not apply; the long side is never above
    ``channels.images.MAX_SENT_SIDE`` whatever ``max_side`` says. Networks with equal rules
    share one prepared file.
    """

    max_bytes: int
    formats: frozenset[str] = frozenset({"JPEG", "PNG"})
    convert_to: str = "JPEG"
    max_side: int | None = None
    #: Telegram: width + height
    max_dimension_sum: int | None = None
    max_pixels: int | None = None
    #: (narrowest, widest) width/height ratio; outside it the image is padded, or cropped
    #: around the release's ``focus:``
    aspect: tuple[float, float] | None = None
    #: images whose longest side is below this are thumbnails, refused at queue time
    min_side: int = 32
    #: an animated GIF/WebP may be sent as is (never re-encoded)
    animated: bool = False
    #: longest alt text the network stores; longer gets a queue-time warning
    max_alt: int | None = None


@dataclass(frozen=True)
class VideoRules:
    """What one network accepts for a video (``channels/video/`` prepares to them).

    A video that already fits is sent byte for byte (only its metadata dropped); one that
    does not is transcoded once to H.264/AAC in MP4 within these limits, padded (never
    cropped, unless the release asks) into ``aspect``. What cannot be fixed without
    losing content — longer than ``max_seconds`` — is refused at queue time with the
    limit and the fix. Networks with equal rules share one prepared file.
    """

    max_bytes: int
    max_seconds: float
    min_seconds: float = 1.0
    #: the longest and the shortest side of the picture, in pixels
    max_long_side: int = 1920
    max_short_side: int = 1080
    #: (narrowest, widest) width/height ratio; outside it the picture is padded
    aspect: tuple[float, float] | None = None
    #: the shape a picture outside ``aspect`` is padded to (e.g. 9/16 for Reels)
    pad_to: float | None = None
    max_fps: float = 60.0
    #: the lowest frame rate taken (TikTok: 23); a slower clip is re-encoded with each
    #: frame shown the same whole number of times. None: any rate
    min_fps: float | None = None
    #: video bit rate ceiling in kbit/s; None: whatever keeps the file under max_bytes
    max_video_kbps: int | None = None
    max_audio_kbps: int = 128
    #: codecs sent as they are (FFmpeg names); anything else is transcoded to the first
    video_codecs: tuple[str, ...] = ("h264",)
    audio_codecs: tuple[str, ...] = ("aac",)
    #: the network wants a cover image (a frame of the video unless the release names one)
    cover: bool = False
    #: the post may carry the release's photos besides its video (an article, an e-mail);
    #: elsewhere a post carries the video or the photos, never both
    with_images: bool = False
    #: the highest audio sample rate taken (Meta: 48 kHz); above it the sound is resampled
    max_audio_rate: int = 48_000


@dataclass(frozen=True)
class DailyCapacity:
    """How many posts one account can publish in one day of the network's own calendar
    (an API quota that resets at midnight somewhere). ``siar preview`` and ``siar add``
    warn when the posts queued for such a day would exceed it; nothing is refused."""

    posts: int
    #: the zone whose midnight starts the network's day (an IANA name)
    timezone: str = "UTC"
    #: what the number is, for the warning (e.g. "the YouTube API's 100 uploads a day")
    why: str = ""


#: JPEG, PNG, GIF and WebP: what most networks take as they are
WEB_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP"})

#: for a channel that declares no image rules of its own (a third-party adapter)
DEFAULT_IMAGE_RULES = ImageRules(max_bytes=5 * MB, formats=WEB_FORMATS, max_side=4096)
