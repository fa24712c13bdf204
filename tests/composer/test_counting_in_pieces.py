"""Fast paths give exactly what the straightforward ways give.

Fitting measures each sentence once and adds the lengths up (``counting.Meter``), templates
say where a body goes (``Renderer.frame``), and counting skips its Unicode-class searches
for text that cannot need them. Each is compared here with the plain computation on
generated release-like text: Indonesian words, emoji, URLs, bare domains, tags, mentions,
and the characters that join across whitespace (combining marks, ZWJ, CR).
"""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.text import counting, fitting, markup, twitter, urls
from scheduler.text.counting import Meter, rules_for
from scheduler.text.templating import Renderer
from tests.composer.strategies import EMOJI, MARKDOWN, TAGS, URLS, WORDS, body, sentence

_NETWORKS = ["x", "mastodon", "bluesky", "threads", "telegram", "instagram", "linkedin"]
_THREAD_NETWORKS = ["x", "mastodon", "bluesky", "threads"]
# what may stand on either side of the place where two pieces meet
_EDGES = [" ", "  ", "\n", "\n\n", "\t", "\r", "\r\n", "\u0301", "\u200d", "\ufe0f", "🏽",
          "\u0600", "🇮", "\u1100", "\u00a0", "\u3000", "\u2003", "(", ".", "“", "—", "…",
          "@mastodon.social", "@ditjenpas", ".go.id", "://", "/berita"]
_PIECE = st.one_of(
    sentence, st.sampled_from(WORDS + EMOJI + URLS + TAGS + _EDGES),
    st.lists(st.sampled_from(WORDS + EMOJI + URLS + TAGS + _EDGES), max_size=6).map("".join),
)
_PIECES = st.lists(_PIECE, max_size=12)


@settings(max_examples=400, deadline=None)
@given(_PIECES, st.sampled_from(_NETWORKS))
def test_a_text_measured_in_pieces_has_the_length_of_the_whole(pieces, network) -> None:
    rules = rules_for(network)
    meter = Meter(rules)
    assert meter.length(pieces) == rules.measure("".join(pieces))
    # the meter remembers pieces: a second text from the same pieces is still exact
    assert meter.length(pieces[::-1]) == rules.measure("".join(pieces[::-1]))


def test_the_first_word_of_a_text_is_read_as_x_reads_it_there() -> None:
    # twitter-text finds no URL in "❤️.go.id" opening a text, but "go.id" after a space
    x = rules_for("x")
    assert Meter(x).length(["❤️.go.id", " Lapas."]) == x.measure("❤️.go.id Lapas.") == 15
    assert Meter(x).length(["Lapas. ", "❤️.go.id"]) == x.measure("Lapas. ❤️.go.id") == 33


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.sampled_from(_NETWORKS), st.integers(1, 600))
def test_a_meter_says_what_the_network_rules_say(pieces, network, limit) -> None:
    rules = rules_for(network)
    assert Meter(rules, limit).joined(pieces) == rules.fits("".join(pieces), limit)


_FRAME_TEXT = st.lists(st.sampled_from(WORDS[:8] + TAGS + URLS[:2] + [" ", "  ", "\n", "\n\n",
                                                                       "\n\n\n", " \n", "\t"]),
                       max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(_FRAME_TEXT, _FRAME_TEXT, _PIECES.map("".join))
def test_a_framed_body_is_what_the_renderer_makes(before, after, text) -> None:
    renderer = Renderer(before, after, telegram=False)
    ends = renderer.frame(text)
    if ends is not None:
        assert renderer(text) == ends[0] + text + ends[1]


def test_a_spliced_template_frames_a_body_of_text() -> None:
    renderer = Renderer("Judul\n\n", "\n\nhttps://lapas.example.go.id\n#Humas\n", False)
    assert renderer.frame("Isi rilis. Kalimat kedua.") == (
        "Judul\n\n", "\n\nhttps://lapas.example.go.id\n#Humas")
    assert renderer.frame(" Isi.") is None and renderer.frame("Isi \nlagi.") is None


def test_telegram_and_unspliced_renderers_have_no_frame() -> None:
    assert Renderer("<b>T</b>\n\n", "", telegram=True).frame("Isi.") is None
    assert Renderer("", "", False, lambda body: body + body).frame("Isi.") is None


def _renderer(title: str, tags: str) -> Renderer:
    return Renderer(f"{title}\n\n", f"\n\nhttps://lapas.example.go.id/berita\n{tags}", False)


@settings(max_examples=200, deadline=None)
@given(body, st.sampled_from(_THREAD_NETWORKS), st.integers(60, 500),
       st.lists(st.sampled_from(WORDS[:12] + EMOJI[:3]), min_size=1, max_size=8).map(" ".join),
       st.lists(st.sampled_from(TAGS), max_size=3).map(" ".join))
def test_a_thread_fitted_in_pieces_is_the_thread_fitted_whole(text, network, limit, title,
                                                              tags) -> None:
    rules = rules_for(network)
    render = _renderer(title, tags)

    def plain_fits(candidate: str) -> bool:
        return rules.fits(candidate, limit)

    def fitted(fits) -> list[str] | str:
        try:
            return fitting.thread(text, render, fits, limit=limit)
        except fitting.DoesNotFit as exc:
            return type(exc).__name__ + exc.what

    assert fitted(Meter(rules, limit)) == fitted(plain_fits)


@settings(max_examples=200, deadline=None)
@given(body, st.sampled_from(_NETWORKS), st.integers(40, 700))
def test_a_text_truncated_in_pieces_is_the_text_truncated_whole(text, network, limit) -> None:
    rules = rules_for(network)
    render = _renderer("Judul Rilis", "#HumasBergerakBersama")

    def truncated(fits) -> tuple[str, bool] | str:
        try:
            return fitting.truncate(text, render, fits, limit=limit)
        except fitting.DoesNotFit as exc:
            return exc.what

    assert truncated(Meter(rules, limit)) == truncated(lambda s: rules.fits(s, limit))


# --- the shortcuts inside counting -------------------------------------------------------

def _characters(pattern) -> list[str]:
    """Every character of the ranges in ``pattern`` (a ``[...]*`` class)."""
    return [chr(c) for c in range(0x3000 + 1) if pattern.fullmatch(chr(c))]


def test_characters_counted_without_a_grapheme_search_never_join_a_neighbour() -> None:
    never_joining = _characters(counting._NEVER_JOINING)
    assert len(never_joining) > 700
    assert not [c for c in never_joining if counting._JOINING.match(c)]


def test_characters_counted_without_an_emoji_search_are_never_part_of_an_emoji() -> None:
    emoji_part = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3"
                               r"\u200d\ufe0f\p{Emoji_Modifier}\U000e0020-\U000e007f]")
    no_emoji = _characters(twitter.NO_EMOJI)
    assert len(no_emoji) > 700
    assert not [c for c in no_emoji if emoji_part.match(c)]


def test_every_top_level_domain_begins_with_a_letter_after_the_dot() -> None:
    generic, country = urls._tld_lists()
    assert len(generic) + len(country) > 1500
    assert all(urls._DOT_LETTER.match("." + tld) and urls._DOT_LETTER.match("." + tld.upper())
               for tld in generic + country)


_GRAPHEME_TEXT = st.lists(st.sampled_from(WORDS + EMOJI + _EDGES + ["각", "\u1161", "\u0e33"]),
                          max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_GRAPHEME_TEXT)
def test_graphemes_are_counted_as_the_unicode_segmentation_counts_them(text) -> None:
    assert counting.graphemes(text) == len(regex.findall(r"\X", text))


def _url_spans_with_every_run(text: str, without_protocol: bool) -> list[tuple[int, int]]:
    """The straightforward search: every whitespace-free run with a dot."""
    spans: list[tuple[int, int]] = []
    for run in urls._RUN_WITH_DOT.finditer(text):
        spans.extend((run.start() + a, run.start() + b)
                     for a, b in urls._spans_in_run(run.group(), without_protocol))
    return spans


_URL_TEXT = st.lists(st.sampled_from(URLS + WORDS + _EDGES + [
    "www.", "t.co/", "Jl.Merdeka", "e.g.", "ditjenpas", ".", ".", "go", "id", "xn--p1ai",
    "日本.jp", "\u2028", "\x0b", "\x85", "\u180e"]), max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(_URL_TEXT, st.booleans())
def test_urls_found_from_dots_before_letters_are_the_urls_of_every_run(text, bare) -> None:
    assert urls.url_spans(text, without_protocol=bare) == _url_spans_with_every_run(text, bare)


# --- Markdown: one pass over markdown-it's tokens instead of its SyntaxTreeNode ------------

_MARKDOWN_LINE = st.lists(st.sampled_from(
    WORDS + EMOJI + URLS + TAGS + MARKDOWN + [
        "**", "*", "_", "~~", "`", "<b>", "</b>", "<div>", "&amp;", "&lt;", "\\*", "![foto](a.jpg)",
        "[tautan][1]", "<https://ditjenpas.go.id>", "|", "{", "@ditjenpas", "  ", "."]),
    max_size=10).map(" ".join)
_MARKDOWN_BLOCK = st.one_of(
    _MARKDOWN_LINE, _MARKDOWN_LINE.map(lambda line: f"## {line}"),
    _MARKDOWN_LINE.map(lambda line: f"> {line}"), _MARKDOWN_LINE.map(lambda line: f"- {line}"),
    _MARKDOWN_LINE.map(lambda line: f"3. {line}\n4. {line}"),
    _MARKDOWN_LINE.map(lambda line: f"- {line}\n  - {line}\n\n  lanjut"),
    _MARKDOWN_LINE.map(lambda line: f"```\n{line}\n```"), st.just("---"),
    _MARKDOWN_LINE.map(lambda line: f"    {line}"), st.just("[1]: https://ditjenpas.go.id"),
    _MARKDOWN_LINE.map(lambda line: f"{line}.\n{line}!"), st.just("<div>\nblok\n</div>"),
)
_MARKDOWN = st.lists(_MARKDOWN_BLOCK, min_size=1, max_size=8).map(
    lambda blocks: "\n\n".join(blocks))


@settings(max_examples=300, deadline=None)
@given(_MARKDOWN)
def test_markdown_converts_as_through_markdown_its_syntax_tree(text) -> None:
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    full_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        "strikethrough")  # every rule enabled, as before raw HTML's were left out
    tokens = full_parser.parse(text)
    for dialect, rules in markup._DIALECT.items():
        expected = "\n\n".join(markup._blocks(SyntaxTreeNode(tokens), rules))
        assert markup.convert(text, dialect) == expected
    assert markup.convert(text, "html") == full_parser.renderer.render(
        tokens, full_parser.options, {}).strip()


@settings(max_examples=300, deadline=None)
@given(_MARKDOWN_LINE)
def test_reserved_characters_are_escaped_as_one_by_one(text) -> None:
    linkedin = str.maketrans({c: "\\" + c for c in "\\|{}@[]()<>#*_~"})
    discord = str.maketrans({c: "\\" + c for c in "*_~`|"})
    assert markup.linkedin_escape(text) == text.translate(linkedin)
    assert markup.escape_for("discord", text) == "".join(
        part if part.startswith("http") else part.translate(discord)
        for part in regex.split(r"(https?://\S+)", text))
